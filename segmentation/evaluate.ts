import { evaluate } from '../language/conditions';
import { customerZone } from '../language/timing';
import { counterId, CountSnapshot, windowDays } from './counters';
import type { Segment } from './definition';

/** What a customer's membership is judged on, read at one moment. */
export interface CustomerFacts {
  /** Traits with `tags`, as ProfileStore.getWithTags returns them. */
  traits: Record<string, unknown>;
  /** The customer's daily event buckets (empty when no segment counts events). */
  counts: CountSnapshot;
  nowMs: number;
  /** The zone of dates without one when the customer has no valid `timezone` trait. */
  defaultZone: string;
}

/**
 * Whether the customer belongs to the segment: its `where` evaluated by the journey language's
 * evaluator, with no current event (`properties` is empty) and the counts of its `count`
 * conditions from the buckets.
 */
export function inSegment(segment: Segment, facts: CustomerFacts): boolean {
  return evaluate(segment.where, {
    traits: facts.traits,
    properties: {},
    nowMs: facts.nowMs,
    timeZone: customerZone(facts.traits, facts.defaultZone),
    eventCounts: (counted, withinMs) => facts.counts.count(counterId(counted), windowDays(withinMs)),
  });
}
