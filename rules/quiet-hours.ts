import { DateTime, IANAZone } from 'luxon';
import type { QuietHours } from '../language/types';

/** A local-time window, `HH:mm` to `HH:mm`; the end is exclusive and may be on the next day. */
export interface QuietWindow {
  start: string;
  end: string;
}

/** What a send request says about quiet hours (the journey's window, the step's action). */
export interface TouchQuietHours {
  start?: string;
  end?: string;
  action?: 'delay' | 'skip';
}

export type QuietCheck = { inside: false } | { inside: true; endsAt: string };

/** The customer's zone: their `timezone` trait when it names an IANA zone, else `fallback`. */
export function customerTimezone(trait: unknown, fallback: string): string {
  if (typeof trait !== 'string') return fallback;
  const zone = trait.trim();
  return zone !== '' && IANAZone.isValidZone(zone) ? zone : fallback;
}

/**
 * Whether `now` falls inside the window in `timezone`, and if so the absolute time the window
 * ends (UTC ISO-8601). The end is computed on the local calendar (luxon), not by adding hours, so
 * a window crossing a DST change still ends at the local wall-clock time: 21:00–09:00 in New York
 * on the spring-forward night lasts 11 hours, not 12. A window whose start equals its end is empty.
 */
export function quietHoursAt(now: Date, timezone: string, window: QuietWindow): QuietCheck {
  const local = DateTime.fromJSDate(now, { zone: timezone });
  const minute = local.hour * 60 + local.minute;
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (start === end) return { inside: false };

  const crossesMidnight = start > end;
  const inside = crossesMidnight ? minute >= start || minute < end : minute >= start && minute < end;
  if (!inside) return { inside: false };

  // Before midnight in a window like 21:00–09:00, it ends tomorrow; otherwise today.
  const day = crossesMidnight && minute >= start ? local.plus({ days: 1 }) : local;
  const endsAt = day.set({ hour: Math.floor(end / 60), minute: end % 60, second: 0, millisecond: 0 });
  return { inside: true, endsAt: endsAt.toUTC().toISO()! };
}

/**
 * The quiet hours that apply to one touch: the journey's window, else the global one; the step's
 * action, else the window's. Null when neither the journey nor the global config has a window.
 */
export function effectiveQuietHours(
  global: QuietHours | false,
  touch: TouchQuietHours = {},
): QuietHours | null {
  const window = touch.start && touch.end ? { start: touch.start, end: touch.end } : global || null;
  if (!window) return null;
  const action = touch.action ?? (global ? global.action : 'delay');
  return { start: window.start, end: window.end, action };
}

function minutesOf(clock: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(clock);
  if (!match) throw new Error(`not a time of day (HH:mm): ${JSON.stringify(clock)}`);
  return Number(match[1]) * 60 + Number(match[2]);
}
