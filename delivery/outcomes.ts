import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { TouchedStep, TouchLog, TouchOutcome } from '../customers/touches';
import { eventJobId, type IngestEvent, type TrackEvent } from '../queues/events';
import { EVENT_JOB_OPTIONS } from '../server/ingest/enqueue';
import type { DeliveryMessage } from './message';

/** The event each outcome of a message comes back as. */
export const OUTCOME_EVENTS: Record<TouchOutcome, string> = {
  sent: 'message_sent',
  delivered: 'message_delivered',
  opened: 'message_opened',
  clicked: 'message_clicked',
  failed: 'message_failed',
};

/** What receipts and tracked links can report; `sent` is the delivery worker's alone. */
export type ReportedOutcome = Exclude<TouchOutcome, 'sent'>;
export const REPORTED_OUTCOMES: readonly ReportedOutcome[] = ['delivered', 'failed', 'opened', 'clicked'];

/** The fields of a message (or of its touch record) that an outcome event carries. */
interface Touched extends TouchedStep {
  idempotencyKey: string;
}

export interface OutcomeDetail {
  /** When it happened (ISO-8601); default now. */
  at?: string;
  /** The error of a failure. */
  error?: string;
  /** The link a click followed. */
  url?: string;
}

export interface DeliveryOutcomesDeps {
  touches: TouchLog;
  /** The `events` queue: outcome events are routed like any ingested track event. */
  eventsQueue: Queue<IngestEvent>;
  logger: Logger;
}

/**
 * What became of a message, told twice: on its touch record (status and times, for the audit)
 * and as a track event of the customer on the `events` queue (message_sent, message_failed,
 * message_delivered, message_opened, message_clicked), so journeys can `waitFor` it.
 *
 * Each outcome is one event per message: its messageId is the idempotency key plus the outcome,
 * so a retried job, a repeated receipt or a second click adds nothing (the queue and the router
 * drop a known messageId). Receipts and tracked links are also checked against the touch, which
 * remembers the first time of each outcome for good. The event is queued before the touch is
 * updated: a crash in between leaves the touch to be updated by the next report, whose event is
 * then a repeat.
 */
export class DeliveryOutcomes {
  constructor(private readonly deps: DeliveryOutcomesDeps) {}

  /**
   * The delivery worker got the message out, or found it already out (a retry, a replay).
   * Throws when the event cannot be queued, so the job is retried and tells it again.
   */
  async sent(message: DeliveryMessage): Promise<void> {
    const at = new Date().toISOString();
    await this.emit(message, 'sent', { at });
    await this.deps.touches.recordOutcome(message.idempotencyKey, message, 'sent', at);
  }

  /**
   * The delivery worker gave up on the message: refused for good, or out of attempts. Never
   * throws: the job fails (becomes a dead letter) whatever happens here.
   */
  async failed(message: DeliveryMessage, error: string): Promise<void> {
    const at = new Date().toISOString();
    try {
      await this.emit(message, 'failed', { at, error });
      await this.deps.touches.recordOutcome(message.idempotencyKey, message, 'failed', at, error);
    } catch (err) {
      this.deps.logger.error(
        { err, idempotencyKey: message.idempotencyKey },
        'could not record the failed delivery as an event',
      );
    }
  }

  /**
   * A receipt or a tracked link tells what became of a sent message. The first report of each
   * outcome becomes an event; every report counts (opens and clicks) on the touch and its step.
   * 'unknown' when there is no such message (or it was skipped, so never sent).
   */
  async report(
    idempotencyKey: string,
    outcome: ReportedOutcome,
    detail: OutcomeDetail = {},
  ): Promise<'recorded' | 'unknown'> {
    const touch = await this.deps.touches.get(idempotencyKey);
    if (!touch || touch.status.startsWith('skipped:')) return 'unknown';
    const at = detail.at ?? new Date().toISOString();
    if (touch[`${outcome}At` as const] === undefined)
      await this.emit({ ...touch, idempotencyKey }, outcome, detail);
    const recorded = await this.deps.touches.recordOutcome(idempotencyKey, touch, outcome, at, detail.error);
    return recorded === 'no-touch' ? 'unknown' : 'recorded';
  }

  /** Lets receipts name the message by the gateway's id. Never throws: the message is out already. */
  async linkProviderMessage(message: DeliveryMessage, providerMessageId: string): Promise<void> {
    try {
      await this.deps.touches.linkProviderMessage(message.channel, providerMessageId, message.idempotencyKey);
    } catch (err) {
      this.deps.logger.error(
        { err, idempotencyKey: message.idempotencyKey, providerMessageId },
        'could not remember the provider message id',
      );
    }
  }

  /** The idempotency key of the message the channel's gateway knows by `providerMessageId`. */
  keyOfProviderMessage(channel: string, providerMessageId: string): Promise<string | null> {
    return this.deps.touches.keyOfProviderMessage(channel, providerMessageId);
  }

  private async emit(touch: Touched, outcome: TouchOutcome, detail: OutcomeDetail): Promise<void> {
    const event = outcomeEvent(touch, outcome, detail);
    await this.deps.eventsQueue.add(event.type, event, {
      ...EVENT_JOB_OPTIONS,
      jobId: eventJobId(event.messageId),
    });
  }
}

/** The track event of one outcome of a message, as the router expects it on the `events` queue. */
export function outcomeEvent(touch: Touched, outcome: TouchOutcome, detail: OutcomeDetail): TrackEvent {
  const now = new Date().toISOString();
  // `customerId` is what the router goes by (following merges); userId / anonymousId as before
  // identity stitching, for readers of the queue that know customers by them.
  const anonymous = touch.customerId.startsWith('anon:');
  return {
    type: 'track',
    ...(anonymous ? { anonymousId: touch.customerId.slice('anon:'.length) } : { userId: touch.customerId }),
    customerId: touch.customerId,
    messageId: `${touch.idempotencyKey}#${outcome}`,
    timestamp: detail.at ? new Date(detail.at).toISOString() : now,
    receivedAt: now,
    event: OUTCOME_EVENTS[outcome],
    properties: {
      journeyId: touch.journeyId,
      journeyVersion: Number(touch.journeyVersion),
      stepId: touch.stepId,
      channel: touch.channel,
      template: touch.template,
      idempotencyKey: touch.idempotencyKey,
      ...(detail.error !== undefined && { error: detail.error }),
      ...(detail.url !== undefined && { url: detail.url }),
    },
    context: { library: { name: 'touchpoint-delivery' } },
  };
}
