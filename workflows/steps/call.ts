import type { PathEntry } from '../definitions';

/** What the interpreter hands each step handler besides the run and the step. */
export interface StepCall {
  /** The step's entry on the run's path: handlers fill in outcome and detail. */
  entry: PathEntry;
  /** `${workflowId}/${firstRunId}/${stepId}/${visit}`: the idempotency key of its side effects. */
  key: string;
  /** How often this step ran before in this run (0 the first time). */
  visit: number;
}
