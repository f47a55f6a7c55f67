/**
 * The journey language as the engine sees it after loading: plain JSON-safe data, durations in
 * milliseconds. Workflows receive a whole `Journey` as input, which pins the version a customer
 * entered with. Everything here must stay importable from workflow code (no Node APIs).
 */

/** A value an operand can read: a profile trait or a property of the current event. */
export type Operand = { trait: string } | { property: string };

/**
 * A time a date comparison is measured against: an ISO-8601 date or date-time, `now`, or a signed
 * duration from now (`-90d`, `+7d`, `-P1M`). Kept as written; evaluated against the run's clock.
 */
export type TimeRef = string;

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
  /** Date math: the value (a date / date-time) is before / after this time. */
  before?: TimeRef;
  after?: TimeRef;
  /** The value's next anniversary (month and day, e.g. a birthday) falls within this long from today. */
  anniversaryWithin?: string;
};

/** The customer carries this tag (set by `tag` steps or the API). */
export interface TagCondition {
  tag: string;
}

/**
 * Something the customer did earlier in this run: an event the run received (delivery outcomes
 * such as `message_opened`, `coupon_redeemed`, any event a `waitFor`/goal/`did` listens for).
 * `step` narrows delivery outcomes to the touch sent by that step of this journey.
 */
export interface DidCondition {
  did: string;
  step?: string;
  where?: Condition;
}

/** What a `count` condition counts: events with this name whose properties match `where`. */
export interface CountedEvent {
  event: string;
  where?: Condition;
}

/**
 * Segments only: how many such events the customer had in the last `within` (whole days, kept as
 * written, e.g. `7d`), compared with `gte` / `gt` / `lte` / `lt` / `eq` (all given must hold).
 * Evaluated from counts the caller provides (ConditionContext.eventCounts); journeys cannot use it.
 */
export interface CountCondition {
  count: CountedEvent;
  within: string;
  eq?: number;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** A condition: a comparison, a tag, did or count test, or all / any / not of conditions. */
export type Condition =
  | Comparison
  | TagCondition
  | DidCondition
  | CountCondition
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

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

/**
 * A wait: for a duration, or until a moment computed in the customer's time zone (`timezone`
 * trait, else the journey's / global default). Exactly one of `durationMs` and `until`.
 */
export interface WaitStep extends StepBase {
  type: 'wait';
  durationMs?: number;
  until?: WaitUntil;
  /** Where to go when `until.trait` is missing or not a date (default: `next`). */
  onMissing?: string;
}

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/**
 * The moment a wait ends. `at` (an ISO-8601 time) or `trait` (+ `offsetMs`) fix a day; `weekday`
 * picks the next such day; `time` (HH:mm local) a time of day on it (without `time`: the start of
 * the day for a date, the same time of day for a weekday). A moment already past ends the wait at
 * once (`offsetMs` may be negative: `dueDate - 30d`).
 */
export interface WaitUntil {
  at?: string;
  trait?: string;
  offsetMs?: number;
  weekday?: Weekday[];
  time?: string;
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

/** Random split (A/B): deterministic per run, each run counted under its arm. Percents add to 100. */
export interface SplitStep extends StepBase {
  type: 'split';
  arms: { name: string; percent: number; goto: string }[];
}

export interface TagStep extends StepBase {
  type: 'tag' | 'untag';
  tags: string[];
}

/**
 * A value written by `setTrait` or sent in a webhook body: a literal (text, number, boolean, list)
 * or one of `{ trait }`, `{ property }` (of the last event), `{ now: '<signed duration>' | '' }`.
 */
export type ValueExpr =
  string | number | boolean | unknown[] | { trait: string } | { property: string } | { now: string };

export interface SetTraitStep extends StepBase {
  type: 'setTrait';
  traits: Record<string, ValueExpr>;
}

/**
 * POSTs JSON to an outside system (`target` names one in the config file's `webhooks:` section,
 * or a literal `url`), with an Idempotency-Key, retried with backoff up to `attempts` times.
 */
export interface WebhookStep extends StepBase {
  type: 'webhook';
  target?: string;
  url?: string;
  body?: Record<string, ValueExpr>;
  attempts: number;
  /** Where to go when every attempt failed (default: `next`; the failure is on the run's path). */
  onFailure?: string;
}

/** An internal alert (a staff WeCom group robot, a webhook) named in the config's `notify:` section. */
export interface NotifyStep extends StepBase {
  type: 'notify';
  target: string;
  /** A template in `templates/notify/<name>.<locale>.hbs`, rendered like a send's. */
  template: string;
}

/** Jumps back (loops) to `to` at most `maxIterations` times per run; then goes to `next`. */
export interface GotoStep extends StepBase {
  type: 'goto';
  to: string;
  maxIterations: number;
}

export type Step =
  | SendStep
  | IssueCouponStep
  | WaitStep
  | WaitForStep
  | BranchStep
  | ExitStep
  | SplitStep
  | TagStep
  | SetTraitStep
  | WebhookStep
  | NotifyStep
  | GotoStep;

/** What starts a journey for a customer. Any journey can also be enrolled by API (bulk enrolment). */
export type EntryTrigger =
  /** A tracked event, with an optional filter on its properties and the customer's traits. */
  | { event: string; where?: Condition }
  /** An identify that sets or changes this trait (`where` sees the new traits). */
  | { traitChanged: string; where?: Condition }
  /** A cron schedule in a time zone: each tick enrols the customers whose profile matches `where`. */
  | { schedule: { cron: string; timezone: string }; where?: Condition }
  /** Only by API / bulk enrolment. */
  | { api: true };

/** Whether a customer may enter again after a run ended: never, always, or after a cool-down. */
export type Reentry = { mode: 'never' } | { mode: 'always' } | { mode: 'after'; cooldownMs: number };

export type Entry = EntryTrigger & {
  reentry: Reentry;
  /** Max customers in the journey at once; entries beyond it are refused (and counted). */
  limit?: number;
  /** ISO-8601: no new entries after this time; running customers go on. */
  endAt?: string;
};

export interface Journey {
  id: string;
  name: string;
  /** Set by publishing (1, 2, ...); a file's own `version:` is only a hint. */
  version: number;
  defaultLocale: string;
  entry: Entry;
  /** Goal events: any of them ends the journey for that customer, counted as converted. */
  exit: EventMatcher[];
  /**
   * A goal reached within this long after entry counts as a conversion; a run whose steps end
   * sooner stays open (receiving nothing) until the window closes. Without it, any goal counts.
   */
  conversionWindowMs?: number;
  /** Percent (0–50) of entering customers held back as a control group: they receive nothing. */
  holdback?: number;
  /** Transactional journeys (registration, service recovery) do not count toward the per-customer cap. */
  capExempt?: boolean;
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
