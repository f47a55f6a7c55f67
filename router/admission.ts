import type { Redis } from 'ioredis';
import type { RedisKeys } from '../customers/keys';
import type { Journey } from '../language/types';

/** Why an entry was refused. `running`: the customer is in the journey already (the event is still signalled). */
export type RefusalReason = 'running' | 'closed' | 'reentry' | 'limit' | 'cap';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['running', 'closed', 'reentry', 'limit', 'cap'];

export type Admission =
  /**
   * `repeat`: this very message admitted the customer before (a retried job). The router then
   * starts the run only if that earlier attempt did not (see route-event.ts).
   */
  { admitted: true; repeat?: boolean } | { admitted: false; reason: RefusalReason };

export interface AdmissionOptions {
  /** `rules.journeys.maxPerCustomer`: concurrent journeys (not capExempt) one customer may be in. */
  maxPerCustomer?: number;
  /**
   * Whether the journey takes new entries (published, not paused or stopped): the catalog's
   * answer. Without it every journey is open (static catalogs: tests, the simulator). `endAt` is
   * checked here in any case.
   */
  isOpen?: (journeyId: string) => boolean | Promise<boolean>;
}

/** A refusal is counted once per (journey, customer, message), however often the job is retried. */
const COUNTED_TTL_SECONDS = 7 * 24 * 3600;

/**
 * One atomic decision. KEYS: 1 the journey's active set, 2 the customer's (capped) journeys,
 * 3 the journey's last-entry hash, 4 the version's stats hash, 5 the refusal's counted marker,
 * 6… the capped-journey sets of the customer's aliases (ids merged into it).
 * ARGV: 1 customerId, 2 journeyId, 3 messageId, 4 now ms, 5 open (1/0), 6 reentry mode,
 * 7 cool-down ms, 8 limit (-1: none), 9 capExempt (1/0), 10 max per customer (-1: none), 11 TTL,
 * 12… the alias ids (same order as their KEYS).
 * The message check comes first: a retried job of the admitting event is admitted again without
 * touching any set (its run may have ended and been released since). An alias in the journey is
 * the customer in it (`running`); an alias's last entry counts for re-entry, its journeys for the cap.
 */
const ADMIT = `
local last = redis.call('HGET', KEYS[3], ARGV[1])
local lastAt
if last then
  local sp = string.find(last, ' ', 1, true)
  if sp then
    lastAt = tonumber(string.sub(last, 1, sp - 1))
    if string.sub(last, sp + 1) == ARGV[3] then return 'repeat' end
  end
end
local aliases = #ARGV - 11
for i = 1, aliases do
  local entry = redis.call('HGET', KEYS[3], ARGV[11 + i])
  local sp = entry and string.find(entry, ' ', 1, true)
  if sp then
    local at = tonumber(string.sub(entry, 1, sp - 1))
    if not lastAt or at > lastAt then lastAt = at end
  end
end
local function refuse(reason)
  if redis.call('SET', KEYS[5], reason, 'NX', 'EX', ARGV[11]) then
    redis.call('HINCRBY', KEYS[4], 'refused:' .. reason, 1)
  end
  return reason
end
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return refuse('running') end
for i = 1, aliases do
  if redis.call('SISMEMBER', KEYS[1], ARGV[11 + i]) == 1 then return refuse('running') end
end
if ARGV[5] ~= '1' then return refuse('closed') end
if lastAt then
  if ARGV[6] == 'never' then return refuse('reentry') end
  if ARGV[6] == 'after' and tonumber(ARGV[4]) - lastAt < tonumber(ARGV[7]) then return refuse('reentry') end
end
local limit = tonumber(ARGV[8])
if limit >= 0 and redis.call('SCARD', KEYS[1]) >= limit then return refuse('limit') end
local cap = tonumber(ARGV[10])
local function inJourneys()
  if aliases == 0 then return redis.call('SCARD', KEYS[2]) end
  local sets = {}
  for i = 2, 5 + aliases do if i == 2 or i > 5 then sets[#sets + 1] = KEYS[i] end end
  return #redis.call('SUNION', unpack(sets))
end
if ARGV[9] ~= '1' and cap >= 0 and inJourneys() >= cap then return refuse('cap') end
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[9] ~= '1' then redis.call('SADD', KEYS[2], ARGV[2]) end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4] .. ' ' .. ARGV[3])
return 'admitted'
`;

/**
 * Entry admission: whether a customer may enter a journey now. Decided in the router, before
 * signalWithStart, by one Lua script, so parallel router workers never admit past a limit:
 *
 * 1. the same message admitted them before (a retried job) → admitted again (`repeat`);
 * 2. already in the journey → `running` (the router still signals them the event);
 * 3. the journey is closed (not published, paused, stopped, or after `entry.endAt`) → `closed`;
 * 4. the re-entry rule (`never`; `after` a cool-down since their last entry) → `reentry`;
 * 5. `entry.limit` customers in it already → `limit`;
 * 6. in `maxPerCustomer` other journeys already (capExempt journeys neither count nor are capped) → `cap`;
 * 7. else admitted: added to the journey's active set (and the customer's capped set), entry time
 *    and messageId recorded.
 *
 * Refusals are counted in the version's stats hash as `refused:<reason>`. A run's end frees its
 * slot: the final recordProgress calls `release` (ActivityDeps.onRunEnded).
 */
export class EntryAdmission {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly opts: AdmissionOptions = {},
  ) {}

  /**
   * `aliases`: the ids merged into the customer (identity stitching): any of them in the journey
   * is the customer in it, their entries count for re-entry and their journeys for the cap.
   */
  async admit(
    journey: Journey,
    customerId: string,
    messageId: string,
    nowMs: number,
    aliases: readonly string[] = [],
  ): Promise<Admission> {
    const { entry } = journey;
    const endAt = entry.endAt === undefined ? NaN : Date.parse(entry.endAt);
    const open = (await (this.opts.isOpen?.(journey.id) ?? true)) && !(nowMs > endAt);
    const reentry = entry.reentry ?? { mode: 'always' };
    const max = this.opts.maxPerCustomer;
    const result = (await this.redis.eval(
      ADMIT,
      5 + aliases.length,
      this.keys.journeyActive(journey.id),
      this.keys.customerJourneys(customerId),
      this.keys.journeyEntries(journey.id),
      this.keys.journeyStats(journey.id, journey.version),
      this.keys.counted(`refused:${journey.id}:${customerId}:${messageId}`),
      ...aliases.map((alias) => this.keys.customerJourneys(alias)),
      customerId,
      journey.id,
      messageId,
      Math.floor(nowMs),
      open ? '1' : '0',
      reentry.mode,
      reentry.mode === 'after' ? reentry.cooldownMs : 0,
      entry.limit ?? -1,
      journey.capExempt ? '1' : '0',
      max === undefined ? -1 : max,
      COUNTED_TTL_SECONDS,
      ...aliases,
    )) as string;
    if (result === 'admitted') return { admitted: true };
    if (result === 'repeat') return { admitted: true, repeat: true };
    return { admitted: false, reason: result as RefusalReason };
  }

  /** The customer's run of the journey ended: frees its entry-limit slot and its place under the cap. */
  async release(journeyId: string, customerId: string): Promise<void> {
    await this.redis
      .multi()
      .srem(this.keys.journeyActive(journeyId), customerId)
      .srem(this.keys.customerJourneys(customerId), journeyId)
      .exec();
  }

  /** When the customer last entered the journey, and by which message (none: never). */
  async lastEntry(
    journeyId: string,
    customerId: string,
  ): Promise<{ atMs: number; messageId: string } | undefined> {
    const last = await this.redis.hget(this.keys.journeyEntries(journeyId), customerId);
    const space = last?.indexOf(' ') ?? -1;
    if (!last || space < 0) return undefined;
    return { atMs: Number(last.slice(0, space)), messageId: last.slice(space + 1) };
  }

  /** Those of `customerIds` in the journey right now (as admission counts them), in the given order. */
  async activeAmong(journeyId: string, customerIds: readonly string[]): Promise<string[]> {
    if (customerIds.length === 0) return [];
    const member = await this.redis.smismember(this.keys.journeyActive(journeyId), ...customerIds);
    return customerIds.filter((_, i) => member[i] === 1);
  }

  /** How many customers are in the journey right now (as admission counts them). */
  active(journeyId: string): Promise<number> {
    return this.redis.scard(this.keys.journeyActive(journeyId));
  }

  /** The journeys (not capExempt) the customer is in right now. */
  async journeysOf(customerId: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.customerJourneys(customerId))).sort();
  }
}
