import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { readPath } from '../language/conditions';
import type { JourneyEvent } from '../language/types';
import type { ComputedTraitsUpdater } from '../router/customer-pipeline';
import { writeDerivedTraits } from './derived-traits';
import type { RedisKeys } from './keys';
import { traitsReadBy } from './lifecycle-stage';
import type { ProfileStore } from './profiles';
import type { ProfilesConfig } from './profiles-config';
import { derivationInputs, derivedDiffer, deriveTraits, type RfmModelStore } from './rfm';

/**
 * Order traits, in the bit order the order record keeps what its event changed (a retried job
 * reports the same changes again).
 */
const ORDER_TRAITS = [
  'orderCount',
  'totalSpend',
  'avgOrderValue',
  'firstOrderAt',
  'lastOrderAt',
  'preferredCategories',
] as const;

/**
 * One track event into the computed traits, atomically. KEYS: profile, orders, categories.
 * ARGV: seen time ('' = not a "seen" event), order key ('' = not an order), amount, order time
 * (ISO, UTC, so text order is time order), message tag, categories (JSON list).
 *
 * An order key already in the orders hash is the same order again: counted once. When the
 * message that counted it comes back (a retried job), the changes it made are reported again,
 * from the bit mask kept in the order record `<amount>|<time>|<message tag>|<mask>|<categories>`.
 */
const ON_TRACK = `
local profile, orders, categories = KEYS[1], KEYS[2], KEYS[3]
local seenAt, orderKey, amount, orderAt, tag, cats = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local changed = {}
local names = {'orderCount', 'totalSpend', 'avgOrderValue', 'firstOrderAt', 'lastOrderAt', 'preferredCategories'}

local function decoded(name)
  local raw = redis.call('HGET', profile, name)
  if not raw then return nil end
  local ok, value = pcall(cjson.decode, raw)
  if ok then return value end
  return nil
end

if seenAt ~= '' then
  local last = decoded('lastSeenAt')
  if type(last) ~= 'string' or last < seenAt then
    redis.call('HSET', profile, 'lastSeenAt', cjson.encode(seenAt))
    changed[#changed + 1] = 'lastSeenAt'
  end
end
if orderKey == '' then return changed end

local existing = redis.call('HGET', orders, orderKey)
if existing then
  local _, _, storedTag, mask = string.find(existing, '^[^|]*|[^|]*|([^|]*)|(%d+)|')
  if storedTag == tag then
    mask = tonumber(mask)
    for i = 1, #names do
      if math.floor(mask / 2 ^ (i - 1)) % 2 == 1 then changed[#changed + 1] = names[i] end
    end
  end
  return changed
end

local mask = 0
local function set(i, value)
  local encoded = cjson.encode(value)
  if redis.call('HGET', profile, names[i]) ~= encoded then
    redis.call('HSET', profile, names[i], encoded)
    mask = mask + 2 ^ (i - 1)
  end
end
local function round2(x) return math.floor(x * 100 + 0.5) / 100 end

local count = (tonumber(decoded('orderCount')) or 0) + 1
local spend = round2((tonumber(decoded('totalSpend')) or 0) + amount)
set(1, count)
set(2, spend)
set(3, round2(spend / count))
local first = decoded('firstOrderAt')
if type(first) ~= 'string' or orderAt < first then set(4, orderAt) end
local last = decoded('lastOrderAt')
if type(last) ~= 'string' or orderAt > last then set(5, orderAt) end

local list = cjson.decode(cats)
if #list > 0 then
  for _, c in ipairs(list) do redis.call('HINCRBY', categories, c, 1) end
  local all = redis.call('HGETALL', categories)
  local ranked = {}
  for i = 1, #all, 2 do ranked[#ranked + 1] = {all[i], tonumber(all[i + 1])} end
  table.sort(ranked, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] < b[1] end)
  local top = {}
  for i = 1, math.min(3, #ranked) do top[i] = ranked[i][1] end
  set(6, top)
end

redis.call('HSET', orders, orderKey, table.concat({ARGV[3], orderAt, tag, tostring(mask), cats}, '|'))
for i = 1, #names do
  if math.floor(mask / 2 ^ (i - 1)) % 2 == 1 then changed[#changed + 1] = names[i] end
end
return changed`;

/** Event names that are Touchpoint's own doings, not the customer's: they do not count as "seen". */
const INTERNAL_PREFIXES = ['message_', 'segment_', 'journey_'];

/** An event of the customer's (not internal). `internal`: the router knows it was queued by Touchpoint. */
export function countsAsSeen(event: Pick<JourneyEvent, 'event'>, internal = false): boolean {
  return !internal && !INTERNAL_PREFIXES.some((p) => event.event.startsWith(p));
}

const MAX_CATEGORIES_PER_ORDER = 20;

export interface ComputedTraitsDeps {
  redis: Redis;
  keys: RedisKeys;
  profiles: ProfileStore;
  config: ProfilesConfig;
  rfm: RfmModelStore;
  /** Clock (tests); default Date.now. Event times later than it are taken as now. */
  now?: () => number;
}

/**
 * Computed traits from track events (docs/profiles.md): orderCount, totalSpend, avgOrderValue,
 * firstOrderAt, lastOrderAt and preferredCategories (top 3) from order events; lastSeenAt from
 * any event of the customer's; then, when one of them changed, the RFM scores and group (against
 * the last RFM model) and the lifecycle stage. Idempotent per messageId and per order id.
 */
export class ComputedTraits implements ComputedTraitsUpdater {
  private readonly orderEvents: Set<string>;
  /** Traits the group and stage rules read, besides the computed ones. */
  private readonly rulesRead: Set<string>;
  /** What deriving reads of a profile. */
  private readonly inputs: { fields: string[]; tags: boolean };

  constructor(private readonly deps: ComputedTraitsDeps) {
    this.orderEvents = new Set(deps.config.orders.event);
    this.rulesRead = traitsReadBy([
      ...deps.config.rfm.groups.map((g) => g.when),
      ...deps.config.lifecycle.stages.map((s) => s.when),
    ]);
    this.inputs = derivationInputs(deps.config);
  }

  /** The names of the computed traits that changed (RFM and lifecycle ones included). */
  async onTrack(customerId: string, event: JourneyEvent, { internal = false } = {}): Promise<string[]> {
    const nowMs = this.now();
    const seen = countsAsSeen(event, internal);
    const order = this.orderEvents.has(event.event) ? this.order(event, nowMs) : undefined;
    if (!seen && !order) return [];
    const { keys } = this.deps;
    const changed = (await this.deps.redis.eval(
      ON_TRACK,
      3,
      keys.profile(customerId),
      keys.customerOrders(customerId),
      keys.customerCategories(customerId),
      seen ? isoOf(event.timestamp, nowMs) : '',
      order?.key ?? '',
      String(order?.amount ?? 0),
      order?.at ?? '',
      messageTag(event.messageId),
      JSON.stringify(order?.categories ?? []),
    )) as string[];
    if (changed.length === 0) return [];
    return [...changed, ...(await this.refreshDerived(customerId, changed, nowMs))];
  }

  /**
   * Rescores RFM, group and stage for one customer when a trait they read changed; returns the
   * derived traits that changed. Also used after a merge.
   */
  async refreshDerived(
    customerId: string,
    changed: readonly string[],
    nowMs = this.now(),
  ): Promise<string[]> {
    const relevant = changed.some(
      (name) => (ORDER_TRAITS as readonly string[]).includes(name) || this.rulesRead.has(name),
    );
    if (!relevant) return [];
    const [[traits], scorer] = await Promise.all([
      this.deps.profiles.getManyFields([customerId], this.inputs.fields, { tags: this.inputs.tags }),
      this.deps.rfm.scorer(nowMs),
    ]);
    const derived = deriveTraits(traits!, scorer, this.deps.config, nowMs);
    // Most events change nothing derived: no write then. A write sets only what still differs.
    if (!derivedDiffer(traits!, derived)) return [];
    return writeDerivedTraits(this.deps.redis, this.deps.keys.profile(customerId), derived);
  }

  /** The order an event reports, per config `profiles.orders`. */
  private order(event: JourneyEvent, nowMs: number) {
    const { orders } = this.deps.config;
    const props = event.properties ?? {};
    const id = readPath(props, orders.orderId);
    const key =
      (typeof id === 'string' && id.trim() !== '') || typeof id === 'number'
        ? `id:${String(id).trim()}`
        : `msg:${event.messageId}`;
    let amount = 0;
    for (const path of orders.amount) {
      const value = readPath(props, path);
      const n =
        typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
      if (Number.isFinite(n)) {
        // A refund or a bad value does not lower the spend: it counts as an order of 0.
        amount = Math.max(0, n);
        break;
      }
    }
    const raw = readPath(props, orders.category);
    const categories = [
      ...new Set(
        (Array.isArray(raw) ? raw : [raw])
          .filter((c): c is string | number => typeof c === 'string' || typeof c === 'number')
          .map((c) => String(c).trim().slice(0, 100))
          .filter(Boolean),
      ),
    ].slice(0, MAX_CATEGORIES_PER_ORDER);
    return { key, amount, at: isoOf(event.timestamp, nowMs), categories };
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }
}

/** The event's time as UTC ISO text (so text order is time order); a bad or future time is now. */
function isoOf(timestamp: string, nowMs: number): string {
  const ms = Date.parse(timestamp);
  return new Date(Number.isNaN(ms) || ms > nowMs ? nowMs : ms).toISOString();
}

/** A short tag of the messageId for the order record (tells a retried job from a second report). */
function messageTag(messageId: string): string {
  return createHash('sha256').update(messageId).digest('base64url').slice(0, 10);
}
