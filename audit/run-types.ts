import type { CouponView } from '../coupons/types';
import type { PathEntry, RunState } from '../workflows/run-state';

/*
 * Journey runs as the API answers them: counts, listings and one run. Nothing here imports at
 * runtime, so the console (console/src/types.ts) shares these types; the modules that build the
 * answers re-export them.
 */

/** What a run is, as the API counts and lists runs. */
export const RUN_STATUSES = ['running', 'converted', 'completed', 'exited', 'failed'] as const;
export type RunStatusFilter = (typeof RUN_STATUSES)[number];

/** How many customers a journey version has, where and how they ended (from Temporal visibility). */
export interface VersionCounts {
  version: number;
  /** Running customers at each step of the version, by step id (0 for an empty step). */
  steps: Record<string, number>;
  /** Every run of the version: running and ended, whatever the outcome. */
  entered: number;
  running: number;
  converted: number;
  completed: number;
  exited: number;
  /** Runs Temporal reports Failed, TimedOut or Terminated: they did not end by the journey's logic. */
  failed: number;
  /**
   * Failed runs an operator retried (POST …/retry). Temporal keeps a reset run's failed execution
   * beside the new one; it is taken out of `failed` and `entered`, the new run counts as what it is.
   */
  retried: number;
}

/** A message the run sent (or skipped), from the touch record; personal data masked unless revealed. */
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
  /** True when `to`, `subject` and `body` are shown masked. */
  masked: boolean;
}

/** A path entry with the sentence an auditor reads: why the run went where it went. */
export type ExplainedEntry = PathEntry & { reason: string };

/** A run's status as the API reports it (run-queries.ts `runStatusOf`). */
export type RunStatusName = RunStatusFilter | 'canceled';

/** An activity Temporal is running or retrying for the run (not local activities). */
export interface PendingActivityView {
  activityId: string;
  activityType: string;
  /** 1 for the first try; above 1 the activity has failed that many times minus one. */
  attempt: number;
  /** 0: unlimited. */
  maximumAttempts: number;
  /** SCHEDULED, STARTED, CANCEL_REQUESTED, PAUSED… */
  state: string;
  lastFailure: string | null;
  lastAttemptAt: string | null;
  /** When Temporal tries it again (while it waits out a retry backoff). */
  nextAttemptAt: string | null;
}

/** A run's state with a reason on every path entry. */
export type ExplainedState = Omit<RunState, 'path'> & { path: ExplainedEntry[] };

/** A customer's latest run of a journey, as operators and auditors read it. */
export interface RunView {
  workflowId: string;
  runId: string;
  /** Temporal's own status of the run: RUNNING, COMPLETED, FAILED, TERMINATED... */
  temporalStatus: string;
  startTime: string;
  closeTime: string | null;
  /** running, converted, completed, exited (from the run), failed (by Temporal), canceled. */
  status: RunStatusName;
  /** The journey version the run follows now (pinned at entry; an operator's migration changes it). */
  version: number | null;
  currentStep: string | null;
  /** The run's own account of itself, each path entry with a `reason`; null when it cannot answer. */
  state: ExplainedState | null;
  /** When the run next does something by itself: its wait ends, or a failing activity is tried again. */
  nextWakeAt: string | null;
  pendingActivities: PendingActivityView[];
  /** Why Temporal failed the run (message and causes), for failed runs. */
  failure: string | null;
  /** What POST …/retry would do: `reset` a failed run, reset its failing `activity`, or nothing. */
  retry: 'reset' | 'activity' | null;
  messages: RunMessage[];
  /** Coupons the run issued, with their redemption. */
  coupons: CouponView[];
  /** The run in the Temporal Web UI, when one is known. */
  temporalUiUrl: string | null;
}

/** One run in a listing. */
export interface RunListItem {
  customerId: string;
  workflowId: string;
  runId: string;
  version: number | null;
  /** The step it is at (running), or failed at; null once it ended by the journey's logic. */
  step: string | null;
  status: RunStatusName;
  startTime: string | null;
  closeTime: string | null;
}

export interface RunPage {
  runs: RunListItem[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}
