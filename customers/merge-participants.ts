import type { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { CHANNELS } from '../language/types';
import type { RedisKeys } from './keys';
import type { MergeParticipant } from './merge';
import type { ProfileStore } from './profiles';

/**
 * The merge participants for the data Touchpoint keeps per customer (customers/merge.ts): each
 * moves one kind of data from the loser to the winner and leaves nothing under the loser id, so
 * that running it again moves nothing more. Computed traits (profiles) and segment membership
 * (segmentation) register their own.
 */

/**
 * Traits: the winner's value wins, the loser's fills the gaps; tags: the union. Goes through the
 * ProfileStore, so encryption at rest and the phone index stay right. The loser's profile is
 * emptied only once every participant has merged (removeLoser): the computed traits' merge reads
 * it. Gap-filling is not a traitChanged entry: the person's traits did not change, only their records.
 */
export function profileParticipant(profiles: ProfileStore): MergeParticipant {
  return {
    name: 'profile',
    async mergeInto(loserId, winnerId) {
      const [loser, winner, tags] = await Promise.all([
        profiles.get(loserId),
        profiles.get(winnerId),
        profiles.tags(loserId),
      ]);
      const gaps: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(loser)) {
        if (!Object.prototype.hasOwnProperty.call(winner, name))
          Object.defineProperty(gaps, name, { value, enumerable: true, writable: true });
      }
      if (Object.keys(gaps).length > 0) await profiles.merge(winnerId, gaps);
      if (tags.length > 0) await profiles.updateTags(winnerId, { add: tags });
    },
    async removeLoser(loserId) {
      const [loser, tags] = await Promise.all([profiles.get(loserId), profiles.tags(loserId)]);
      const names = Object.keys(loser);
      // Through merge (null removes), so the loser leaves the phone index too.
      if (names.length > 0) await profiles.merge(loserId, Object.fromEntries(names.map((n) => [n, null])));
      if (tags.length > 0) await profiles.updateTags(loserId, { remove: tags });
    },
  };
}

/**
 * Consent: per channel and topic, an opt-out on either side wins (the person said stop, under
 * whichever id); else the later record. Histories join, in time order. One script: moved all
 * or not at all, and a second run finds the loser's consent gone.
 */
const MERGE_CONSENT = `
local loser = redis.call('HGETALL', KEYS[1])
for i = 1, #loser, 2 do
  local field, theirs = loser[i], loser[i + 1]
  local ours = redis.call('HGET', KEYS[2], field)
  local take = not ours
  if ours then
    local a, b = cjson.decode(ours), cjson.decode(theirs)
    if b.status == 'revoked' and a.status ~= 'revoked' then take = true
    elseif b.status == a.status and b.at > a.at then take = true end
  end
  if take then redis.call('HSET', KEYS[2], field, theirs) end
end
local moved = redis.call('LRANGE', KEYS[3], 0, -1)
if #moved > 0 then
  local all = {}
  for i, raw in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do all[#all + 1] = { raw = raw, n = i } end
  for i, raw in ipairs(moved) do all[#all + 1] = { raw = raw, n = 100000000 + i } end
  for _, e in ipairs(all) do e.at = cjson.decode(e.raw).at or '' end
  table.sort(all, function(x, y) if x.at ~= y.at then return x.at < y.at end return x.n < y.n end)
  redis.call('DEL', KEYS[4])
  for _, e in ipairs(all) do redis.call('RPUSH', KEYS[4], e.raw) end
end
redis.call('DEL', KEYS[1], KEYS[3])
return #loser / 2`;

export function consentParticipant(redis: Redis, keys: RedisKeys): MergeParticipant {
  return {
    name: 'consent',
    async mergeInto(loserId, winnerId) {
      await redis.eval(
        MERGE_CONSENT,
        4,
        keys.consent(loserId),
        keys.consent(winnerId),
        keys.consentHistory(loserId),
        keys.consentHistory(winnerId),
      );
    },
  };
}

/**
 * Frequency-cap counters: summed (the person was touched that often, under either id), the later
 * expiry kept. The counters that can exist are known (rules/frequency-caps.ts: per channel and
 * overall, per local day and ISO week, kept 3 and 9 days), so they are listed rather than scanned.
 */
const MERGE_COUNTERS = `
local moved = 0
for i = 1, #KEYS, 2 do
  local n = redis.call('GET', KEYS[i])
  if n then
    local ttl = redis.call('PTTL', KEYS[i])
    redis.call('INCRBY', KEYS[i + 1], n)
    local ours = redis.call('PTTL', KEYS[i + 1])
    if ttl > 0 and (ours < 0 or ttl > ours) then redis.call('PEXPIRE', KEYS[i + 1], ttl) end
    redis.call('DEL', KEYS[i])
    moved = moved + 1
  end
end
return moved`;

/** The periods a cap counter alive now can be for: local days and ISO weeks around today, in any zone. */
export function capPeriods(now: Date): string[] {
  const periods = new Set<string>();
  const today = DateTime.fromJSDate(now, { zone: 'utc' });
  for (let d = -4; d <= 2; d++) periods.add(`d:${today.plus({ days: d }).toISODate()}`);
  for (let d = -10; d <= 2; d++) periods.add(`w:${today.plus({ days: d }).toFormat("kkkk-'W'WW")}`);
  return [...periods];
}

export function capsParticipant(redis: Redis, keys: RedisKeys, now = () => new Date()): MergeParticipant {
  return {
    name: 'frequency-caps',
    async mergeInto(loserId, winnerId) {
      const pairs: string[] = [];
      const periods = capPeriods(now());
      for (const scope of [...CHANNELS, 'all']) {
        for (const period of periods) {
          pairs.push(keys.capCounter(loserId, scope, period), keys.capCounter(winnerId, scope, period));
        }
      }
      await redis.eval(MERGE_COUNTERS, pairs.length, ...pairs);
    },
  };
}

/** The touch history index: the union (each touch keeps its time), the loser's index removed. */
export function touchesParticipant(redis: Redis, keys: RedisKeys): MergeParticipant {
  return {
    name: 'touches',
    async mergeInto(loserId, winnerId) {
      const winner = keys.customerTouches(winnerId);
      const loser = keys.customerTouches(loserId);
      await redis.multi().zunionstore(winner, 2, winner, loser, 'AGGREGATE', 'MIN').del(loser).exec();
    },
  };
}
