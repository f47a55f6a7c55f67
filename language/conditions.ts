import { DEFAULT_ZONE, daysToAnniversary, readDate, resolveTimeRef } from './dates';
import { parseDuration } from './duration';
import type { Comparison, Condition, DidCondition, EventMatcher, JourneyEvent } from './types';

/**
 * The condition evaluator. Imported by Temporal workflow code, so it is pure and deterministic:
 * no Node APIs, no clock, no randomness, and no eval — conditions are data, interpreted here.
 *
 * Semantics (docs/journeys.md has the marketer's version):
 * - `trait: a.b` / `property: a.b` read a dotted path through OWN properties only; the segments
 *   `__proto__`, `constructor` and `prototype` never resolve. `undefined` and `null` are "missing".
 * - A missing value satisfies only `ne` and `exists: false`; every other operator is false.
 * - Several operators in one comparison must all hold (`{ property: total, gte: 100, lt: 500 }`).
 * - Equality (`eq`, `ne`, `in`, array `contains`) is structural; a number equals a numeric string
 *   of the same value (`"42"` eq 42), since event properties often arrive as strings.
 * - Ordering (`gt`, `gte`, `lt`, `lte`): numbers and numeric strings compare as numbers; two ISO-8601
 *   dates/date-times compare as instants (no offset means UTC); other string pairs compare by code
 *   unit order; anything else (booleans, objects, number vs. non-numeric text) is false.
 * - `contains`: substring test on a string value (case-sensitive), membership on an array value.
 * - Date math (`before`, `after`, `anniversaryWithin`) reads the value as a date in the customer's
 *   time zone (dates.ts: a date alone is that day's start there) against the context's clock
 *   `nowMs`; a value that is not a date fails them.
 * - `tag` reads the array trait `tags`; `did` looks through the run's `history`.
 * - `count` (segments only) asks the context's `eventCounts` how many such events the customer had
 *   in the window; without `eventCounts` it is false (a journey never has counts).
 *
 * The only clock read is the default of `nowMs` (Date.now(), for the router); workflows pass
 * their own (deterministic) time.
 */

/** An event the run received earlier (the workflow keeps them, minus other journeys' outcomes). */
export interface RunEvent {
  event: string;
  properties: Record<string, unknown>;
  /** ISO-8601 time it happened. */
  at: string;
}

export interface ConditionContext {
  traits: Record<string, unknown>;
  properties: Record<string, unknown>;
  /** What the customer did earlier in this run, oldest first; `did` is false without it. */
  history?: RunEvent[];
  /** The clock date math measures against; default Date.now(). */
  nowMs?: number;
  /** The customer's IANA zone for dates without a time; default Asia/Shanghai. */
  timeZone?: string;
  /**
   * For `count` conditions (segments): how many `counted` events the customer had in the last
   * `withinMs`. The caller reads its counters before evaluating; `count` is false without it.
   */
  eventCounts?: (counted: CountTest['count'], withinMs: number) => number;
}

/** Path segments that would reach into prototypes; refused by the reader and by the schema. */
export const FORBIDDEN_SEGMENTS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export function evaluate(cond: Condition, ctx: ConditionContext): boolean {
  if (hasOwn(cond, 'all')) return (cond as { all: Condition[] }).all.every((c) => evaluate(c, ctx));
  if (hasOwn(cond, 'any')) return (cond as { any: Condition[] }).any.some((c) => evaluate(c, ctx));
  if (hasOwn(cond, 'not')) return !evaluate((cond as { not: Condition }).not, ctx);
  if (hasOwn(cond, 'tag')) return hasTag(ctx.traits, (cond as { tag: string }).tag);
  if (hasOwn(cond, 'did')) return did(cond as DidCondition, ctx);
  if (hasOwn(cond, 'count')) return countHolds(cond as CountTest, ctx);
  return compare(cond as Comparison, ctx);
}

/** A `count` condition (types.ts CountCondition; segments only). */
type CountTest = Extract<Condition, { count: unknown }>;

/** The count operators, in the order hints list them. */
export const COUNT_OPERATORS = ['gte', 'gt', 'lte', 'lt', 'eq'] as const;

/** Every operator given holds for the number of counted events in the window (none given: false). */
function countHolds(cond: CountTest, ctx: ConditionContext): boolean {
  if (!ctx.eventCounts) return false;
  let withinMs: number;
  try {
    withinMs = parseDuration(cond.within);
  } catch {
    return false;
  }
  const n = ctx.eventCounts(cond.count, withinMs);
  const tests = COUNT_OPERATORS.filter((op) => typeof cond[op] === 'number');
  return (
    tests.length > 0 &&
    tests.every((op) => {
      const x = cond[op]!;
      if (op === 'gte') return n >= x;
      if (op === 'gt') return n > x;
      if (op === 'lte') return n <= x;
      if (op === 'lt') return n < x;
      return n === x;
    })
  );
}

function hasTag(traits: Record<string, unknown>, tag: string): boolean {
  const tags = hasOwn(traits, 'tags') ? traits.tags : undefined;
  return Array.isArray(tags) && tags.includes(tag);
}

/** An event of the run's history with this name (and `step`'s stepId) whose properties match `where`. */
function did(cond: DidCondition, ctx: ConditionContext): boolean {
  return (ctx.history ?? []).some(
    (e) =>
      e.event === cond.did &&
      (cond.step === undefined || readPath(e.properties, 'stepId') === cond.step) &&
      (cond.where === undefined || evaluate(cond.where, { ...ctx, properties: e.properties ?? {} })),
  );
}

/** True when the event has the matcher's name and satisfies its `where` (traits = the customer's profile). */
export function matchesEvent(
  matcher: EventMatcher,
  event: Pick<JourneyEvent, 'event' | 'properties'>,
  traits: Record<string, unknown> = {},
  extra: Pick<ConditionContext, 'history' | 'nowMs' | 'timeZone'> = {},
): boolean {
  if (event.event !== matcher.event) return false;
  return (
    matcher.where === undefined ||
    evaluate(matcher.where, { ...extra, traits, properties: event.properties ?? {} })
  );
}

/** Reads a dotted path through own properties of objects and arrays; anything else is `undefined`. */
export function readPath(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const segment of path.split('.')) {
    if (segment === '' || FORBIDDEN_SEGMENTS.includes(segment)) return undefined;
    if (typeof current !== 'object' || current === null || !hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

type Operator = Exclude<keyof Comparison, 'trait' | 'property'>;
/** Every comparison operator, in the order the schema lists them in hints. */
export const OPERATORS: readonly Operator[] = [
  'eq',
  'ne',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'contains',
  'exists',
  'before',
  'after',
  'anniversaryWithin',
];

function compare(cmp: Comparison, ctx: ConditionContext): boolean {
  const value = hasOwn(cmp, 'trait')
    ? readPath(ctx.traits, (cmp as { trait: string }).trait)
    : readPath(ctx.properties, (cmp as { property: string }).property);
  const operators = OPERATORS.filter((op) => hasOwn(cmp, op));
  return operators.length > 0 && operators.every((op) => check(op, value, cmp[op], ctx));
}

function check(op: Operator, value: unknown, expected: unknown, ctx: ConditionContext): boolean {
  const missing = value === undefined || value === null;
  if (op === 'exists') return expected === !missing;
  if (op === 'ne') return missing || !looseEqual(value, expected);
  if (missing) return false;
  switch (op) {
    case 'before':
    case 'after':
    case 'anniversaryWithin':
      return dateMath(op, value, expected, ctx);
    case 'eq':
      return looseEqual(value, expected);
    case 'in':
      return Array.isArray(expected) && expected.some((item) => looseEqual(value, item));
    case 'contains':
      return contains(value, expected);
    case 'gt':
      return order(value, expected, (diff) => diff > 0);
    case 'gte':
      return order(value, expected, (diff) => diff >= 0);
    case 'lt':
      return order(value, expected, (diff) => diff < 0);
    case 'lte':
      return order(value, expected, (diff) => diff <= 0);
  }
}

/** `before` / `after` a TimeRef, `anniversaryWithin` a duration: in the customer's zone, at `nowMs`. */
function dateMath(
  op: 'before' | 'after' | 'anniversaryWithin',
  value: unknown,
  expected: unknown,
  ctx: ConditionContext,
): boolean {
  if (typeof expected !== 'string') return false;
  const zone = ctx.timeZone ?? DEFAULT_ZONE;
  const nowMs = ctx.nowMs ?? Date.now();
  if (op !== 'anniversaryWithin') {
    const at = instantOf(value, zone);
    if (at === undefined) return false;
    const ref = resolveTimeRef(expected, nowMs, zone);
    if (ref === undefined) return false;
    return op === 'before' ? at < ref : at > ref;
  }
  const date = readDate(value, zone);
  if (!date) return false;
  let windowMs: number;
  try {
    windowMs = parseDuration(expected);
  } catch {
    return false;
  }
  return daysToAnniversary(date.time, nowMs, zone) <= Math.floor(windowMs / 86_400_000);
}

/** A date-time with its time of day (and a real offset, or none: UTC), which needs no zone. */
const TIMED =
  /^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-](?:0\d|1[0-4]):?[0-5]\d)?\s*$/i;

/**
 * The instant of a date value as readDate reads it. The usual value, an ISO date-time such as
 * `lastOrderAt`, is parsed by hand (a segment pass reads one per customer; luxon takes tens of
 * microseconds); anything else (a date alone is a day in the zone, epoch numbers) by readDate.
 */
function instantOf(value: unknown, zone: string): number | undefined {
  if (typeof value === 'string' && TIMED.test(value)) {
    const ms = isoToMillis(value);
    if (ms !== undefined) return ms;
  }
  return readDate(value, zone)?.time.toMillis();
}

function contains(value: unknown, needle: unknown): boolean {
  if (typeof value === 'string') {
    if (typeof needle === 'string') return value.includes(needle);
    return typeof needle === 'number' && value.includes(String(needle));
  }
  return Array.isArray(value) && value.some((item) => looseEqual(item, needle));
}

/** Applies `test` to the sign of (value - expected), or returns false when the two don't order. */
function order(value: unknown, expected: unknown, test: (diff: number) => boolean): boolean {
  const a = asNumber(value);
  const b = asNumber(expected);
  if (a !== undefined && b !== undefined) return test(a - b);
  if (typeof value !== 'string' || typeof expected !== 'string') return false;
  const ta = isoToMillis(value);
  const tb = isoToMillis(expected);
  if (ta !== undefined && tb !== undefined) return test(ta - tb);
  if (ta !== undefined || tb !== undefined) return false; // a date against plain text does not order
  return test(value < expected ? -1 : value > expected ? 1 : 0);
}

function looseEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' || typeof b === 'number') {
    const x = asNumber(a);
    const y = asNumber(b);
    return x !== undefined && y !== undefined && x === y;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => looseEqual(v, b[i]))
    );
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => hasOwn(b, k) && looseEqual(a[k], b[k]));
  }
  return false;
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite number, or a string written as a plain decimal number (not hex, not empty, not "Infinity"). */
function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && DECIMAL.test(v.trim())) return Number(v.trim());
  return undefined;
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Epoch milliseconds of an ISO-8601 date or date-time, or undefined. Parsed by hand rather than
 * with Date.parse so results never depend on the host's time zone: no offset means UTC.
 */
export function isoToMillis(text: string): number | undefined {
  const m = ISO_DATE.exec(text.trim());
  if (!m) return undefined;
  const part = (i: number) => Number(m[i] ?? 0);
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)];
  const millis = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 2024-02-30 over into March (and maps years 0-99 to 19xx): a round trip catches it.
  const back = new Date(utc);
  const valid =
    back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59;
  return valid ? utc - offsetMinutes(m[8]) * 60_000 : undefined;
}

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.replace(':', '');
  const sign = digits.startsWith('-') ? -1 : 1;
  return sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasOwn(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/**
 * The conditions nested in a raw (not yet validated) condition document, with their paths
 * relative to it: each item of `all` / `any`, and `not`. The checkers of journeys and segments
 * walk conditions through this, each enforcing its own rules at every level.
 */
export function nestedConditions(
  cond: Record<string, unknown>,
): { cond: unknown; at: (string | number)[] }[] {
  const nested: { cond: unknown; at: (string | number)[] }[] = [];
  for (const key of ['all', 'any']) {
    const list = cond[key];
    if (Array.isArray(list)) list.forEach((c: unknown, k) => nested.push({ cond: c, at: [key, k] }));
  }
  if (cond.not !== undefined) nested.push({ cond: cond.not, at: ['not'] });
  return nested;
}
