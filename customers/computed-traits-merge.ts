import type { Redis } from 'ioredis';
import type { ComputedTraits } from './computed-traits';
import type { RedisKeys } from './keys';
import type { MergeParticipant } from './merge';

/**
 * Moves the loser's orders into the winner and recomputes the winner's order traits from the
 * union, atomically. KEYS: winner profile, loser profile, winner orders, loser orders, winner
 * categories, loser categories. Recomputing from the order records (rather than adding the two
 * customers' totals) makes it exact and idempotent: an order both had reported (the same order id
 * under two identities) counts once, a second run finds the loser's orders gone and recomputes
 * the same, and whatever the profile merge copied into the winner's order traits is corrected.
 * Counts and spend are summed, first order is the earlier, last order and last seen the later,
 * the average recomputed, categories counted again over all orders.
 */
const MERGE_ORDERS = `
local winner, loser, winnerOrders, loserOrders, winnerCats, loserCats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local moved = redis.call('HGETALL', loserOrders)
for i = 1, #moved, 2 do redis.call('HSETNX', winnerOrders, moved[i], moved[i + 1]) end
redis.call('DEL', loserOrders, loserCats)

local changed = {}
local function decoded(key, name)
  local raw = redis.call('HGET', key, name)
  if not raw then return nil end
  local ok, value = pcall(cjson.decode, raw)
  if ok then return value end
  return nil
end
local function set(name, value)
  local encoded = cjson.encode(value)
  if redis.call('HGET', winner, name) ~= encoded then
    redis.call('HSET', winner, name, encoded)
    changed[#changed + 1] = name
  end
end

local seenW, seenL = decoded(winner, 'lastSeenAt'), decoded(loser, 'lastSeenAt')
if type(seenL) == 'string' and (type(seenW) ~= 'string' or seenL > seenW) then set('lastSeenAt', seenL) end

local records = redis.call('HGETALL', winnerOrders)
if #records == 0 then return changed end
local count, spend, first, last = 0, 0, nil, nil
local cats = {}
for i = 2, #records, 2 do
  local _, _, amount, at, list = string.find(records[i], '^([^|]*)|([^|]*)|[^|]*|[^|]*|(.*)$')
  count = count + 1
  spend = spend + (tonumber(amount) or 0)
  if at and at ~= '' then
    if not first or at < first then first = at end
    if not last or at > last then last = at end
  end
  local ok, names = pcall(cjson.decode, list or '[]')
  if ok and type(names) == 'table' then
    for _, c in ipairs(names) do cats[c] = (cats[c] or 0) + 1 end
  end
end
local function round2(x) return math.floor(x * 100 + 0.5) / 100 end
spend = round2(spend)
set('orderCount', count)
set('totalSpend', spend)
set('avgOrderValue', round2(spend / count))
if first then set('firstOrderAt', first) end
if last then set('lastOrderAt', last) end

redis.call('DEL', winnerCats)
local ranked = {}
for c, n in pairs(cats) do
  redis.call('HSET', winnerCats, c, n)
  ranked[#ranked + 1] = {c, n}
end
if #ranked > 0 then
  table.sort(ranked, function(a, b) if a[2] ~= b[2] then return a[2] > b[2] end return a[1] < b[1] end)
  local top = {}
  for i = 1, math.min(3, #ranked) do top[i] = ranked[i][1] end
  set('preferredCategories', top)
end
return changed`;

/**
 * The computed traits' part of a customer merge (customers/merge.ts): orders and last seen move
 * to the winner, its order traits are recomputed, then its RFM scores, group and lifecycle stage.
 */
export class ComputedTraitsMerge implements MergeParticipant {
  readonly name = 'computed-traits';

  constructor(private readonly deps: { redis: Redis; keys: RedisKeys; computed: ComputedTraits }) {}

  async mergeInto(loserId: string, winnerId: string): Promise<void> {
    const { redis, keys, computed } = this.deps;
    if (loserId === winnerId) return;
    const changed = (await redis.eval(
      MERGE_ORDERS,
      6,
      keys.profile(winnerId),
      keys.profile(loserId),
      keys.customerOrders(winnerId),
      keys.customerOrders(loserId),
      keys.customerCategories(winnerId),
      keys.customerCategories(loserId),
    )) as string[];
    // Always: the profile merge may have changed traits the group and stage rules read.
    await computed.refreshDerived(winnerId, [...changed, 'orderCount']);
  }
}
