import { matchesEvent } from '../language/conditions';
import { parseDuration } from '../language/duration';
import type { Condition, CountCondition, JourneyEvent } from '../language/types';
import { counterId, windowDays, type Counter } from './counters';
import type { Segment } from './definition';

/** What a segment's condition reads: which changes can move a customer in or out of it. */
export interface SegmentDependencies {
  /** Root trait names (`address.city` → `address`; `tag:` → `tags`; date math → `timezone` too). */
  traits: string[];
  /** The count conditions' counters. */
  counters: Counter[];
  /** Membership can change with time alone (count windows, `before: -90d`, `anniversaryWithin`). */
  timeBased: boolean;
  /** The longest count window, in days (0: no count). */
  windowDays: number;
}

/**
 * The loaded segments, indexed by what they depend on, so that a change touches only the segments
 * it can affect: a trait change those reading that trait, an event those counting that event.
 */
export class SegmentCatalog {
  private readonly byId = new Map<string, Segment>();
  private readonly deps = new Map<string, SegmentDependencies>();
  private readonly byTrait = new Map<string, Segment[]>();
  private readonly byEvent = new Map<string, Segment[]>();
  private readonly countersByEvent = new Map<string, Counter[]>();
  /** Days of buckets to keep: the longest window of all count conditions (0: no counting). */
  readonly retentionDays: number;

  constructor(readonly segments: readonly Segment[]) {
    let retention = 0;
    for (const segment of segments) {
      const found = dependenciesOf(segment.where);
      this.byId.set(segment.id, segment);
      this.deps.set(segment.id, found);
      for (const trait of found.traits) push(this.byTrait, trait, segment);
      for (const counter of found.counters) {
        const event = counter.counted.event;
        if (!(this.byEvent.get(event) ?? []).includes(segment)) push(this.byEvent, event, segment);
        const known = this.countersByEvent.get(event) ?? [];
        if (!known.some((c) => c.id === counter.id)) this.countersByEvent.set(event, [...known, counter]);
      }
      retention = Math.max(retention, found.windowDays);
    }
    this.retentionDays = retention;
  }

  list(): readonly Segment[] {
    return this.segments;
  }

  get(id: string): Segment | undefined {
    return this.byId.get(id);
  }

  dependencies(id: string): SegmentDependencies | undefined {
    return this.deps.get(id);
  }

  /** Whether any segment has a count condition (else no buckets are read or written). */
  get counts(): boolean {
    return this.retentionDays > 0;
  }

  /** The counters this event adds to: same name, and its properties match the counter's `where`. */
  countersFor(event: Pick<JourneyEvent, 'event' | 'properties'>): Counter[] {
    return (this.countersByEvent.get(event.event) ?? []).filter((c) => matchesEvent(c.counted, event));
  }

  /**
   * The segments a change can move the customer in or out of: those reading a changed trait,
   * and those counting the event (whether or not its filter matched this time: a retried job has
   * to re-evaluate what its first attempt counted).
   */
  affectedBy(change: { event?: string; traits: readonly string[] }): Segment[] {
    const found = new Set<Segment>();
    for (const trait of change.traits) {
      for (const segment of this.byTrait.get(rootOf(trait)) ?? []) found.add(segment);
    }
    if (change.event !== undefined)
      for (const segment of this.byEvent.get(change.event) ?? []) found.add(segment);
    // In definition order, so evaluation and events come out in a stable order.
    return this.segments.filter((s) => found.has(s));
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

function rootOf(path: string): string {
  const dot = path.indexOf('.');
  return dot < 0 ? path : path.slice(0, dot);
}

/** Walks a segment's condition: the traits, counters and time dependence it has. */
export function dependenciesOf(where: Condition): SegmentDependencies {
  const traits = new Set<string>();
  const counters: Counter[] = [];
  let timeBased = false;
  let days = 0;
  const walk = (cond: Condition) => {
    const c = cond as Record<string, unknown>;
    if (Array.isArray(c.all)) (c.all as Condition[]).forEach(walk);
    if (Array.isArray(c.any)) (c.any as Condition[]).forEach(walk);
    if (c.not !== undefined) walk(c.not as Condition);
    if (typeof c.tag === 'string') traits.add('tags');
    if (typeof c.trait === 'string') {
      traits.add(rootOf(c.trait));
      if (c.anniversaryWithin !== undefined || isRelative(c.before) || isRelative(c.after)) {
        timeBased = true;
        traits.add('timezone'); // dates are read in the customer's zone
      }
    }
    if (c.count !== undefined) {
      const count = cond as CountCondition;
      const id = counterId(count.count);
      if (!counters.some((k) => k.id === id)) counters.push({ id, counted: count.count });
      timeBased = true;
      days = Math.max(days, windowDays(parseDuration(count.within)));
    }
  };
  walk(where);
  return { traits: [...traits].sort(), counters, timeBased, windowDays: days };
}

/** A TimeRef that moves with the clock: `now` or a signed duration (`-90d`), not a fixed date. */
function isRelative(ref: unknown): boolean {
  if (typeof ref !== 'string') return false;
  const text = ref.trim();
  return !/^\d{4}-\d{2}-\d{2}/.test(text);
}
