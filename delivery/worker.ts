import { UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisKeys } from '../customers/keys';
import { CHANNELS } from '../language/types';
import type { ChannelConfig } from './channel-config';
import { deliverOnce } from './deliver-once';
import { deliveryQueueName, type DeliveryMessage } from './message';
import { createProvider } from './providers';
import { PermanentDeliveryError } from './providers/provider';

export interface DeliveryWorkerDeps {
  connection: ConnectionOptions;
  prefix: string;
  redis: Redis;
  keys: RedisKeys;
  channels: Record<string, ChannelConfig>;
  outboxDir: string;
  logger: Logger;
}

/** One BullMQ worker per channel, each with its provider, concurrency and rate limit. */
export function createDeliveryWorkers(deps: DeliveryWorkerDeps): Worker<DeliveryMessage>[] {
  return CHANNELS.map((channel) => {
    const config = deps.channels[channel]!;
    const provider = createProvider(config.provider, deps.outboxDir);
    const log = deps.logger.child({ channel, provider: provider.name });
    const worker = new Worker<DeliveryMessage>(
      deliveryQueueName(channel),
      async (job) => {
        try {
          const result = await deliverOnce(deps.redis, deps.keys, provider, job.data);
          log.debug({ idempotencyKey: job.data.idempotencyKey, result }, 'delivered');
          return result;
        } catch (err) {
          if (err instanceof PermanentDeliveryError) {
            await deps.redis.hset(
              deps.keys.touch(job.data.idempotencyKey),
              'status',
              'failed',
              'error',
              err.message,
            );
            throw new UnrecoverableError(err.message);
          }
          throw err;
        }
      },
      {
        connection: deps.connection,
        prefix: deps.prefix,
        concurrency: config.concurrency,
        limiter: config.rateLimit
          ? { max: config.rateLimit.max, duration: config.rateLimit.perMs }
          : undefined,
      },
    );
    worker.on('failed', (job, err) => {
      log.warn(
        { idempotencyKey: job?.data.idempotencyKey, attempt: job?.attemptsMade, err: err.message },
        'delivery failed',
      );
      // Out of retries: the touch would otherwise stay `queued` forever.
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        deps.redis
          .hset(deps.keys.touch(job.data.idempotencyKey), 'status', 'failed', 'error', err.message)
          .catch((hsetErr: unknown) => log.error({ err: hsetErr }, 'could not record the failed delivery'));
      }
    });
    worker.on('error', (err) => log.error({ err }, 'delivery worker error'));
    return worker;
  });
}
