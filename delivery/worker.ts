import { UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisKeys } from '../customers/keys';
import { CHANNELS } from '../language/types';
import type { Metrics } from '../observability/metrics';
import type { ChannelConfig } from './channel-config';
import { deliverOnce } from './deliver-once';
import { deliveryQueueName, type DeliveryMessage } from './message';
import type { DeliveryOutcomes } from './outcomes';
import { withDeliveryHooks } from './provider-hooks';
import { createProvider } from './providers';
import { PermanentDeliveryError } from './providers/provider';
import type { LinkTracker } from './tracking';

export interface DeliveryWorkerDeps {
  connection: ConnectionOptions;
  prefix: string;
  redis: Redis;
  keys: RedisKeys;
  channels: Record<string, ChannelConfig>;
  outboxDir: string;
  logger: Logger;
  /** Outcomes (sent, failed) onto the touch and the `events` queue (delivery/outcomes.ts). */
  outcomes?: DeliveryOutcomes;
  /** Tracked links and open pixels, rewritten just before the send (delivery/tracking.ts). */
  tracking?: LinkTracker;
  /** touchpoint_deliveries_total{channel,outcome}. */
  metrics?: Metrics;
}

/** One BullMQ worker per channel, each with its provider, concurrency and rate limit. */
export function createDeliveryWorkers(deps: DeliveryWorkerDeps): Worker<DeliveryMessage>[] {
  return CHANNELS.map((channel) => {
    const config = deps.channels[channel]!;
    const provider = createProvider(config.provider, {
      outboxDir: deps.outboxDir,
      redis: deps.redis,
      keys: deps.keys,
    });
    const log = deps.logger.child({ channel, provider: provider.name });
    const hooked = withDeliveryHooks(provider, deps);
    const worker = new Worker<DeliveryMessage>(
      deliveryQueueName(channel),
      async (job) => {
        // The correlation id is for the logs; providers get the message without it.
        const { correlationId, ...message } = job.data;
        const count = (outcome: string) => deps.metrics?.deliveries.inc({ channel, outcome });
        let result;
        try {
          result = await deliverOnce(deps.redis, deps.keys, hooked, message);
        } catch (err) {
          if (err instanceof PermanentDeliveryError) {
            count('failed');
            await deps.redis.hset(
              deps.keys.touch(job.data.idempotencyKey),
              'status',
              'failed',
              'error',
              err.message,
            );
            await deps.outcomes?.failed(job.data, err.message);
            throw new UnrecoverableError(err.message);
          }
          // Out of attempts: the message is a dead letter now.
          const dead = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          count(dead ? 'dead_letter' : 'retry');
          if (dead) await deps.outcomes?.failed(job.data, err instanceof Error ? err.message : String(err));
          throw err;
        }
        count(result === 'sent' ? 'sent' : 'already_sent');
        log.debug({ correlationId, idempotencyKey: job.data.idempotencyKey, result }, 'delivered');
        // Also after `already-sent`: the attempt that sent it may have died before telling.
        await deps.outcomes?.sent(job.data);
        return result;
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
        {
          correlationId: job?.data.correlationId,
          idempotencyKey: job?.data.idempotencyKey,
          attempt: job?.attemptsMade,
          err: err.message,
        },
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
