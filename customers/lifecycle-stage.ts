import { evaluate } from '../language/conditions';
import { customerZone } from '../language/timing';
import type { Condition } from '../language/types';

/**
 * Lifecycle stage (awareness → interest → purchase → loyalty, or the stages a config names): the
 * first rule of the ordered list whose `when` holds on the customer's traits (with computed
 * traits and `tags`) at `nowMs`, else the default stage. Rules are the journey condition
 * language, so time-relative rules (`lastOrderAt after -365d`) change without any event: the
 * scheduled recompute (customers/rfm-schedule.ts) re-evaluates every profile.
 */
export interface LifecycleRules {
  stages: readonly { stage: string; when: Condition }[];
  default: string;
}

export function lifecycleStageOf(
  traits: Record<string, unknown>,
  rules: LifecycleRules,
  nowMs: number,
  timeZone = zoneOf(traits),
): string {
  return firstMatch(rules.stages, (s) => s.stage, rules.default).pick(traits, nowMs, timeZone);
}

/**
 * An ordered rule list (lifecycle stages, RFM groups): the name of the first rule whose `when`
 * holds, else the fallback. Results are remembered by what decides them — the values of the
 * traits the rules read, the clock and the zone — because over a recompute of a million profiles
 * the same few score combinations come back again and again (evaluating is most of the work).
 */
export class FirstMatch {
  private readonly reads: string[];
  private readonly memo = new Map<string, string>();

  constructor(
    private readonly rules: readonly { name: string; when: Condition }[],
    private readonly fallback: string,
  ) {
    this.reads = [...traitsReadBy(rules.map((r) => r.when))];
  }

  pick(traits: Record<string, unknown>, nowMs: number, timeZone: string): string {
    const values = this.reads.map((name) =>
      Object.prototype.hasOwnProperty.call(traits, name) ? traits[name] : undefined,
    );
    const key = `${nowMs}|${timeZone}|${JSON.stringify(values)}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const ctx = { traits, properties: {}, nowMs, timeZone };
    const name = this.rules.find((r) => evaluate(r.when, ctx))?.name ?? this.fallback;
    if (this.memo.size >= 50_000) this.memo.clear();
    this.memo.set(key, name);
    return name;
  }
}

const lists = new WeakMap<object, Map<string, FirstMatch>>();

/** The (memoising) FirstMatch of a config's rule list and fallback, made once per pair. */
export function firstMatch<R extends { when: Condition }>(
  rules: readonly R[],
  nameOf: (rule: R) => string,
  fallback: string,
): FirstMatch {
  let byFallback = lists.get(rules);
  if (!byFallback) lists.set(rules, (byFallback = new Map()));
  let list = byFallback.get(fallback);
  if (!list) {
    list = new FirstMatch(
      rules.map((r) => ({ name: nameOf(r), when: r.when })),
      fallback,
    );
    byFallback.set(fallback, list);
  }
  return list;
}

const knownZones = new Map<string, string>();

/**
 * customerZone, remembered per `timezone` value: checking a zone builds an Intl formatter (tens of
 * microseconds), which dominated a recompute over a million profiles that share a few zones.
 */
export function zoneOf(traits: Record<string, unknown>): string {
  const value = Object.prototype.hasOwnProperty.call(traits, 'timezone') ? traits.timezone : undefined;
  if (typeof value !== 'string') return customerZone({});
  let zone = knownZones.get(value);
  if (zone === undefined) {
    zone = customerZone({ timezone: value });
    if (knownZones.size < 1000) knownZones.set(value, zone);
  }
  return zone;
}

/**
 * The trait names a condition reads (first path segment; `tags` for tag conditions), so that an
 * event that changed none of them skips re-evaluating the rules.
 */
export function traitsReadBy(conditions: readonly Condition[]): Set<string> {
  const names = new Set<string>();
  const walk = (c: unknown) => {
    if (typeof c !== 'object' || c === null) return;
    if (Array.isArray(c)) return c.forEach(walk);
    const obj = c as Record<string, unknown>;
    if (typeof obj.trait === 'string') names.add(obj.trait.split('.')[0]!);
    if (typeof obj.tag === 'string') names.add('tags');
    for (const key of ['all', 'any', 'not']) if (key in obj) walk(obj[key]);
  };
  conditions.forEach(walk);
  return names;
}
