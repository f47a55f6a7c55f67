import { Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../customers/keys';
import type { Metrics } from '../observability/metrics';
import { routedOutcome } from '../observability/routing';
import { EVENTS_QUEUE, type IngestEvent } from '../queues/events';
import { routeEvent, type RouterDeps } from './route-event';

/** How long the router remembers a processed messageId: replays within it are dropped. */
const PROCESSED_TTL_SECONDS = 7 * 24 * 3600;

export interface RouterWorkerDeps extends RouterDeps {
  connection: ConnectionOptions;
  prefix: string;
  redis: Redis;
  keys: RedisKeys;
  concurrency?: number;
  /** touchpoint_events_routed_total{outcome}. */
  metrics?: Metrics;
}

/**
 * Consumes the `events` queue. A job is marked processed only after it was fully routed, so a
 * worker killed mid-job leaves it to BullMQ's stalled-job recovery and the retry redoes the
 * (idempotent) routing; a message seen before is skipped outright.
 */
export function createRouterWorker(deps: RouterWorkerDeps): Worker<IngestEvent> {
  const worker = new Worker<IngestEvent>(
    EVENTS_QUEUE,
    async (job) => {
      const processedKey = deps.keys.processedEvent(job.data.messageId);
      if (await deps.redis.exists(processedKey)) {
        deps.metrics?.eventsRouted.inc({ outcome: 'duplicate' });
        return { duplicate: true };
      }
      // One GET of the registry revision: a publish, pause or stop counts from the next event on.
      await deps.catalog.refresh?.();
      // Started before (stalled after a crash, or failed): it may have entered journeys already.
      const result = await routeEvent(deps, job.data, { repeat: job.attemptsStarted > 1 });
      await deps.redis.set(processedKey, '1', 'EX', PROCESSED_TTL_SECONDS);
      deps.metrics?.eventsRouted.inc({ outcome: routedOutcome(result) });
      deps.logger.debug({ correlationId: job.data.messageId, ...result }, 'event routed');
      return result;
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency ?? 8 },
  );
  worker.on('failed', (job, err) => {
    deps.metrics?.eventsRouted.inc({ outcome: 'failed' });
    deps.logger.warn(
      { correlationId: job?.data.messageId, attempt: job?.attemptsMade, err: err.message },
      'event routing failed',
    );
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'router worker error'));
  return worker;
}
