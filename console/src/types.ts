/*
 * The shapes of the API answers the console reads (docs/openapi.yaml). Written out here rather
 * than imported from the server: the console is built for the browser and the JSON is the
 * contract between the two.
 */

export type Permission =
  | 'events:write'
  | 'journeys:read'
  | 'journeys:draft'
  | 'journeys:publish'
  | 'journeys:enrol'
  | 'runs:read'
  | 'runs:operate'
  | 'personal-data:reveal'
  | 'audit:read'
  | 'keys:manage'
  | 'metrics:read'
  | 'queues:dashboard';

/** GET /v1/session */
export interface SessionInfo {
  name: string;
  role: string;
  permissions: Permission[];
  expiresAt?: string;
}

export type JourneyStatus = 'draft' | 'published' | 'paused' | 'stopped';

/** GET /v1/journeys (one item) */
export interface JourneySummary {
  id: string;
  name: string;
  status: JourneyStatus;
  version: number | null;
  hasDraft: boolean;
  defaultLocale?: string;
  entry?: {
    event?: string;
    traitChanged?: string;
    schedule?: { cron: string; timezone: string };
    api?: true;
  };
  steps?: { id: string; type: string }[];
}

/** GET /v1/journeys/:id */
export interface JourneyDetail extends JourneySummary {
  steps: ({ id: string; type: string } & Record<string, unknown>)[];
}

export interface StepChanges {
  added: string[];
  removed: string[];
  changed: string[];
  entryChanged: boolean;
  exitChanged: boolean;
  settingsChanged: string[];
}

/** GET /v1/journeys/:id/versions */
export interface VersionsAnswer {
  id: string;
  versions: {
    version: number;
    publishedAt: string;
    publishedBy: string;
    note: string | null;
    format: string;
    changes: StepChanges;
  }[];
}

/** GET /v1/journeys/:id/diff */
export interface VersionDiff {
  id: string;
  from: number;
  to: number;
  unified: string;
  changes: StepChanges;
}

/** GET /v1/journeys/:id/counts: one version's counts. */
export interface VersionCounts {
  version: number;
  steps: Record<string, number>;
  entered: number;
  running: number;
  converted: number;
  completed: number;
  exited: number;
  failed: number;
}

export interface CountsAnswer {
  journeyId?: string;
  versions: VersionCounts[];
}

/** GET /v1/journeys/:id/graph */
export interface GraphAnswer {
  journeyId: string;
  version: number;
  mermaid: string;
  counts?: VersionCounts;
}

export type RunStatusFilter = 'running' | 'converted' | 'completed' | 'exited' | 'failed';

/** GET /v1/journeys/:id/runs (one item) */
export interface RunListItem {
  customerId: string;
  workflowId: string;
  runId: string;
  version: number | null;
  step: string | null;
  status: string;
  startTime: string;
  closeTime: string | null;
}

export interface RunsPage {
  runs: RunListItem[];
  nextCursor: string | null;
}

export interface PathEntry {
  stepId: string;
  type: string;
  at: string;
  outcome?: string;
  detail?: Record<string, unknown>;
  /** Why, in words, derived from the pinned version's step (H3a). */
  reason?: string;
}

export interface RunState {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  status: string;
  currentStep: string | null;
  enteredAt: string;
  wakeAt: string | null;
  path: PathEntry[];
  conversion?: { event: string; messageId: string; at: string };
  group?: 'control' | 'treatment';
  exitReason?: string;
  migratedFrom?: { version: number; stepId: string | null; at: string; by: string };
}

/** A message the run sent or skipped (masked unless revealed). */
export interface RunMessage {
  stepId: string;
  idempotencyKey: string;
  channel: string;
  template: string;
  /** queued, sent, delivered, opened, clicked, failed, skipped:<reason> */
  status: string;
  at: string;
  sentAt: string | null;
  deliveredAt: string | null;
  openedAt: string | null;
  clickedAt: string | null;
  failedAt: string | null;
  error: string | null;
  locale: string | null;
  to: string | null;
  subject: string | null;
  body: string | null;
  masked: boolean;
}

export interface RunCoupon {
  code: string;
  campaign: string;
  value: number;
  currency: string;
  status: 'issued' | 'redeemed' | 'expired';
  issuedAt: string;
  expiresAt: string;
  journey: { id: string; version: number; stepId: string };
  redemption: { at: string; via: string; orderId?: string; amount?: number } | null;
}

export interface PendingActivity {
  activityId: string;
  activityType: string;
  attempt: number;
  maximumAttempts: number;
  state: string;
  lastFailure: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

/** GET /v1/journeys/:id/customers/:customerId */
export interface RunDetail {
  workflowId: string;
  runId: string;
  temporalStatus: string;
  startTime: string;
  closeTime: string | null;
  /** running, converted, completed, exited, failed, canceled */
  status: string;
  version: number | null;
  currentStep: string | null;
  state: RunState | null;
  nextWakeAt: string | null;
  pendingActivities: PendingActivity[];
  failure: string | null;
  /** What retry would do: reset a failed run, retry its failing activity, or nothing (null). */
  retry: 'reset' | 'activity' | null;
  messages: RunMessage[];
  coupons: RunCoupon[];
  temporalUiUrl: string | null;
}

export type TimelineKind =
  'event' | 'step' | 'touch' | 'skip' | 'coupon-issued' | 'coupon-redeemed' | 'consent' | 'merge';

export const TIMELINE_KINDS: TimelineKind[] = [
  'event',
  'step',
  'touch',
  'skip',
  'coupon-issued',
  'coupon-redeemed',
  'consent',
  'merge',
];

export interface TimelineItem {
  at: string;
  kind: TimelineKind;
  journeyId?: string;
  version?: number;
  stepId?: string;
  summary: string;
  detail?: Record<string, unknown>;
}

/** GET /v1/customers/:id/timeline */
export interface TimelineAnswer {
  /** The customer after merges. */
  customerId: string;
  /** The id asked for, when it was merged into `customerId`. */
  resolvedFrom?: string;
  aliases?: string[];
  /** Newest first. */
  items: TimelineItem[];
  /** More matched than the limit: ask again with `until` = the last item's time. */
  more?: boolean;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: { name: string; keyId?: string; role: string; onBehalfOf?: string };
  action: string;
  target: string;
  reason?: string;
  detail?: Record<string, unknown>;
  from: { ip?: string; userAgent?: string; via: string };
  prevHash: string;
  hash: string;
}

/** GET /v1/audit */
export interface AuditPage {
  entries: AuditEntry[];
  next: number | null;
}

/** GET /v1/audit/verify */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  problems: { seq: number; problem: string }[];
}
