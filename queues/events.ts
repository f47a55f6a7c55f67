import { createHash } from 'node:crypto';

/** Name of the BullMQ queue that buffers everything the ingestion API accepts. */
export const EVENTS_QUEUE = 'events';

interface IngestBase {
  userId?: string;
  anonymousId?: string;
  /**
   * Internal events only (delivery outcomes, enrolments, schedule ticks, segment changes): the
   * customer it is about, as Touchpoint named it. The router follows merge aliases from it and
   * never links identifiers. The public ingestion API refuses it (a client cannot pick a customer).
   */
  customerId?: string;
  /** Client's id for the message; the dedupe key end to end. Generated when the client sent none. */
  messageId: string;
  /** ISO-8601: when it happened (client's timestamp, else receipt time). */
  timestamp: string;
  receivedAt: string;
  context?: Record<string, unknown>;
}

export interface TrackEvent extends IngestBase {
  type: 'track';
  event: string;
  properties: Record<string, unknown>;
}

export interface IdentifyEvent extends IngestBase {
  type: 'identify';
  traits: Record<string, unknown>;
}

/**
 * Enrols a customer into one journey (API / bulk enrolment, schedule ticks). Routed only into
 * `journeyId` (whatever its entry trigger) through admission; the run's entry event is
 * `journey_enrolled` with these properties. The messageId is deterministic per source
 * (`enrol:<journey>:<request>:<customer>`, `schedule:<journey>:<tick>:<customer>`), so a repeat
 * enrols nobody twice.
 */
export interface EnrolEvent extends IngestBase {
  type: 'enrol';
  journeyId: string;
  userId: string;
  properties?: Record<string, unknown>;
}

/** The name of the entry event a run started by an `enrol` event receives. */
export const ENROLLED_EVENT = 'journey_enrolled';

/** The data of one job on the `events` queue. */
export type IngestEvent = TrackEvent | IdentifyEvent | EnrolEvent;

/**
 * BullMQ job id for a message id. Hashed because client ids are free-form (BullMQ refuses ':'
 * in custom ids) and a bounded length keeps Redis keys small. Same messageId, same job: a
 * repeated message is a no-op while the job (or its completed record) is kept.
 */
export function eventJobId(messageId: string): string {
  return `msg-${createHash('sha256').update(messageId).digest('hex').slice(0, 40)}`;
}
