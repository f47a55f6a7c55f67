import { proxySinks, workflowInfo, type Sinks } from '@temporalio/workflow';
import type { PathEntry } from './definitions';
import type { Run } from './run';

/** A finished step, as the worker's metrics and logs see it (observability/journey-sinks.ts). */
export interface StepReport {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  stepId: string;
  type: string;
  /** The path entry's outcome; `none` when the step recorded none. */
  outcome: string;
  /**
   * The correlation id of the step's log line: the goal event's messageId once the run converted
   * (the goal ended the step), else that of the event the run acted on last.
   */
  correlationId: string;
}

export interface JourneySinks extends Sinks {
  journeyObserver: { stepCompleted(report: StepReport): void };
}

const { journeyObserver } = proxySinks<JourneySinks>();

/**
 * Tells the worker a step finished. A sink call is not a command: it leaves the run's history
 * as it was (old histories replay unchanged), and it is skipped while the run replays, so a step
 * is reported when it runs, not again when a worker rebuilds the run from its history.
 */
export function reportStep(run: Run, entry: PathEntry): void {
  if (workflowInfo().unsafe.isReplaying) return;
  journeyObserver.stepCompleted({
    journeyId: run.journey.id,
    journeyVersion: run.journey.version,
    customerId: run.customerId,
    stepId: entry.stepId,
    type: entry.type,
    outcome: entry.outcome ?? 'none',
    correlationId: run.state.conversion?.messageId ?? run.lastEvent.messageId,
  });
}
