import { DateTime, type DateTimeFormatOptions } from 'luxon';
import { renderSettings, splitArgs } from './render-settings';

/** Named formats, localised by Intl: examples for 2024-05-01 10:30 in zh-CN / en. */
export const DATE_FORMATS: Record<string, DateTimeFormatOptions> = {
  /** `2024/5/1` / `5/1/2024` */
  short: DateTime.DATE_SHORT,
  /** `2024年5月1日` / `May 1, 2024` */
  long: DateTime.DATE_FULL,
  /** `10:30` / `10:30 AM` */
  time: DateTime.TIME_SIMPLE,
  /** `2024年5月1日 10:30` / `May 1, 2024 at 10:30 AM` */
  datetime: { ...DateTime.DATE_FULL, ...DateTime.TIME_SIMPLE },
};

export const DEFAULT_DATE_FORMAT = 'long';

/**
 * `{{date coupon.expiresAt}}`, `{{date event.startsAt "datetime"}}`, `{{date value "M月d日 HH:mm"}}`.
 *
 * The value is an ISO-8601 text, a Date, or epoch time as a number or digits (below 10^11:
 * seconds, else milliseconds). It is shown in the customer's time zone (the `timezone` trait,
 * default Asia/Shanghai; `zone="Europe/Berlin"` overrides) and the template's locale. A date-time
 * without an offset is read as UTC, as conditions read it; a date alone (`2024-05-01`) is that
 * calendar day wherever the customer is. The format is `short`, `long` (the default), `time`,
 * `datetime`, or luxon tokens (https://moment.github.io/luxon/#/formatting?id=table-of-tokens).
 * A missing or unreadable value renders as empty text.
 */
export function dateHelper(...args: unknown[]): string {
  const { values, options } = splitArgs(args);
  const [value, format] = values;
  const settings = renderSettings(options);
  const zone = typeof options.hash?.zone === 'string' ? options.hash.zone : settings.timeZone;
  const time = toDateTime(value, zone);
  if (!time?.isValid) return '';
  const local = time.setLocale(settings.locale);
  const name = typeof format === 'string' && format !== '' ? format : DEFAULT_DATE_FORMAT;
  const preset = Object.prototype.hasOwnProperty.call(DATE_FORMATS, name) ? DATE_FORMATS[name] : undefined;
  return preset ? local.toLocaleString(preset) : local.toFormat(name);
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DIGITS = /^\d+$/;

function toDateTime(value: unknown, zone: string): DateTime | undefined {
  if (value instanceof Date) return DateTime.fromJSDate(value, { zone });
  if (typeof value === 'number') return fromEpoch(value, zone);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (DIGITS.test(text)) return fromEpoch(Number(text), zone);
  if (DATE_ONLY.test(text)) return DateTime.fromISO(text, { zone });
  return DateTime.fromISO(text, { zone: 'utc' }).setZone(zone);
}

function fromEpoch(n: number, zone: string): DateTime | undefined {
  if (!Number.isFinite(n)) return undefined;
  const ms = Math.abs(n) < 1e11 ? n * 1000 : n;
  return DateTime.fromMillis(ms, { zone });
}
