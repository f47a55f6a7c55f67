import { DateTime, Duration, IANAZone } from 'luxon';
import { DurationError, parseDuration } from './duration';

/**
 * Date arithmetic shared by conditions (`before`, `after`, `anniversaryWithin`), waits
 * (`until`) and values (`{ now: '-30d' }`). Pure and deterministic — the clock is always passed
 * in — so workflow code may import it (luxon only reads Intl, never the host's zone here: every
 * DateTime is built with an explicit zone).
 *
 * Reading a date value (a trait, a property, `at:`):
 * - a date alone (`1990-05-20`) is that calendar day in the customer's time zone (its start);
 * - a date-time with an offset or `Z` is that instant; without one it is read as UTC (as the
 *   ordering operators of conditions and the templates' `date` helper read it);
 * - a number, or text of digits, is epoch time: below 10^11 seconds, else milliseconds.
 */

/** The zone used when a customer has no valid `timezone` trait. */
export const DEFAULT_ZONE = 'Asia/Shanghai';

export const DAY_MS = 86_400_000;

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const DIGITS = /^\d+$/;

export function isValidZone(zone: unknown): zone is string {
  return typeof zone === 'string' && zone.trim() === zone && zone !== '' && IANAZone.isValidZone(zone);
}

/** A parsed date value: the instant, and whether it was written as a calendar day only. */
export interface DateValue {
  time: DateTime;
  dateOnly: boolean;
}

/** Reads a date value (see above) in `zone`; undefined when it is not a date. */
export function readDate(value: unknown, zone: string): DateValue | undefined {
  if (typeof value === 'number') return fromEpoch(value, zone);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (DIGITS.test(text)) return fromEpoch(Number(text), zone);
  const day = DATE_ONLY.exec(text);
  if (day) {
    const [year, month, date] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const time = DateTime.fromObject({ year, month, day: date }, { zone });
    // fromObject refuses 2023-02-29 (invalid), and keeps the day even where midnight is skipped.
    return time.isValid && time.day === date ? { time, dateOnly: true } : undefined;
  }
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const offset = m[8];
  const time = DateTime.fromISO(text.replace(' ', 'T'), {
    zone: offset ? undefined : 'utc',
    setZone: true,
  });
  if (!time.isValid) return undefined;
  return { time: time.setZone(zone), dateOnly: false };
}

function fromEpoch(n: number, zone: string): DateValue | undefined {
  if (!Number.isFinite(n)) return undefined;
  const ms = Math.abs(n) < 1e11 ? n * 1000 : n;
  const time = DateTime.fromMillis(ms, { zone });
  return time.isValid ? { time, dateOnly: false } : undefined;
}

/** Whether `text` is an ISO-8601 date or date-time this module reads (for the schema). */
export function isIsoDate(text: string): boolean {
  return readDate(text, 'utc') !== undefined && !DIGITS.test(text.trim());
}

/** Whether `text` is an ISO-8601 date-time with an explicit offset (`Z`, `+08:00`). */
export function hasOffset(text: string): boolean {
  const m = DATE_TIME.exec(text.trim());
  return m !== null && m[8] !== undefined;
}

/** Short-form units (duration.ts): largest first, each at most once. */
const SHORT_FORM =
  /^(?:(\d+(?:\.\d+)?)w)?(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/;

/**
 * A signed duration for date arithmetic: `-30d`, `+7d`, `-168h`, `-P1M`. In the short form, weeks
 * and days are calendar days (so `-30d` lands on the same time of day across a DST change) and
 * hours, minutes and seconds exact time; ISO-8601 forms keep their units, months and years
 * included (`-P1M`: the same day last month). Throws DurationError.
 */
export function parseSignedDuration(text: string): Duration {
  const trimmed = text.trim();
  const sign = trimmed.startsWith('-') ? -1 : 1;
  const body = trimmed.replace(/^[+-]/, '');
  if (body === '' || /^[+-]/.test(body)) {
    throw new DurationError(`"${text}" is not a duration; write one like \`-30d\`, \`+7d\` or \`-P1M\``);
  }
  let duration: Duration;
  if (/^[pP]/.test(body)) {
    const iso = Duration.fromISO(body.toUpperCase());
    const parts = iso.isValid ? iso.toObject() : undefined;
    if (!parts || Object.keys(parts).length === 0 || Object.values(parts).some((v) => (v ?? 0) < 0)) {
      throw new DurationError(`"${body}" is not an ISO-8601 duration (e.g. \`P1M\`, \`P7D\`, \`PT12H\`)`);
    }
    duration = iso;
  } else {
    parseDuration(body); // the same checks and messages as every other duration
    const m = SHORT_FORM.exec(body)!;
    const [w, d, h, min, sec] = [1, 2, 3, 4, 5].map((i) => Number(m[i] ?? 0));
    const days = w! * 7 + d!;
    const whole = Math.trunc(days);
    const exact = (days - whole) * DAY_MS + h! * 3_600_000 + min! * 60_000 + sec! * 1_000;
    duration = Duration.fromObject({ days: whole, milliseconds: Math.round(exact) });
  }
  return sign < 0 ? duration.negate() : duration;
}

/** Milliseconds as whole calendar days plus the exact rest (signed). */
export function splitDays(ms: number): Duration {
  const days = Math.trunc(ms / DAY_MS);
  const rest = ms - days * DAY_MS;
  return Duration.fromObject({ days, milliseconds: rest });
}

/** A signed duration in milliseconds (for `offset:`); calendar units are refused. */
export function signedDurationMs(text: string): number {
  const trimmed = text.trim();
  const sign = trimmed.startsWith('-') ? -1 : 1;
  const body = trimmed.replace(/^[+-]/, '');
  if (body === '' || /^[+-]/.test(body)) {
    throw new DurationError(`"${text}" is not a duration; write one like \`-30d\` or \`+7d\``);
  }
  return sign * parseDuration(body);
}

/** Recent answers of resolveTimeRef for signed durations: `<ref>|<now>|<zone>` → instant. */
const shifted = new Map<string, number | undefined>();

/**
 * The instant a TimeRef stands for: `now`, an ISO date (the start of that day in `zone`) or
 * date-time, or a signed duration from now, applied in `zone` (calendar days and months).
 * Undefined when the text is none of these.
 */
export function resolveTimeRef(ref: string, nowMs: number, zone: string): number | undefined {
  const text = ref.trim();
  if (text.toLowerCase() === 'now') return nowMs;
  if (/^[+-]/.test(text)) {
    // Date math in luxon costs tens of microseconds; a segment pass asks the same `-90d` at the
    // same moment for every customer, so the last answers are kept (pure: same input, same answer).
    const key = `${text}|${nowMs}|${zone}`;
    if (shifted.has(key)) return shifted.get(key);
    let at: number | undefined;
    try {
      at = DateTime.fromMillis(nowMs, { zone }).plus(parseSignedDuration(text)).toMillis();
    } catch {
      at = undefined;
    }
    if (shifted.size >= 256) shifted.clear();
    shifted.set(key, at);
    return at;
  }
  if (DIGITS.test(text)) return undefined;
  return readDate(text, zone)?.time.toMillis();
}

/** Why `ref` is not a TimeRef, or undefined when it is one (for the schema). */
export function timeRefProblem(ref: string): string | undefined {
  const text = ref.trim();
  if (text.toLowerCase() === 'now') return undefined;
  if (/^[+-]/.test(text)) {
    try {
      parseSignedDuration(text);
      return undefined;
    } catch (err) {
      if (err instanceof DurationError) return err.message;
      throw err;
    }
  }
  if (isIsoDate(text)) return undefined;
  if (/^(\d+(\.\d+)?[wdhms])+$/.test(text) || /^[pP]/.test(text)) {
    return `"${ref}" needs a sign: \`-${text}\` (in the past) or \`+${text}\` (in the future)`;
  }
  return `"${ref}" is not a time: write an ISO date (\`2026-01-31\`), a date-time with offset, \`now\`, or a signed duration such as \`-90d\``;
}

/** `HH:mm` → [hour, minute]. */
export function parseClock(text: string): [number, number] {
  const [h = '0', m = '0'] = text.split(':');
  return [Number(h), Number(m)];
}

/**
 * Whole calendar days from the start of `today`'s day to the next anniversary (month and day) of
 * `date`, in `zone`: 0 when it is today. A 29 February is kept on 28 February in other years.
 */
export function daysToAnniversary(date: DateTime, nowMs: number, zone: string): number {
  const today = DateTime.fromMillis(nowMs, { zone }).startOf('day');
  const local = date.setZone(zone);
  const on = (year: number) => {
    const feb29 = local.month === 2 && local.day === 29;
    const day = feb29 && !DateTime.fromObject({ year }, { zone }).isInLeapYear ? 28 : local.day;
    return DateTime.fromObject({ year, month: local.month, day }, { zone }).startOf('day');
  };
  let next = on(today.year);
  if (next < today) next = on(today.year + 1);
  return Math.round(next.diff(today, 'days').days);
}
