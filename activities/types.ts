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
  /** Exempt from consent, quiet hours and frequency caps. */
  transactional?: boolean;
  /** Consent topic (default `marketing`). */
  topic?: string;
  /** Quiet hours for this touch: the step's action over the journey's window, if any. */
  quietHours?: { start?: string; end?: string; action?: 'delay' | 'skip' };
  /** Coupons issued earlier in this run, by step id: templates see them as `coupons.<stepId>`. */
  coupons?: Record<string, IssuedCoupon>;
}

/** What an `issueCoupon` step asks for. */
export interface CouponRequest {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  stepId: string;
  campaign: string;
  value: number;
  currency: string;
  /** ISO-8601: when the coupon stops being valid. */
  expiresAt: string;
  /** One coupon per key, however often the activity runs. */
  idempotencyKey: string;
}

export interface IssuedCoupon {
  code: string;
  campaign: string;
  value: number;
  currency: string;
  expiresAt: string;
}

export type SendOutcome =
  | { status: 'queued'; locale: string; to: string }
  | { status: 'duplicate' }
  | { status: 'skipped'; reason: string }
  /** Quiet hours: nothing recorded yet; the workflow sleeps until `until` and asks again. */
  | { status: 'deferred'; until: string; reason: string };

/** Counters per journey version: entered, converted, completed, exited, and per-step sends. */
export interface ProgressRecord {
  journeyId: string;
  journeyVersion: number;
  /** Set on a run's final record (converted/completed/exited): frees its entry-limit slot. */
  customerId?: string;
  field: string;
  /** Counted once per key, however often the activity runs. */
  key: string;
}

/** `tag` / `untag` / `setTrait`: values already resolved by the workflow. Idempotent by nature. */
export interface ProfileUpdate {
  journeyId: string;
  customerId: string;
  stepId: string;
  idempotencyKey: string;
  addTags?: string[];
  removeTags?: string[];
  traits?: Record<string, unknown>;
}

/** A `webhook` step's POST, body already resolved; sent with `Idempotency-Key: idempotencyKey`. */
export interface WebhookRequest {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  stepId: string;
  target?: string;
  url?: string;
  body: Record<string, unknown>;
  idempotencyKey: string;
}

/** Throws (so Temporal retries) on a retryable failure; a permanent refusal (4xx) is non-retryable. */
export interface WebhookOutcome {
  status: number;
  url: string;
}

/** A `notify` step: an internal alert rendered from `templates/notify/<template>.<locale>.hbs`. */
export interface NotifyRequest {
  journeyId: string;
  journeyVersion: number;
  journeyName: string;
  customerId: string;
  stepId: string;
  target: string;
  template: string;
  defaultLocale: string;
  event: JourneyEvent;
  coupons?: Record<string, IssuedCoupon>;
  idempotencyKey: string;
}

export interface NotifyOutcome {
  status: 'sent' | 'duplicate';
  target: string;
  /** The rendered text, for the run's path and the simulator. */
  text: string;
}

/** The activities a journey workflow may call; implemented in activities/index.ts. */
export interface JourneyActivities {
  sendMessage(request: SendRequest): Promise<SendOutcome>;
  issueCoupon(request: CouponRequest): Promise<IssuedCoupon>;
  /** The profile's traits, with its tags as the array trait `tags`. */
  loadTraits(customerId: string): Promise<Record<string, unknown>>;
  recordProgress(record: ProgressRecord): Promise<void>;
  updateProfile(update: ProfileUpdate): Promise<void>;
  callWebhook(request: WebhookRequest): Promise<WebhookOutcome>;
  notify(request: NotifyRequest): Promise<NotifyOutcome>;
}
