import { DateTime } from 'luxon';
import { readPath } from './conditions';
import { DEFAULT_ZONE, isValidZone, parseClock, readDate, splitDays } from './dates';
import { WEEKDAYS, type WaitUntil } from './types';

/**
 * When a `wait` with `until:` ends. Pure and deterministic (the clock is passed in), so workflow
 * code calls it; luxon does the calendar and time-zone work.
 *
 * - `at` / `trait` fix a moment: a date alone is the start of that day in the customer's zone, a
 *   date-time is that instant. `offsetMs` moves it: whole days as calendar days in the zone (so
 *   `-30d` keeps the time of day across a DST change), the rest as exact time.
 * - `time` (HH:mm) then sets the time of day, in the customer's zone, on the day reached.
 * - `weekday` alone: the next of those days (today included) at `time`, else at the current time
 *   of day; `time` alone: the next such time (today's when it has not passed, else tomorrow's).
 * - A local time that does not exist (skipped by a DST change) moves forward by the gap; one that
 *   happens twice is the first.
 *
 * The moment returned may be in the past (a due date 30 days away, minus 30 days): the caller
 * ends the wait at once. `{ missing }` names a trait that is absent or not a date.
 */
export function resolveWaitUntil(
  until: WaitUntil,
  ctx: { nowMs: number; timeZone: string; traits: Record<string, unknown> },
): { atMs: number } | { missing: string } {
  const zone = isValidZone(ctx.timeZone) ? ctx.timeZone : DEFAULT_ZONE;
  const now = DateTime.fromMillis(ctx.nowMs, { zone });
  const clock = until.time !== undefined ? parseClock(until.time) : undefined;
  const at = (day: DateTime, [hour, minute]: [number, number]) =>
    day.set({ hour, minute, second: 0, millisecond: 0 });

  if (until.at !== undefined || until.trait !== undefined) {
    const source = until.trait !== undefined ? readPath(ctx.traits, until.trait) : until.at;
    const date = readDate(source, zone);
    if (!date) return { missing: until.trait ?? 'at' };
    let moment = date.time;
    if (until.offsetMs) moment = moment.plus(splitDays(until.offsetMs));
    if (clock) moment = at(moment.startOf('day'), clock);
    return { atMs: moment.toMillis() };
  }

  if (until.weekday !== undefined && until.weekday.length > 0) {
    const wanted = new Set(until.weekday.map((d) => WEEKDAYS.indexOf(d) + 1));
    const timeOfDay: [number, number] = clock ?? [now.hour, now.minute];
    for (let i = 0; i <= 7; i++) {
      const day = now.startOf('day').plus({ days: i });
      if (!wanted.has(day.weekday)) continue;
      const candidate = clock
        ? at(day, timeOfDay)
        : day.set({
            hour: now.hour,
            minute: now.minute,
            second: now.second,
            millisecond: now.millisecond,
          });
      if (candidate.toMillis() >= ctx.nowMs) return { atMs: candidate.toMillis() };
    }
    // Only reached for a weekday list that is empty or unknown: nothing to wait for.
    return { atMs: ctx.nowMs };
  }

  if (clock) {
    const today = at(now.startOf('day'), clock);
    if (today.toMillis() >= ctx.nowMs) return { atMs: today.toMillis() };
    return { atMs: at(now.startOf('day').plus({ days: 1 }), clock).toMillis() };
  }
  return { atMs: ctx.nowMs };
}

/** The customer's `timezone` trait when it names an IANA zone, else `fallback`. */
export function customerZone(traits: Record<string, unknown>, fallback = DEFAULT_ZONE): string {
  const trait = Object.prototype.hasOwnProperty.call(traits, 'timezone') ? traits.timezone : undefined;
  const zone = typeof trait === 'string' ? trait.trim() : '';
  return zone !== '' && isValidZone(zone) ? zone : fallback;
}
