import type { Channel, JourneyEvent } from '../language/types';

/** What a journey's `send` step asks of the send activity. */
export interface SendRequest {
  journeyId: string;
  journeyVersion: number;
  journeyName: string;
  customerId: string;
  stepId: string;
  channel: Channel;
  template: string;
  /** The step's fixed locale, if any. */
  locale?: string;
  defaultLocale: string;
  /** The event the message is about (entry event, or the last one a waitFor received). */
  event: JourneyEvent;
  /** Same for every retry of this step in this run: the delivery job id and the dedupe marker. */
  idempotencyKey: string;
}

export type SendOutcome =
  | { status: 'queued'; locale: string; to: string }
  | { status: 'duplicate' }
  | { status: 'skipped'; reason: string };

/** Counters per journey version: entered, converted, completed, exited, and per-step sends. */
export interface ProgressRecord {
  journeyId: string;
  journeyVersion: number;
  field: string;
  /** Counted once per key, however often the activity runs. */
  key: string;
}

/** The activities a journey workflow may call; implemented in activities/index.ts. */
export interface JourneyActivities {
  sendMessage(request: SendRequest): Promise<SendOutcome>;
  loadTraits(customerId: string): Promise<Record<string, unknown>>;
  recordProgress(record: ProgressRecord): Promise<void>;
}
