import { DateTime } from 'luxon';
import { readPath } from './conditions';
import { parseSignedDuration } from './dates';
import type { ValueExpr } from './types';

/**
 * The value a `setTrait` trait or a webhook body key gets. Pure and deterministic (the clock is
 * passed in), so workflow code calls it.
 *
 * - text, numbers, `true`/`false` and lists are written as they are;
 * - `{ trait: a.b }` / `{ property: a.b }` read the customer's traits / the current event's
 *   properties (undefined when missing: the caller leaves the key out);
 * - `{ now: '' }` is the run's current time as ISO-8601 UTC text (`2026-03-01T02:00:00.000Z`);
 *   `{ now: '-30d' }`, `{ now: '+P1M' }` that time moved by a signed duration (calendar days and
 *   months counted in UTC).
 */
export function resolveValue(
  expr: ValueExpr,
  ctx: { traits: Record<string, unknown>; properties: Record<string, unknown>; nowMs: number },
): unknown {
  if (expr === null || typeof expr !== 'object' || Array.isArray(expr)) return expr;
  if (has(expr, 'trait')) return readPath(ctx.traits, (expr as { trait: string }).trait);
  if (has(expr, 'property')) return readPath(ctx.properties, (expr as { property: string }).property);
  if (has(expr, 'now')) {
    const shift = (expr as { now: string | null }).now ?? '';
    const now = DateTime.fromMillis(ctx.nowMs, { zone: 'utc' });
    const moment = shift.trim() === '' ? now : now.plus(parseSignedDuration(shift));
    return moment.isValid ? new Date(moment.toMillis()).toISOString() : undefined;
  }
  return undefined;
}

function has(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}
