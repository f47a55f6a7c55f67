import { upsertSearchAttributes } from '@temporalio/workflow';
import { journeyVersionKey } from '../runtime/search-attributes';
import type { MigrateSignal } from './definitions';
import type { Run } from './run';

/**
 * Moves a run waiting at `state.currentStep` onto the signal's journey version: it continues at
 * `mapping[currentStep]` (a step with the same id maps to itself by default). The lifecycle API
 * validates mappings before sending them; one that still does not fit is recorded on the path
 * and the run stays on its version. Returns the step to continue at, or undefined.
 */
export function applyMigration(run: Run, signal: MigrateSignal): string | undefined {
  const from = run.journey;
  const at = run.state.currentStep;
  const to = signal.journey;
  const mapped = at === null ? undefined : (signal.mapping[at] ?? at);
  const target = mapped !== undefined && to.steps.some((s) => s.id === mapped) ? mapped : undefined;
  const entry = run.pathEntry(at ?? '', 'migrate');
  entry.detail = { from: from.version, to: to.version, by: signal.by, ...(target ? { goto: target } : {}) };
  if (target === undefined) {
    entry.outcome = 'refused:unmapped';
    run.state.path.push(entry);
    return undefined;
  }
  run.switchTo(to);
  run.state.migratedFrom = { version: from.version, stepId: at, at: entry.at, by: signal.by };
  upsertSearchAttributes([{ key: journeyVersionKey, value: to.version }]);
  entry.outcome = `version:${to.version}`;
  run.state.path.push(entry);
  return target;
}

/** Whether a migrate signal concerns this run at all (same journey, another version, still running). */
export function acceptsMigration(run: Run, signal: MigrateSignal): boolean {
  return (
    run.running && signal.journey.id === run.journey.id && signal.journey.version !== run.journey.version
  );
}
