import { Duration } from 'luxon';

/**
 * Journey durations, written by marketers either as ISO-8601 (`PT2H`, `P7D`, `P1DT12H`) or in a
 * short form (`90s`, `15m`, `24h`, `7d`, `2w`, `1d12h`). Loader-only: it pulls in luxon, and
 * workflows receive plain milliseconds instead.
 *
 * A duration is exact elapsed time: a day is 24 hours and a week 7 days. Months and years are
 * refused because they have no fixed length (write `30d` or `P30D` instead).
 */

export class DurationError extends Error {
  override name = 'DurationError';
}

const MS_PER_UNIT = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;

// Units largest first, each at most once: `1d12h` is fine, `12h1d` and `1h1h` are not.
const SHORT_FORM =
  /^(?:(\d+(?:\.\d+)?)w)?(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/;

const EXAMPLES = 'e.g. `30m`, `2h`, `7d`, `1d12h` or ISO-8601 `PT2H`, `P7D`';

/** Parses a duration to whole milliseconds (zero allowed; negative, empty or calendar units throw). */
export function parseDuration(input: string): number {
  const text = input.trim();
  if (text === '') throw new DurationError(`empty duration; write one like ${EXAMPLES}`);
  const ms = /^[+-]?[pP]/.test(text) ? parseIso(text) : parseShort(text);
  if (!Number.isFinite(ms) || ms > Number.MAX_SAFE_INTEGER) {
    throw new DurationError(`duration "${input}" is too long`);
  }
  return Math.round(ms);
}

function parseShort(text: string): number {
  const match = SHORT_FORM.exec(text);
  if (!match || match.slice(1).every((part) => part === undefined)) {
    throw new DurationError(
      `"${text}" is not a duration; use a number with a unit w, d, h, m or s, largest unit first (${EXAMPLES})`,
    );
  }
  const units = Object.keys(MS_PER_UNIT) as (keyof typeof MS_PER_UNIT)[];
  return units.reduce((total, unit, i) => total + Number(match[i + 1] ?? 0) * MS_PER_UNIT[unit], 0);
}

function parseIso(text: string): number {
  if (text.startsWith('-')) throw new DurationError(`duration "${text}" is negative`);
  const duration = Duration.fromISO(text.replace(/^\+/, '').toUpperCase());
  const parts = duration.isValid ? duration.toObject() : undefined;
  if (!parts || Object.keys(parts).length === 0) {
    throw new DurationError(`"${text}" is not an ISO-8601 duration (${EXAMPLES})`);
  }
  if (parts.years || parts.months || parts.quarters) {
    throw new DurationError(
      `"${text}" uses years or months, which have no fixed length; write days or weeks instead (e.g. P30D)`,
    );
  }
  const ms = duration.as('milliseconds');
  if (ms < 0) throw new DurationError(`duration "${text}" is negative`);
  return ms;
}

/** Formats milliseconds back to the short form, for messages and diagrams (`129600000` → `1d12h`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of Object.entries(MS_PER_UNIT)) {
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}
