import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { DAY_MS } from '../language/dates';
import type { CountedEvent } from '../language/types';
import type { SegmentKeys } from './keys';

/**
 * Event counts for `count` conditions, as daily buckets per customer: one Redis hash per customer,
 * a field `<counter>:<day>` per counter and day with events. A counter is one distinct
 * `{ event, where }` of the segments' count conditions; its id is a hash of that definition, so
 * changing a condition's `where` starts a new count instead of reusing numbers counted under the
 * old filter. Only events some segment counts are kept (nothing else is written).
 */

/** A counter of the segments: what it counts, under its stable id. */
export interface Counter {
  id: string;
  counted: CountedEvent;
}

const ids = new WeakMap<CountedEvent, string>();

/** The counter id of a `count:` definition (10 hex digits of SHA-1 over its canonical JSON). */
export function counterId(counted: CountedEvent): string {
  let id = ids.get(counted);
  if (id === undefined) {
    id = createHash('sha1').update(canonicalJson(counted)).digest('hex').slice(0, 10);
    ids.set(counted, id);
  }
  return id;
}

/** JSON with object keys sorted at every depth: the same definition always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The calendar day of an instant in a zone, as days since 1970-01-01 (the bucket number). */
export function dayNumber(ms: number, zone: string): number {
  const local = DateTime.fromMillis(ms, { zone });
  return Math.round(Date.UTC(local.year, local.month - 1, local.day) / DAY_MS);
}

/** Whole days of a window (`7d` → 7); windows are whole days (checked when segments load). */
export function windowDays(withinMs: number): number {
  return Math.max(1, Math.ceil(withinMs / DAY_MS));
}

/**
 * A customer's buckets as read at one moment: `count(counter, days)` sums the buckets of today
 * and the `days - 1` days before it. `within: 7d` on a Wednesday counts that Wednesday and the six
 * days before; an event of the Wednesday before drops out at midnight (segments' time zone).
 */
export class CountSnapshot {
  private readonly byCounter = new Map<string, [day: number, n: number][]>();

  constructor(
    raw: Record<string, string>,
    readonly today: number,
  ) {
    for (const [field, value] of Object.entries(raw)) {
      const colon = field.lastIndexOf(':');
      if (colon <= 0) continue; // `_day`
      const day = Number(field.slice(colon + 1));
      const n = Number(value);
      if (!Number.isInteger(day) || !Number.isFinite(n)) continue;
      const id = field.slice(0, colon);
      let days = this.byCounter.get(id);
      if (!days) this.byCounter.set(id, (days = []));
      days.push([day, n]);
    }
  }

  static readonly EMPTY = new CountSnapshot({}, 0);

  count(counter: string, days: number): number {
    const oldest = this.today - days + 1;
    let total = 0;
    for (const [day, n] of this.byCounter.get(counter) ?? [])
      if (day >= oldest && day <= this.today) total += n;
    return total;
  }
}

/**
 * Counts one event into its buckets, once per messageId (a retried job counts nothing), then
 * prunes buckets older than the retention once a day (when `_day` is behind), and pushes the
 * hash's expiry out: a customer with no counted event for longer than the retention loses it.
 */
const RECORD = `
if KEYS[2] ~= '' then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
end
for i = 5, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
local today = tonumber(ARGV[3])
local pruned = tonumber(redis.call('HGET', KEYS[1], '_day') or '0')
if pruned < today then
  local oldest = today - tonumber(ARGV[4]) + 1
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    local day = tonumber(string.match(field, ':(%d+)$'))
    if day and day < oldest then redis.call('HDEL', KEYS[1], field) end
  end
  redis.call('HSET', KEYS[1], '_day', today)
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS: the loser's and the winner's buckets; ARGV: the winner's new TTL (seconds). */
const MOVE = `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return 0 end
for i = 1, #fields, 2 do
  if fields[i] ~= '_day' then redis.call('HINCRBY', KEYS[2], fields[i], fields[i + 1]) end
end
redis.call('DEL', KEYS[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1`;

/** As long as BullMQ may retry the event's job (failed jobs are kept a week). */
const COUNTED_TTL_SECONDS = 7 * 24 * 3600;

export class EventCounters {
  constructor(
    private readonly redis: Redis,
    private readonly keys: SegmentKeys,
    /** Buckets are kept this many days: the longest window of any count condition. */
    private readonly retentionDays: number,
    /** The zone whose midnight starts a bucket's day. */
    private readonly timeZone: string,
  ) {}

  /**
   * Adds the event (at its own time, never later than now) to each counter's bucket of that day.
   * An event older than the retention counts nowhere. True when it was counted now, false when the
   * messageId was counted before or there was nothing to count.
   */
  async record(
    customerId: string,
    messageId: string,
    eventMs: number,
    counters: readonly Counter[],
    nowMs: number,
  ): Promise<boolean> {
    if (counters.length === 0 || this.retentionDays <= 0) return false;
    const today = dayNumber(nowMs, this.timeZone);
    const day = Number.isFinite(eventMs) ? Math.min(dayNumber(eventMs, this.timeZone), today) : today;
    if (day < today - this.retentionDays + 1) return false;
    const fields = [...new Set(counters.map((c) => `${c.id}:${day}`))];
    const done = await this.redis.eval(
      RECORD,
      2,
      this.keys.eventCounts(customerId),
      this.keys.counted(messageId),
      COUNTED_TTL_SECONDS,
      (this.retentionDays + 1) * 86_400,
      today,
      this.retentionDays,
      ...fields,
    );
    return done === 1;
  }

  /**
   * Adds the loser's buckets to the winner's and deletes the loser's, in one step: running it
   * again finds nothing left to add (a merge participant may run twice).
   */
  async moveInto(loserId: string, winnerId: string): Promise<void> {
    if (this.retentionDays <= 0) return;
    await this.redis.eval(
      MOVE,
      2,
      this.keys.eventCounts(loserId),
      this.keys.eventCounts(winnerId),
      (this.retentionDays + 1) * 86_400,
    );
  }

  async read(customerId: string, nowMs: number): Promise<CountSnapshot> {
    const raw = await this.redis.hgetall(this.keys.eventCounts(customerId));
    return new CountSnapshot(raw, dayNumber(nowMs, this.timeZone));
  }

  today(nowMs: number): number {
    return dayNumber(nowMs, this.timeZone);
  }
}
