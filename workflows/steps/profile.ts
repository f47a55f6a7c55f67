import type { SetTraitStep, TagStep } from '../../language/types';
import { updateProfile } from '../activities';
import { resolveAll, type Run } from '../run';
import type { StepCall } from './call';

/*
 * Profile writes. Control runs make them too: tags and traits are bookkeeping about the
 * customer, not touches. The run's own copy of the traits follows, so later branches see them.
 */

export async function tag(run: Run, step: TagStep, { entry, key }: StepCall): Promise<string | undefined> {
  const adding = step.type === 'tag';
  await updateProfile({
    journeyId: run.journey.id,
    customerId: run.customerId,
    stepId: step.id,
    idempotencyKey: key,
    ...(adding ? { addTags: step.tags } : { removeTags: step.tags }),
  });
  const had = Array.isArray(run.traits.tags) ? (run.traits.tags as unknown[]) : [];
  const tags = adding
    ? [...had, ...step.tags.filter((t) => !had.includes(t))]
    : had.filter((t) => !step.tags.includes(t as string));
  run.traits = { ...run.traits, tags };
  entry.outcome = adding ? 'tagged' : 'untagged';
  entry.detail = { tags: step.tags };
  return run.next(step);
}

export async function setTrait(
  run: Run,
  step: SetTraitStep,
  { entry, key }: StepCall,
): Promise<string | undefined> {
  const ctx = { traits: run.traits, properties: run.lastEvent.properties, nowMs: run.clock.nowMs() };
  const traits = resolveAll(step.traits, ctx);
  await updateProfile({
    journeyId: run.journey.id,
    customerId: run.customerId,
    stepId: step.id,
    idempotencyKey: key,
    traits,
  });
  run.traits = { ...run.traits, ...traits };
  entry.outcome = 'set';
  entry.detail = { traits };
  return run.next(step);
}
