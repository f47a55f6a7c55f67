import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { RedisKeys } from '../../customers/keys';
import { loadChannelConfig } from '../../delivery/channel-config';
import { DeliveryInProgressError, deliverOnce } from '../../delivery/deliver-once';
import { deliveryJobId } from '../../delivery/message';
import { OutboxProvider } from '../../delivery/providers/outbox';
import { closeDeliveryQueues, createDeliveryQueues, enqueueDelivery } from '../../delivery/queues';
import { createDeliveryWorkers } from '../../delivery/worker';
import { testRedis, uniquePrefix } from '../support/redis';
import { eventually, outboxLines, sleep, tempDir, testMessage } from './support';

describe('deliverOnce: at most one send per idempotency key', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let outbox: Awaited<ReturnType<typeof tempDir>>;
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
  let redis: Redis;
  let outbox: Awaited<ReturnType<typeof tempDir>>;
  let keys: RedisKeys;
  let bullPrefix: string;
  let queues: ReturnType<typeof createDeliveryQueues>;
  let workers: Worker[] = [];
  const channels = loadChannelConfig();

  beforeEach(async () => {
    redis = testRedis();
    outbox = await tempDir();
    keys = new RedisKeys(uniquePrefix('q'));
    bullPrefix = uniquePrefix('bull');
    queues = createDeliveryQueues(redis, bullPrefix);
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
    await closeDeliveryQueues(queues);
    await redis.quit();
    await outbox.remove();
  });

  function startWorkers(): void {
    workers = createDeliveryWorkers({
      connection: redis,
      prefix: bullPrefix,
      redis,
      keys,
      channels,
      outboxDir: outbox.dir,
      logger: pino({ level: 'silent' }),
    });
  }

  async function finished(jobId: string): Promise<{ state: string; returnvalue: unknown }> {
    return eventually(async () => {
      // State first, then the job: a job read before it finished would be stale.
      const state = await queues.sms.getJobState(jobId);
      if (state !== 'completed' && state !== 'failed') return undefined;
      return { state, returnvalue: (await queues.sms.getJob(jobId))!.returnvalue };
    }, `job ${jobId} to finish`);
  }

  test('the same key enqueued twice while its job exists makes one job and one line', async () => {
    const message = testMessage();
    await enqueueDelivery(queues.sms, message, channels.sms);
    await enqueueDelivery(queues.sms, { ...message, body: 'a retried activity re-queueing' }, channels.sms);
    expect(await queues.sms.getJobCounts('waiting', 'delayed', 'active')).toEqual({
      waiting: 1,
      delayed: 0,
      active: 0,
    });

    startWorkers();
    expect(await finished(deliveryJobId(message.idempotencyKey))).toEqual({
      state: 'completed',
      returnvalue: 'sent',
    });
    await sleep(200); // room for a second job to show up, if any
    const lines = await outboxLines(outbox.dir, 'sms');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.body).toBe(message.body);
  });

  test('re-adding the key after its job record is gone still writes one line', async () => {
    const message = testMessage();
    const jobId = deliveryJobId(message.idempotencyKey);
    startWorkers();
    await enqueueDelivery(queues.sms, message, channels.sms);
    expect((await finished(jobId)).returnvalue).toBe('sent');

    await (await queues.sms.getJob(jobId))!.remove(); // as after the retention period
    await enqueueDelivery(queues.sms, message, channels.sms);
    expect(await finished(jobId)).toEqual({ state: 'completed', returnvalue: 'already-sent' });
    expect(await outboxLines(outbox.dir, 'sms')).toHaveLength(1);
  });
});
