import { DateTime } from 'luxon';

/**
 * Cell-level helpers shared by the row mappings: column names, numbers, dates. A problem is a
 * thrown RowError whose message is what the rejects file says about the row.
 */

/** A row that cannot be imported; the message names the column and what is wrong with it. */
export class RowError extends Error {
  override name = 'RowError';
}

/**
 * The lookup form of a column name: lower case, letters and digits only, so that `memberId`,
 * `member_id`, `Member ID` and `MEMBER-ID` are one column.
 */
export function columnKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** A cell's text, trimmed; undefined when it is empty, null or absent (empty cells set nothing). */
export function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = (typeof value === 'string' ? value : String(value)).trim();
  return s === '' ? undefined : s;
}

/**
 * A number as exports write it: `1299`, `1299.5`, `-20`, `1,299.00`, `¥1,299.00` (a leading
 * currency sign and thousands separators are dropped). JSON numbers pass as they are.
 */
export function amount(column: string, value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new RowError(`${column}: not a finite number`);
  }
  const s = text(value) ?? '';
  const cleaned = s
    .replace(/^[¥￥$€£]\s*/, '')
    .replace(
      /^([-+]?\d{1,3}(?:,\d{3})+)(\.\d+)?$/,
      (_, int: string, frac = '') => `${int.replace(/,/g, '')}${frac}`,
    );
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(cleaned))
    throw new RowError(`${column}: ${show(s)} is not a number`);
  return Number(cleaned);
}

/** A whole number ≥ 0. */
export function count(column: string, value: unknown): number {
  const n = amount(column, value);
  if (!Number.isInteger(n) || n < 0) throw new RowError(`${column}: ${show(value)} is not a whole number`);
  return n;
}

/** `2024-05-01`, `2024-05-01 10:00`, `2024-05-01T10:00:00.123+08:00`, `…Z`: the common forms, parsed without luxon. */
const COMMON =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** A zone's UTC offset (minutes) at one local hour, remembered: exports repeat the same hours. */
const offsets = new Map<string, number>();

function zoneOffset(zone: string, y: number, mo: number, d: number, h: number): number | undefined {
  const key = `${zone}|${y}-${mo}-${d}T${h}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    const dt = DateTime.fromObject({ year: y, month: mo, day: d, hour: h }, { zone });
    if (!dt.isValid) return undefined;
    offset = dt.offset;
    if (offsets.size > 100_000) offsets.clear();
    offsets.set(key, offset);
  }
  return offset;
}

/** The common forms as epoch ms; undefined for anything else (luxon then decides). */
function fastInstant(s: string, zone: string): number | undefined {
  const m = COMMON.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, sec = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) =>
    v === undefined ? undefined : Number(v),
  ) as number[];
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  if (mo! < 1 || mo! > 12 || d! < 1 || h > 23 || mi > 59 || sec > 59) return undefined;
  const utc = Date.UTC(y!, mo! - 1, d!, h, mi, sec, ms);
  if (new Date(utc).getUTCDate() !== d) return undefined; // 2024-02-30
  let offset: number | undefined;
  const tz = m[8];
  if (tz === undefined) offset = zoneOffset(zone, y!, mo!, d!, h);
  else if (tz.toUpperCase() === 'Z') offset = 0;
  else {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  return offset === undefined ? undefined : utc - offset * 60_000;
}

/**
 * A point in time as an ISO-8601 UTC string, the form the ingestion API stores. Accepted: ISO-8601
 * with or without an offset (`2024-05-01T12:00:00+08:00`, `2024-05-01T12:00`), SQL style
 * (`2024-05-01 12:00:00`), a date alone (midnight), and epoch seconds or milliseconds. Without an
 * offset the time is read in `zone` (exports of shop systems carry local times).
 */
export function instant(column: string, value: unknown, zone: string): string {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d{10}(\d{3})?$/.test(value.trim()))) {
    const n = Number(value);
    const ms = n < 1e11 ? n * 1000 : n; // 10 digits: seconds; 13: milliseconds
    const dt = DateTime.fromMillis(ms, { zone: 'utc' });
    if (dt.isValid) return dt.toISO()!;
  }
  const s = text(value);
  if (s === undefined) throw new RowError(`${column}: is required`);
  const normalised = s.replace(/\//g, '-');
  let ms = fastInstant(normalised, zone);
  if (ms === undefined) {
    // Everything else luxon reads (week dates, ordinal dates, single-digit months…): slower.
    let dt = DateTime.fromISO(normalised, { zone, setZone: false });
    if (!dt.isValid) dt = DateTime.fromSQL(normalised, { zone });
    if (dt.isValid) ms = dt.toMillis();
  }
  if (ms === undefined || Number.isNaN(ms))
    throw new RowError(`${column}: ${show(s)} is not a date and time (e.g. 2024-05-01T12:00:00+08:00)`);
  const year = new Date(ms).getUTCFullYear();
  if (year < 1900 || year > 2200) throw new RowError(`${column}: ${show(s)} is out of range`);
  return new Date(ms).toISOString();
}

/** A calendar date as `YYYY-MM-DD` (birthdays): `1990-05-01`, `1990/5/1`, `19900501`. */
export function calendarDate(column: string, value: unknown): string {
  const s = text(value) ?? '';
  const m = /^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$/.exec(s) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  const dt = m
    ? DateTime.fromObject({ year: +m[1]!, month: +m[2]!, day: +m[3]! }, { zone: 'utc' })
    : undefined;
  if (!dt?.isValid) throw new RowError(`${column}: ${show(s)} is not a date (YYYY-MM-DD)`);
  return dt.toISODate()!;
}

/** A JSON object or array cell (`items`, `properties`): parsed from text, or taken as it is. */
export function json(column: string, value: unknown, want: 'object' | 'array'): unknown {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new RowError(`${column}: not valid JSON`);
    }
  }
  const isArray = Array.isArray(parsed);
  const ok = want === 'array' ? isArray : typeof parsed === 'object' && parsed !== null && !isArray;
  if (!ok) throw new RowError(`${column}: must be a JSON ${want}`);
  return parsed;
}

/** A value quoted for a message, cut to a readable length. */
export function show(value: unknown): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}
