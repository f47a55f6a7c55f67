import type { InjectedSinks } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { JourneySinks, StepReport } from '../workflows/observe';
import type { Metrics } from './metrics';

/**
 * The worker's end of workflows/observe.ts: each finished step is counted in
 * touchpoint_journey_steps_total and logged (debug) with the run's correlation id. Every worker
 * that runs journey workflows registers it (with nothing to report to, it does nothing), else
 * the SDK logs an error for each step.
 */
export function journeySinks(
  observer: { metrics?: Metrics; logger?: Logger } = {},
): InjectedSinks<JourneySinks> {
  const { metrics, logger } = observer;
  return {
    journeyObserver: {
      stepCompleted: {
        fn: (info, report: StepReport) => {
          metrics?.journeySteps.inc({
            journey: report.journeyId,
            step: report.stepId,
            type: report.type,
            outcome: report.outcome,
          });
          if (logger?.isLevelEnabled('debug')) {
            logger.debug({ workflowId: info.workflowId, ...report }, 'journey step finished');
          }
        },
        callDuringReplay: false,
      },
    },
  };
}
