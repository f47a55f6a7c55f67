import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { RedisKeys } from '../../customers/keys';
import { TouchLog } from '../../customers/touches';
import { loadChannelConfig, type ChannelConfig } from '../../delivery/channel-config';
import { deliveryJobId, type DeliveryMessage } from '../../delivery/message';
import { closeDeliveryQueues, createDeliveryQueues, enqueueDelivery } from '../../delivery/queues';
import { createDeliveryWorkers } from '../../delivery/worker';
import { testRedis, uniquePrefix } from '../support/redis';
import {
  eventually,
  reply,
  sleep,
  startHttpServer,
  tempDir,
  testMessage,
  type TestHttpServer,
} from './support';

describe('delivery worker, end to end against a local webhook', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let touches: TouchLog;
  let bullPrefix: string;
  let queues: ReturnType<typeof createDeliveryQueues>;
  let outbox: Awaited<ReturnType<typeof tempDir>>;
  let server: TestHttpServer | undefined;
  let workers: Worker[] = [];

  beforeEach(async () => {
    redis = testRedis();
    keys = new RedisKeys(uniquePrefix('dw'));
    touches = new TouchLog(redis, keys);
    bullPrefix = uniquePrefix('bull');
    queues = createDeliveryQueues(redis, bullPrefix);
    outbox = await tempDir();
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
    await closeDeliveryQueues(queues);
    await server?.close();
    server = undefined;
    await redis.quit();
    await outbox.remove();
  });

  /** Workers for every channel, sms going to the local webhook with `overrides`. */
  function startWorkers(webhookUrl: string, overrides: Partial<ChannelConfig> = {}): ChannelConfig {
    const channels = loadChannelConfig();
    channels.sms = {
      ...channels.sms,
      provider: { type: 'webhook', url: webhookUrl, timeoutMs: 2000 },
      attempts: 3,
      backoffMs: 20,
      ...overrides,
    };
    workers = createDeliveryWorkers({
      connection: redis,
      prefix: bullPrefix,
      redis,
      keys,
      channels,
      outboxDir: outbox.dir,
      logger: pino({ level: 'silent' }),
    });
    return channels.sms;
  }

  /** Records the touch as the send activity does, then queues the message. */
  async function send(message: DeliveryMessage, config: ChannelConfig): Promise<void> {
    await touches.recordOnce(
      message.idempotencyKey,
      {
        journeyId: message.journeyId,
        journeyVersion: message.journeyVersion,
        customerId: message.customerId,
        stepId: message.stepId,
        channel: message.channel,
        template: message.template,
        status: 'queued',
        at: message.queuedAt,
        message: JSON.stringify(message),
      },
      `step:${message.stepId}:sent`,
    );
    await enqueueDelivery(queues.sms, message, config);
  }

  async function finishedJob(message: DeliveryMessage) {
    return eventually(async () => {
      // State first, then the job: a job read before it finished would be stale.
      const jobId = deliveryJobId(message.idempotencyKey);
      const state = await queues.sms.getJobState(jobId);
      if (state !== 'completed' && state !== 'failed') return undefined;
      return { job: (await queues.sms.getJob(jobId))!, state };
    }, 'the delivery job to finish');
  }

  async function touchStatus(message: DeliveryMessage, status: string) {
    return eventually(async () => {
      const touch = await redis.hgetall(keys.touch(message.idempotencyKey));
      return touch.status === status ? touch : undefined;
    }, `touch status ${status}`);
  }

  test('two 503s then a 200: delivered exactly once, touch `sent`', async () => {
    server = await startHttpServer((res) =>
      server!.requests.length <= 2 ? reply(res, 503, 'busy') : reply(res, 200),
    );
    const config = startWorkers(server.url);
    const message = testMessage();
    await send(message, config);

    const { job, state } = await finishedJob(message);
    expect(state).toBe('completed');
    expect(job.returnvalue).toBe('sent');
    expect(job.attemptsMade).toBe(3);
    await sleep(200); // room for a duplicate, if any
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((r) => r.headers['idempotency-key']))).toEqual(
      new Set([message.idempotencyKey]),
    );
    const touch = await touchStatus(message, 'sent');
    expect(touch.error).toBeUndefined();
    expect(await redis.get(keys.delivery(message.idempotencyKey))).toBe('sent');
  });

  test('a 400 fails the job at once, without retries; touch `failed` with the error', async () => {
    server = await startHttpServer((res) => reply(res, 400, 'invalid phone number'));
    const config = startWorkers(server.url);
    const message = testMessage();
    await send(message, config);

    const { job, state } = await finishedJob(message);
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    const touch = await touchStatus(message, 'failed');
    expect(touch.error).toContain('answered 400: invalid phone number');
    await sleep(300); // several backoff delays: a retry would have come by now
    expect(server.requests).toHaveLength(1);
  });

  test('5xx until the attempts run out: job failed after 3 requests, touch `failed`', async () => {
    server = await startHttpServer((res) => reply(res, 503, 'down for maintenance'));
    const config = startWorkers(server.url);
    const message = testMessage();
    await send(message, config);

    const { job, state } = await finishedJob(message);
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(3);
    const touch = await touchStatus(message, 'failed');
    expect(touch.error).toContain('answered 503: down for maintenance');
    expect(server.requests).toHaveLength(3);
  });

  test('a rate limit of 5 per second spreads 15 messages over at least ~2 s', async () => {
    server = await startHttpServer((res) => reply(res, 200));
    const config = startWorkers(server.url, { rateLimit: { max: 5, perMs: 1000 }, concurrency: 5 });
    const messages = Array.from({ length: 15 }, () => testMessage());

    const started = Date.now();
    await Promise.all(messages.map((m) => send(m, config)));
    await eventually(
      async () => (server!.requests.length >= 15 ? true : undefined),
      '15 webhook calls',
      10_000,
    );
    const elapsed = Date.now() - started;

    // Three windows of five: the last five cannot start before ~2 s.
    expect(elapsed).toBeGreaterThanOrEqual(1800);
    expect(elapsed).toBeLessThan(6000);
    const arrivals = server.requests.map((r) => r.at).sort((a, b) => a - b);
    for (let i = 0; i + 5 < arrivals.length; i++)
      expect(arrivals[i + 5]! - arrivals[i]!).toBeGreaterThanOrEqual(800);
    await sleep(100);
    expect(server.requests).toHaveLength(15);
  });
});
