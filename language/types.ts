/**
 * The journey language as the engine sees it after loading: plain JSON-safe data, durations in
 * milliseconds. Workflows receive a whole `Journey` as input, which pins the version a customer
 * entered with. Everything here must stay importable from workflow code (no Node APIs).
 */

/** A value an operand can read: a profile trait or a property of the current event. */
export type Operand = { trait: string } | { property: string };

export type Comparison = Operand & {
  eq?: unknown;
  ne?: unknown;
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
  in?: unknown[];
  contains?: unknown;
  exists?: boolean;
};

/** A condition: a comparison, or all / any / not of conditions. */
export type Condition = Comparison | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export interface EventMatcher {
  event: string;
  where?: Condition;
}

export type Channel = 'sms' | 'email' | 'wecom' | 'miniprogram' | 'push' | 'webhook';
export const CHANNELS: readonly Channel[] = ['sms', 'email', 'wecom', 'miniprogram', 'push', 'webhook'];

interface StepBase {
  id: string;
  /** Step to run next; defaults to the following step in the list (or the journey's end). */
  next?: string;
}

export interface SendStep extends StepBase {
  type: 'send';
  channel: Channel;
  template: string;
  /** Fixed locale; else the customer's `locale` trait, else the journey's default locale. */
  locale?: string;
  /**
   * A transactional message (order confirmation, registration SMS): exempt from consent, quiet
   * hours and frequency caps. Marketing touches (the default) obey all three.
   */
  transactional?: boolean;
  /** Consent topic the customer must have agreed to (default `marketing`). */
  topic?: string;
  /** What to do inside quiet hours, overriding the journey's / the global setting. */
  quietHours?: 'delay' | 'skip';
}

/** Issues a coupon once per run and step; its code is available to later templates. */
export interface IssueCouponStep extends StepBase {
  type: 'issueCoupon';
  campaign: string;
  value: number;
  /** ISO 4217 code; default CNY. */
  currency: string;
  /** Valid for this long after issue... */
  expiresInMs?: number;
  /** ...or until this ISO-8601 time. */
  expiresAt?: string;
}

/** Local times (HH:mm, customer's time zone) between which marketing touches wait or are skipped. */
export interface QuietHours {
  start: string;
  end: string;
  action: 'delay' | 'skip';
}

export interface WaitStep extends StepBase {
  type: 'wait';
  durationMs: number;
}

export interface WaitForStep extends StepBase {
  type: 'waitFor';
  event: string;
  where?: Condition;
  timeoutMs: number;
  /** Where to go when the event arrives in time (default: `next`). */
  onEvent?: string;
  /** Where to go when the timeout passes first (default: `next`). */
  onTimeout?: string;
}

export interface BranchStep extends StepBase {
  type: 'branch';
  branches: { when: Condition; goto: string }[];
  /** Where to go when no branch matches (default: `next`). */
  else?: string;
}

export interface ExitStep extends StepBase {
  type: 'exit';
}

export type Step = SendStep | IssueCouponStep | WaitStep | WaitForStep | BranchStep | ExitStep;

export interface Journey {
  id: string;
  name: string;
  version: number;
  defaultLocale: string;
  entry: EventMatcher;
  /** Goal events: any of them ends the journey for that customer, counted as converted. */
  exit: EventMatcher[];
  /** Overrides the global quiet hours for this journey's marketing touches. */
  quietHours?: QuietHours;
  steps: Step[];
}

/** An event as it reaches a workflow (by signal) or the router (from the queue). */
export interface JourneyEvent {
  messageId: string;
  event: string;
  properties: Record<string, unknown>;
  /** ISO-8601 time the event happened (client timestamp, else receipt time). */
  timestamp: string;
}
