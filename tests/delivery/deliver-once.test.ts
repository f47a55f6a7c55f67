import type { Redis } from 'ioredis';
import { RedisKeys } from '../../customers/keys';
import { DeliveryInProgressError, deliverOnce } from '../../delivery/deliver-once';
import type { DeliveryMessage } from '../../delivery/message';
import { OutboxProvider } from '../../delivery/providers/outbox';
import { outboxLines } from '../support/outbox';
import { testRedis, uniquePrefix } from '../support/redis';
import { DeliveryHarness } from './harness';
import { sleep, tempDir, testMessage, type TempDir } from './support';

describe('deliverOnce: at most one send per idempotency key', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let outbox: TempDir;
  let provider: OutboxProvider;

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    keys = new RedisKeys(uniquePrefix('once'));
    outbox = await tempDir();
    provider = new OutboxProvider(outbox.dir);
  });
  afterEach(async () => {
    await outbox.remove();
  });

  test('the same message delivered twice is written once', async () => {
    const message = testMessage();
    expect(await deliverOnce(redis, keys, provider, message)).toBe('sent');
    expect(await deliverOnce(redis, keys, provider, message)).toBe('already-sent');

    const lines = await outboxLines(outbox.dir, 'sms');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ idempotencyKey: message.idempotencyKey, body: message.body });
    expect(await redis.get(keys.delivery(message.idempotencyKey))).toBe('sent');
    expect(await redis.hget(keys.touch(message.idempotencyKey), 'status')).toBe('sent');
  });

  test('two attempts at once (a stalled job run twice): one sends, the other is told to retry', async () => {
    const message = testMessage();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = {
      name: 'slow-outbox',
      send: async (m: typeof message) => {
        await gate;
        await provider.send(m);
      },
    };
    const first = deliverOnce(redis, keys, slow, message);
    await sleep(50);
    await expect(deliverOnce(redis, keys, slow, message)).rejects.toBeInstanceOf(DeliveryInProgressError);
    release();
    expect(await first).toBe('sent');
    expect(await deliverOnce(redis, keys, slow, message)).toBe('already-sent');
    expect(await outboxLines(outbox.dir, 'sms')).toHaveLength(1);
    expect(await redis.exists(keys.deliveryLease(message.idempotencyKey))).toBe(0);
  });

  test('a crash after the send (marker left at `sending`, line written) sends nothing more', async () => {
    const message = testMessage();
    await redis.set(keys.delivery(message.idempotencyKey), 'sending');
    await provider.send(message); // the attempt that died before marking it sent

    expect(await deliverOnce(redis, keys, provider, message)).toBe('already-sent');
    expect(await outboxLines(outbox.dir, 'sms')).toHaveLength(1);
    expect(await redis.get(keys.delivery(message.idempotencyKey))).toBe('sent');
    expect(await redis.hget(keys.touch(message.idempotencyKey), 'status')).toBe('sent');
  });

  test('a crash before the send (marker left at `sending`, no line) sends it once', async () => {
    const message = testMessage();
    await provider.send(testMessage()); // another message's line: the file exists, without this key
    await redis.set(keys.delivery(message.idempotencyKey), 'sending');

    expect(await deliverOnce(redis, keys, provider, message)).toBe('sent');
    expect(await deliverOnce(redis, keys, provider, message)).toBe('already-sent');
    const lines = await outboxLines(outbox.dir, 'sms');
    expect(lines.filter((l) => l.idempotencyKey === message.idempotencyKey)).toHaveLength(1);
    expect(await redis.get(keys.delivery(message.idempotencyKey))).toBe('sent');
  });

  test('a failed send leaves the message sendable, and a later success clears the error', async () => {
    const message = testMessage();
    await redis.hset(keys.touch(message.idempotencyKey), 'status', 'failed', 'error', 'earlier failure');
    const failing = {
      name: 'failing',
      send: async () => {
        throw new Error('gateway down');
      },
    };
    await expect(deliverOnce(redis, keys, failing, message)).rejects.toThrow('gateway down');
    expect(await redis.get(keys.delivery(message.idempotencyKey))).toBe('sending');

    expect(await deliverOnce(redis, keys, provider, message)).toBe('sent');
    expect(await outboxLines(outbox.dir, 'sms')).toHaveLength(1);
    expect(await redis.hgetall(keys.touch(message.idempotencyKey))).toEqual({
      status: 'sent',
      sentAt: expect.any(String),
    });
  });
});

describe('delivery queue: one job, one line per idempotency key', () => {
  let h: DeliveryHarness;

  beforeEach(async () => {
    h = await DeliveryHarness.start('q');
  });
  afterEach(() => h.close());

  /** The state and return value of the message's job once it finished. */
  async function finished(message: DeliveryMessage): Promise<{ state: string; returnvalue: unknown }> {
    const { state, job } = await h.finished(message);
    return { state, returnvalue: job.returnvalue };
  }

  test('the same key enqueued twice while its job exists makes one job and one line', async () => {
    const message = testMessage();
    await h.enqueue(message);
    await h.enqueue({ ...message, body: 'a retried activity re-queueing' });
    expect(await h.queues.sms.getJobCounts('waiting', 'delayed', 'active')).toEqual({
      waiting: 1,
      delayed: 0,
      active: 0,
    });

    h.startWorkers();
    expect(await finished(message)).toEqual({
      state: 'completed',
      returnvalue: 'sent',
    });
    await sleep(200); // room for a second job to show up, if any
    const lines = await outboxLines(h.outbox.dir, 'sms');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.body).toBe(message.body);
  });

  test('re-adding the key after its job record is gone still writes one line', async () => {
    const message = testMessage();
    h.startWorkers();
    await h.enqueue(message);
    expect((await finished(message)).returnvalue).toBe('sent');

    await h.removeJob(message); // as after the retention period
    await h.enqueue(message);
    expect(await finished(message)).toEqual({ state: 'completed', returnvalue: 'already-sent' });
    expect(await outboxLines(h.outbox.dir, 'sms')).toHaveLength(1);
  });
});
