import { continueAsNew, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { stepKey } from '../runtime/search-attributes';
import { recordProgress } from './activities';
import {
  type JourneyInput,
  type JourneyResult,
  eventSignal,
  migrateSignal,
  stateQuery,
  stopSignal,
} from './definitions';
import { holdForConversionWindow, receiveEvent, stop } from './lifecycle';
import { acceptsMigration } from './migration';
import { reportStep } from './observe';
import { Run } from './run';
import { runStep } from './steps';

/**
 * Interprets one pinned journey version for one customer. Deterministic: time comes from the
 * workflow clock, side effects only through activities, whose idempotency keys are derived from
 * (workflow id, first run id, step id, visit number) so a retried activity or a replayed
 * history never touches the customer twice.
 *
 * Runs started by older code replay unchanged: a journey without the newer fields (holdback,
 * conversionWindow, until-waits, the newer step types) issues exactly the commands it always did
 * (tests/workflows/replay-v1.test.ts replays recorded histories to prove it).
 */
export async function journeyWorkflow(input: JourneyInput): Promise<JourneyResult> {
  const run = new Run(input);
  const { state } = run;

  setHandler(stateQuery, () => state);
  setHandler(eventSignal, (signal) => receiveEvent(run, signal));
  setHandler(stopSignal, (signal) => stop(run, signal));
  // Applied when the run is next at a wait point (workflows/run.ts, waitUntil).
  setHandler(migrateSignal, (signal) => {
    if (acceptsMigration(run, signal)) run.pendingMigration = signal;
  });

  if (!input.carried) {
    await recordProgress(run.progress('entered'));
    if (state.group) await recordProgress(run.progress(`entered:${state.group}`));
  }

  let stepId: string | undefined = input.carried?.stepId ?? run.journey.steps[0]?.id;
  let stepsThisRun = 0;
  while (stepId !== undefined && run.running) {
    // Long journeys (weekly loops over months) hand their state to a fresh run between steps.
    if (workflowInfo().continueAsNewSuggested || stepsThisRun >= (input.maxStepsPerRun ?? Infinity)) {
      await continueAsNew<typeof journeyWorkflow>({
        journey: run.journey,
        customerId: input.customerId,
        entry: input.entry,
        carried: run.carry(stepId),
        ...(input.clockOffsetMs !== undefined ? { clockOffsetMs: input.clockOffsetMs } : {}),
        ...(input.maxStepsPerRun !== undefined ? { maxStepsPerRun: input.maxStepsPerRun } : {}),
      });
    }
    stepsThisRun++;
    const step = run.step(stepId)!;
    const visit = run.visits[step.id] ?? 0;
    run.visits[step.id] = visit + 1;
    state.currentStep = step.id;
    upsertSearchAttributes([{ key: stepKey, value: step.id }]);
    const entry = run.pathEntry(step.id, step.type);
    state.path.push(entry);
    stepId = await runStep(run, step, { entry, key: `${run.runKey}/${step.id}/${visit}`, visit });
    reportStep(run, entry);
    state.wakeAt = null;
  }
  await holdForConversionWindow(run);

  // Running off the end or reaching an `exit` step completes the run; a stop, or a goal after the
  // conversion window, has already set `exited`.
  if (state.status === 'running') state.status = 'completed';
  state.currentStep = null;
  upsertSearchAttributes([{ key: stepKey, value: `(${state.status})` }]);
  if (state.group && state.status === 'converted') {
    await recordProgress(run.progress(`converted:${state.group}`));
  }
  // The final record names the customer: it frees their place in the journey's entry limit.
  await recordProgress(run.progress(state.status, true));
  return { status: state.status, path: state.path };
}
