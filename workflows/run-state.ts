/*
 * A run's own account of itself (the workflow's state query), as the API answers it: types only
 * and no imports, so the console (console/src/types.ts) shares them. workflows/definitions.ts
 * re-exports them.
 */

/** Where a run stands; `converted` means an exit goal was reached. */
export type RunStatus = 'running' | 'converted' | 'completed' | 'exited';

/** One thing that happened in a run, in workflow time. */
export interface PathEntry {
  stepId: string;
  type: string;
  /** ISO-8601 workflow time the step started. */
  at: string;
  /** What came of it: `sent`, `skipped:<reason>`, `event`, `timeout`, `goto:<step>`, `converted`... */
  outcome?: string;
  detail?: Record<string, unknown>;
}

export interface RunState {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  status: RunStatus;
  currentStep: string | null;
  enteredAt: string;
  /** ISO-8601 time the current wait ends, when waiting. */
  wakeAt: string | null;
  path: PathEntry[];
  /** The goal event that converted the run, if any. */
  conversion?: { event: string; messageId: string; at: string };
  /** Holdback: `control` runs follow the steps but receive nothing. */
  group?: 'control' | 'treatment';
  /** Why an `exited` run ended (operator stop, journey stopped, goal after the conversion window). */
  exitReason?: string;
  /** Set when an operator migrated the run from an earlier version. */
  migratedFrom?: { version: number; stepId: string | null; at: string; by: string };
}
