import { condition } from '@temporalio/workflow';
import { matchesEvent } from '../language/conditions';
import type { EventSignal, StopSignal } from './definitions';
import { remember } from './history';
import type { Run } from './run';

/** Message ids remembered for dedupe; a replayed event older than this many is very unlikely. */
const SEEN_LIMIT = 500;

/**
 * An event from the router: deduped by message id, remembered for `did` conditions, then either
 * a goal (the run ends) or something a waitFor may be waiting for.
 */
export function receiveEvent(run: Run, { event, traits }: EventSignal): void {
  if (run.seen.has(event.messageId) || !run.running) return;
  run.seen.add(event.messageId);
  if (run.seen.size > SEEN_LIMIT) run.seen.delete(run.seen.values().next().value as string);
  run.traits = { ...run.traits, ...traits };
  remember(run.history, event, run.journey.id);
  if (run.journey.exit.some((m) => matchesEvent(m, event, run.traits, run.eventContext())))
    reachGoal(run, event.event, event.messageId);
  else run.inbox.push(event);
}

/**
 * A goal converts the run, unless the journey has a conversion window and it has closed: then
 * the run ends without counting (a late order is not the journey's doing).
 */
function reachGoal(run: Run, event: string, messageId: string): void {
  const { state, clock } = run;
  const window = run.journey.conversionWindowMs;
  const now = clock.nowMs();
  if (window !== undefined && now - Date.parse(state.enteredAt) > window) {
    state.status = 'exited';
    state.exitReason = 'goal after conversion window';
    return;
  }
  state.status = 'converted';
  state.conversion = { event, messageId, at: clock.iso(now) };
}

/** An operator (or the journey being stopped) ends the run at once, wherever it is. */
export function stop(run: Run, { reason, by }: StopSignal): void {
  if (!run.running) return;
  run.state.status = 'exited';
  run.state.exitReason = reason;
  const entry = run.pathEntry(run.state.currentStep ?? '', 'stop');
  entry.outcome = 'exited';
  entry.detail = { reason, by };
  run.state.path.push(entry);
}

/**
 * With a conversion window, a run whose steps ended early stays open (receiving nothing) until
 * the window closes, so a goal inside it still counts as a conversion.
 */
export async function holdForConversionWindow(run: Run): Promise<void> {
  const window = run.journey.conversionWindowMs;
  if (window === undefined || !run.running) return;
  const closes = Date.parse(run.state.enteredAt) + window;
  const ms = closes - run.clock.nowMs();
  if (ms <= 0) return;
  run.state.currentStep = null;
  run.state.wakeAt = run.clock.iso(closes);
  await condition(() => !run.running, ms);
  run.state.wakeAt = null;
}
