import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { RedisKeys } from '../../../customers/keys';
import { loadChannelConfig, type ChannelConfig, type ProviderConfig } from '../../../delivery/channel-config';
import { deliveryJobId, type DeliveryMessage } from '../../../delivery/message';
import { closeDeliveryQueues, createDeliveryQueues, enqueueDelivery } from '../../../delivery/queues';
import { createDeliveryWorkers } from '../../../delivery/worker';
import type { Channel } from '../../../language/types';
import { testRedis, uniquePrefix } from '../../support/redis';
import { eventually, tempDir } from '../support';

/** The real delivery workers, one channel on the provider under test, on the test Redis. */
export interface DeliveryHarness {
  redis: Redis;
  keys: RedisKeys;
  config: ChannelConfig;
  enqueue(message: DeliveryMessage): Promise<void>;
  /** The job once completed or failed. */
  finished(message: DeliveryMessage): Promise<{ job: Job<DeliveryMessage>; state: string }>;
  /** Removes the finished job, as its retention period would, so the same key can be queued again. */
  removeJob(message: DeliveryMessage): Promise<void>;
  close(): Promise<void>;
}

export async function startDeliveryHarness(
  channel: Channel,
  provider: ProviderConfig,
): Promise<DeliveryHarness> {
  const redis = testRedis();
  const keys = new RedisKeys(uniquePrefix('prov'));
  const bullPrefix = uniquePrefix('bull');
  const queues = createDeliveryQueues(redis, bullPrefix);
  const outbox = await tempDir();
  const channels = loadChannelConfig();
  const config: ChannelConfig = { ...channels[channel], provider, attempts: 3, backoffMs: 20 };
  channels[channel] = config;
  const workers: Worker[] = createDeliveryWorkers({
    connection: redis,
    prefix: bullPrefix,
    redis,
    keys,
    channels,
    outboxDir: outbox.dir,
    logger: pino({ level: 'silent' }),
  });
  const queue = queues[channel];
  return {
    redis,
    keys,
    config,
    enqueue: (message) => enqueueDelivery(queue, message, config),
    finished: (message) =>
      eventually(async () => {
        // State first, then the job: a job read before it finished would be stale.
        const jobId = deliveryJobId(message.idempotencyKey);
        const state = await queue.getJobState(jobId);
        if (state !== 'completed' && state !== 'failed') return undefined;
        return { job: (await queue.getJob(jobId))!, state };
      }, 'the delivery job to finish'),
    async removeJob(message) {
      await (await queue.getJob(deliveryJobId(message.idempotencyKey)))?.remove();
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await closeDeliveryQueues(queues);
      await redis.quit();
      await outbox.remove();
    },
  };
}
