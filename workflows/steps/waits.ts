import { matchesEvent } from '../../language/conditions';
import { resolveWaitUntil } from '../../language/timing';
import type { JourneyEvent, WaitForStep, WaitStep } from '../../language/types';
import { loadTraits } from '../activities';
import type { PathEntry } from '../definitions';
import type { Run, WaitEnd } from '../run';
import type { StepCall } from './call';

/*
 * The wait points: where a run spends its days, where a stop ends it at once and where an
 * operator's migration moves it onto a new version of the journey.
 */

export async function wait(run: Run, step: WaitStep, { entry }: StepCall): Promise<string | undefined> {
  const { clock, state } = run;
  let deadline: number;
  if (step.until) {
    // A trait-based moment (dueDate - 30d) wants the profile as it is now, not at entry.
    run.traits = { ...run.traits, ...(await loadTraits(run.customerId)) };
    const timeZone = run.timeZone();
    const resolved = resolveWaitUntil(step.until, { nowMs: clock.nowMs(), timeZone, traits: run.traits });
    if ('missing' in resolved) {
      entry.outcome = 'missing';
      entry.detail = { missing: resolved.missing };
      return step.onMissing ?? run.next(step);
    }
    deadline = resolved.atMs;
    state.wakeAt = clock.iso(deadline);
    entry.detail = { wakeAt: state.wakeAt, timeZone };
  } else {
    deadline = clock.nowMs() + (step.durationMs ?? 0);
    state.wakeAt = clock.iso(deadline);
    entry.detail = { wakeAt: state.wakeAt };
  }
  const end = await run.waitUntil(deadline);
  if (typeof end === 'object') return migrated(entry, end);
  entry.outcome = end === 'ended' ? state.status : 'waited';
  return run.next(step);
}

export async function waitFor(run: Run, step: WaitForStep, { entry }: StepCall): Promise<string | undefined> {
  const { clock, state } = run;
  run.inbox = [];
  const deadline = clock.nowMs() + step.timeoutMs;
  state.wakeAt = clock.iso(deadline);
  entry.detail = { timeoutAt: state.wakeAt };
  let received: JourneyEvent | undefined;
  const arrived = () => {
    received ??= run.inbox.find((e) => matchesEvent(step, e, run.traits, run.eventContext()));
    return received !== undefined;
  };
  const end = await run.waitUntil(deadline, arrived);
  if (end === 'ended') {
    entry.outcome = state.status;
    return undefined;
  }
  if (typeof end === 'object') return migrated(entry, end);
  if (received) {
    run.lastEvent = received;
    entry.outcome = 'event';
    entry.detail = { ...entry.detail, event: received.event, messageId: received.messageId };
    return step.onEvent ?? run.next(step);
  }
  entry.outcome = 'timeout';
  return step.onTimeout ?? run.next(step);
}

function migrated(entry: PathEntry, end: Exclude<WaitEnd, string>): string {
  entry.outcome = 'migrated';
  return end.migrateTo;
}
