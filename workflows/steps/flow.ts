import { evaluate } from '../../language/conditions';
import type { BranchStep, GotoStep, SplitStep } from '../../language/types';
import { loadTraits, recordProgress } from '../activities';
import { bucketOf, pickArm } from '../buckets';
import type { Run } from '../run';
import type { StepCall } from './call';

/** Steps that only choose where the run goes next. */

export async function branch(run: Run, step: BranchStep, { entry }: StepCall): Promise<string | undefined> {
  // The freshest profile (tags included): a trait may have changed since the run started.
  run.traits = { ...run.traits, ...(await loadTraits(run.customerId)) };
  const ctx = run.conditionContext();
  const index = step.branches.findIndex((b) => evaluate(b.when, ctx));
  const target = index >= 0 ? step.branches[index]!.goto : (step.else ?? run.next(step));
  entry.outcome = index >= 0 ? `branch:${index}` : 'else';
  entry.detail = { goto: target ?? null };
  return target;
}

/** A/B split: the run's bucket for this step picks the arm, the same one on every visit. */
export async function split(run: Run, step: SplitStep, { entry }: StepCall): Promise<string | undefined> {
  const earlier = step.arms.find((a) => a.name === run.arms[step.id]);
  const chosen = earlier ?? pickArm(step.arms, bucketOf(`${run.runKey}/${step.id}`));
  if (!earlier) {
    run.arms[step.id] = chosen.name;
    // Reported per run, not per visit: a loop through the split counts its run once.
    await recordProgress(run.progress(`split:${step.id}:${chosen.name}`));
  }
  entry.outcome = `arm:${chosen.name}`;
  entry.detail = { goto: chosen.goto };
  return chosen.goto;
}

/** Loops back to `to` at most `maxIterations` times in this run, then falls through to next. */
export function goto(run: Run, step: GotoStep, { entry, visit }: StepCall): string | undefined {
  if (visit < step.maxIterations) {
    entry.outcome = `goto:${step.to}`;
    entry.detail = { iteration: visit + 1, maxIterations: step.maxIterations };
    return step.to;
  }
  const target = run.next(step);
  entry.outcome = 'guard';
  entry.detail = { maxIterations: step.maxIterations, goto: target ?? null };
  return target;
}
