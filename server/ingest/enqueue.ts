import type { BulkJobOptions, Queue } from 'bullmq';
import { eventJobId, type IngestEvent } from '../../queues/events';
import { ApiError } from '../errors';
import { withTimeout } from '../timeout';

const HOUR_S = 60 * 60;

/** Options of every job on the `events` queue. */
export const EVENT_JOB_OPTIONS: BulkJobOptions = {
  // A failing event is retried 9 times over about 17 minutes (2 s, 4 s, ... 8.5 min), then kept.
  attempts: 10,
  backoff: { type: 'exponential', delay: 2000 },
  // A completed job's record is what makes a repeated messageId a no-op, so keep it a day; the
  // count bounds Redis memory under heavy traffic (the dedupe window shrinks rather than OOM).
  removeOnComplete: { age: 24 * HOUR_S, count: 100_000 },
  // Failed jobs stay a week for inspection and replay.
  removeOnFail: { age: 7 * 24 * HOUR_S },
};

/** First occurrence of each messageId: a repeat within one request is ignored like any other. */
export function uniqueByMessageId(events: readonly IngestEvent[]): IngestEvent[] {
  const seen = new Set<string>();
  return events.filter((event) => {
    if (seen.has(event.messageId)) return false;
    seen.add(event.messageId);
    return true;
  });
}

/**
 * Puts events on the `events` queue and resolves only once Redis has them. The job id is derived
 * from the messageId, so BullMQ keeps the existing job for a repeated message.
 *
 * A failure (Redis down, out of memory, timeout) becomes a 503. BullMQ's addBulk sends the jobs
 * in one pipeline, not a MULTI transaction, so such a failure can leave part of a batch queued;
 * the client's retry with the same messageIds then adds only the missing ones. Validation runs
 * before this, so a bad batch never queues anything.
 */
export async function enqueueEvents(
  queue: Queue<IngestEvent>,
  events: readonly IngestEvent[],
  timeoutMs: number,
): Promise<void> {
  const jobs = uniqueByMessageId(events).map((data) => ({
    name: data.type,
    data,
    opts: { ...EVENT_JOB_OPTIONS, jobId: eventJobId(data.messageId) },
  }));
  try {
    await withTimeout(addJobs(queue, jobs), timeoutMs, 'enqueueing events');
  } catch (err) {
    throw new ApiError(
      503,
      'unavailable',
      'events could not be queued; retry with the same messageIds (repeats are ignored)',
      { headers: { 'Retry-After': '5' }, cause: err },
    );
  }
}

/**
 * A single job (every /track and /identify) is one `add`: `addBulk` always builds a pipeline, and
 * ioredis copies every Lua script BullMQ registers into each new pipeline; `add` made /v1/track
 * take 55-75 % more events per second (docs/performance.md).
 */
function addJobs(
  queue: Queue<IngestEvent>,
  jobs: { name: string; data: IngestEvent; opts: BulkJobOptions }[],
): Promise<unknown> {
  const [only, ...rest] = jobs;
  return only && rest.length === 0 ? queue.add(only.name, only.data, only.opts) : queue.addBulk(jobs);
}
