import type { Queue } from 'bullmq';
import { eventJobId, type IngestEvent, type TrackEvent } from '../queues/events';
import { EVENT_JOB_OPTIONS } from '../server/ingest/enqueue';
import type { Transition } from './membership';

/** The events journeys start on: `{ segment: <id> }`. */
export const SEGMENT_ENTERED = 'segment_entered';
export const SEGMENT_EXITED = 'segment_exited';

/**
 * `segment:<entered|exited>:<segment>:<customer>:<cause>`: the same change of the same cause
 * always has the same messageId, so queueing it again (a retried job, a retried tick) is a no-op
 * for BullMQ (same job id) and for the router (processed marker).
 */
export function segmentMessageId(transition: Transition, customerId: string, causeId: string): string {
  return `segment:${transition.kind}:${transition.segment}:${customerId}:${causeId}`;
}

/** The internal track event of one change, about `customerId` (not resolved from identifiers). */
export function segmentEvent(
  transition: Transition,
  customerId: string,
  causeId: string,
  nowMs: number,
): TrackEvent {
  const at = new Date(nowMs).toISOString();
  return {
    type: 'track',
    customerId,
    event: transition.kind === 'entered' ? SEGMENT_ENTERED : SEGMENT_EXITED,
    properties: { segment: transition.segment },
    messageId: segmentMessageId(transition, customerId, causeId),
    timestamp: at,
    receivedAt: at,
  };
}

/** Puts the events on the `events` queue, one addBulk per chunk, each under its messageId's job id. */
export async function queueSegmentEvents(
  queue: Queue<IngestEvent>,
  events: readonly IngestEvent[],
  chunkSize = 500,
): Promise<void> {
  for (let i = 0; i < events.length; i += chunkSize) {
    await queue.addBulk(
      events.slice(i, i + chunkSize).map((data) => ({
        name: data.type,
        data,
        opts: { ...EVENT_JOB_OPTIONS, jobId: eventJobId(data.messageId) },
      })),
    );
  }
}
