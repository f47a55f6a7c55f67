import type { RunStatus } from '../workflows/definitions';

/**
 * What `touchpoint simulate` prints (docs/cli.md is the stable reference). Times are ISO-8601 in
 * the customer's time zone (their `timezone` trait, else Asia/Shanghai), with its offset.
 */
export interface SimulationResult {
  journey: string;
  version: number;
  customer: string;
  /** The zone every `at` is written in. */
  timeZone: string;
  start: string;
  until: string;
  timeline: TimelineEntry[];
  /**
   * How the customer's last run stands at `until`: converted (a goal), completed (ran to its end
   * or an exit step), exited (stopped), running (still in the journey); `none`: never entered.
   */
  outcome: SimulationOutcome;
  /** Every run the customer had (more than one after a re-entry), oldest first. */
  runs: SimulatedRun[];
}

export type SimulationOutcome = RunStatus | 'none';

export interface SimulatedRun {
  enteredAt: string;
  /** The event that started the run (`journey_enrolled` for an enrolment, `trait_changed`...). */
  entryEvent?: string;
  outcome: RunStatus;
  /** When it ended (converted / completed / exited). */
  endedAt?: string;
  /** Holdback: `control` runs receive nothing. */
  group?: 'control' | 'treatment';
  version: number;
}

/**
 * One thing that happened. `kind`:
 * - `event`: a scenario event as the router handled it (`result`: entered / signalled / refused:<reason> / ignored)
 * - `enter`: a run started; `exit`: a run ended (`outcome`, `goal` for a conversion, `reason`)
 * - `send`: a message (channel, template, locale, to, subject, body; `status` sent or skipped with `reason`)
 * - `coupon`, `tag` (tag and untag), `webhook`, `notify`, `split` (the arm), `wait` (wait, waitFor)
 * - `step`: any other step (branch, goto, setTrait, exit), and a send's quiet-hours deferral
 */
export type TimelineKind =
  'event' | 'enter' | 'step' | 'send' | 'coupon' | 'tag' | 'webhook' | 'notify' | 'split' | 'wait' | 'exit';

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  /** The step, for step kinds; null for events and a run's enter / exit (then the last step). */
  stepId: string | null;
  [detail: string]: unknown;
}
