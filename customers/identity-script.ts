/**
 * The identity decision for one event, atomically (one Lua script, so parallel router workers
 * never link one identifier twice or merge the same customers twice). customers/identity.ts
 * explains the rules; this is their code. Keys are built from the identity base (RedisKeys
 * .identityBase(), layout documented there) because which keys it touches depends on what it
 * reads: fine on a single Redis (what Touchpoint runs on); a cluster would need hash tags.
 *
 * ARGV:
 *  1 identity base, 2 counted-marker base (RedisKeys.counted('')), 3 now (ms), 4 messageId,
 *  5 identifiers (JSON, priority order): [{ t: type, f: `<type>:<value>` as indexed, s: sealed
 *    plaintext or '', p: 1 if it names a person, n: the id a new customer named after it gets,
 *    r: its rank in the naming order, u: 1 for the event's userId }],
 *  6 maxCustomersPerIdentifier, 7 per-type limits (JSON type → n), 8 conflict marker TTL (s),
 *  9 how many conflicts a customer's list and the installation's log keep.
 *
 * Returns JSON: { customer, created, merged: [loser ids], linked: n, conflicts: [kinds],
 *   pending: [merge records (JSON strings) of this customer whose data has not moved yet] }.
 */
export const RESOLVE = `
local base, countedBase = ARGV[1], ARGV[2]
local now = tonumber(ARGV[3])
local messageId = ARGV[4]
local ids = cjson.decode(ARGV[5])
local maxCustomers = tonumber(ARGV[6])
local limits = cjson.decode(ARGV[7])
local conflictTtl = ARGV[8]
local keep = tonumber(ARGV[9])

local function canonical(id)
  return redis.call('HGET', base .. 'aliases', id) or id
end

-- What we know of each customer involved: its record and, when needed, its identifiers per type.
local info = {}
local function customer(id)
  local c = info[id]
  if c then return c end
  local meta = redis.call('HMGET', base .. 'meta:' .. id, 'createdAt', 'origin', 'persons')
  c = { id = id, exists = meta[1] ~= false, createdAt = tonumber(meta[1]) or now,
        origin = meta[2] or '', persons = tonumber(meta[3]) or 0 }
  info[id] = c
  return c
end
local function counts(id)
  local c = customer(id)
  if not c.counts then
    c.counts = {}
    if c.exists then
      for _, f in ipairs(redis.call('HKEYS', base .. 'ids:' .. id)) do
        local t = string.match(f, '^([^:]+):')
        if t then c.counts[t] = (c.counts[t] or 0) + 1 end
      end
    end
  end
  return c.counts
end

-- Who holds each identifier now. An unheld userId stands for the customer named after it: a
-- userId is always a customer of its own (or an alias of one), so other systems can name
-- customers by userId.
for _, id in ipairs(ids) do
  local h = redis.call('HGET', base .. 'id:' .. id.f, 'c')
  if h then
    id.holder = canonical(h)
    id.linked = true
  elseif id.u == 1 then
    id.holder = canonical(id.n)
    local c = customer(id.holder)
    if not c.exists then
      c.origin = 'userId'
      c.virtualUser = true
    end
  end
end

local active = {}
for i = 1, #ids do active[i] = true end

-- How many customers known by a personal identifier a customer stands for (merges add up).
local function persons(id)
  local c = customer(id)
  if c.exists then return c.persons end
  if c.virtualUser then return 1 end -- named after a userId: that names a person
  return 0
end

-- The customers the active identifiers point at, the anchor (the holder of the highest-priority
-- active identifier; nil: a new customer), and what a link-and-merge would break.
local function decide()
  local holders, seen, first = {}, {}, nil
  for i, id in ipairs(ids) do
    if active[i] then
      if not first then first = i end
      if id.holder and not seen[id.holder] then
        seen[id.holder] = true
        holders[#holders + 1] = id.holder
      end
    end
  end
  local violation = { persons = false, types = {}, any = false, limit = 0 }
  if #holders >= 2 then
    local total = 0
    for _, h in ipairs(holders) do total = total + persons(h) end
    if total > maxCustomers then
      violation.persons = true
      violation.any = true
      violation.limit = maxCustomers
    end
  end
  local after, most = {}, {}
  for _, h in ipairs(holders) do
    for t, n in pairs(counts(h)) do
      after[t] = (after[t] or 0) + n
      if n > (most[t] or 0) then most[t] = n end
    end
  end
  for i, id in ipairs(ids) do
    if active[i] and not id.linked then after[id.t] = (after[id.t] or 0) + 1 end
  end
  for t, n in pairs(after) do
    local limit = tonumber(limits[t]) or 5
    if n > limit and n > (most[t] or 0) then
      violation.types[t] = limit
      violation.any = true
    end
  end
  local anchor = first and ids[first].holder or nil
  return holders, first, anchor, violation
end

-- Refuse identifiers, lowest priority first, until linking and merging break no limit: one that
-- brings in another customer, or a new link of a type over its limit. The highest-priority
-- identifier (the event's userId when it has one) is never refused.
local dropped = {}
local holders, first, anchor, violation = decide()
while violation.any do
  local pick
  for i = #ids, 1, -1 do
    local id = ids[i]
    if active[i] and i ~= first then
      if id.holder and id.holder ~= anchor then pick = i break end
      if not id.holder and violation.types[id.t] then pick = i break end
    end
  end
  if not pick then break end
  local id = ids[pick]
  local kind, limit
  if id.holder and id.holder ~= anchor and violation.persons then
    kind, limit = 'customersPerIdentifier', violation.limit
  else
    kind = 'identifiersPerType'
    limit = violation.types[id.t]
    if not limit then
      for _, l in pairs(violation.types) do limit = l break end
    end
  end
  dropped[#dropped + 1] = { id = id, kind = kind, limit = limit, customers = holders }
  active[pick] = false
  holders, first, anchor, violation = decide()
end

-- The customer the event is about.
local target, losers = nil, {}
if #holders == 0 then
  local best
  for i, id in ipairs(ids) do
    if active[i] and (not best or id.r < best.r) then best = id end
  end
  if not best then return cjson.encode({ customer = false }) end
  target = canonical(best.n)
  local c = customer(target)
  if c.origin == '' then c.origin = best.t end
  holders = { target }
elseif #holders == 1 then
  target = holders[1]
else
  -- The winner: a customer named after a userId, else the earliest created (then the lower id).
  for _, h in ipairs(holders) do
    local c, w = customer(h), target and customer(target)
    if not w then target = h
    else
      local cu, wu = c.origin == 'userId', w.origin == 'userId'
      if (cu and not wu) or (cu == wu and (c.createdAt < w.createdAt or (c.createdAt == w.createdAt and h < target))) then
        target = h
      end
    end
  end
  for _, h in ipairs(holders) do
    if h ~= target then losers[#losers + 1] = h end
  end
end

-- Every customer involved exists from here on (a customer named after a new userId, a profile
-- written before identity stitching: they get their identity record now).
local created = false
local totalPersons = 0
for _, h in ipairs(holders) do totalPersons = totalPersons + persons(h) end
for _, h in ipairs(holders) do
  local c = customer(h)
  if not c.exists then
    redis.call('HSET', base .. 'meta:' .. h, 'createdAt', now, 'origin', c.origin, 'persons', 0)
    redis.call('HINCRBY', base .. 'stats', 'customers', 1)
    c.exists = true
    if h == target then created = true end
  end
end

-- Merges: the losers' identifiers, aliases and unfinished merges move to the winner, each loser
-- becomes an alias; the data moves after this script (customers/merge.ts), from the pending set.
local via = {}
for i, id in ipairs(ids) do
  if active[i] then via[#via + 1] = { type = id.t, f = id.f, s = id.s } end
end
for _, loser in ipairs(losers) do
  local fields = redis.call('HGETALL', base .. 'ids:' .. loser)
  for j = 1, #fields, 2 do
    redis.call('HSET', base .. 'id:' .. fields[j], 'c', target)
    redis.call('HSETNX', base .. 'ids:' .. target, fields[j], fields[j + 1])
  end
  redis.call('DEL', base .. 'ids:' .. loser)
  local aliases = redis.call('SMEMBERS', base .. 'aliases-of:' .. loser)
  for _, a in ipairs(aliases) do
    redis.call('HSET', base .. 'aliases', a, target)
    redis.call('SADD', base .. 'aliases-of:' .. target, a)
  end
  redis.call('HSET', base .. 'aliases', loser, target)
  redis.call('SADD', base .. 'aliases-of:' .. target, loser)
  redis.call('DEL', base .. 'aliases-of:' .. loser)
  redis.call('HSET', base .. 'meta:' .. loser, 'mergedInto', target, 'mergedAt', now)
  for _, p in ipairs(redis.call('SMEMBERS', base .. 'pending:' .. loser)) do
    redis.call('SADD', base .. 'pending:' .. target, p)
  end
  redis.call('DEL', base .. 'pending:' .. loser)
  local record = cjson.encode({ id = messageId .. '#' .. loser, at = now, messageId = messageId,
    winner = target, loser = loser, loserAliases = aliases, via = via })
  redis.call('RPUSH', base .. 'merges:' .. target, record)
  redis.call('RPUSH', base .. 'merges:' .. loser, record)
  redis.call('SADD', base .. 'pending:' .. target, record)
  redis.call('HINCRBY', base .. 'stats', 'merges', 1)
end

-- New links: identifiers nobody held become the customer's.
local linked, personLinked = 0, false
for i, id in ipairs(ids) do
  if active[i] and not id.linked then
    redis.call('HSET', base .. 'id:' .. id.f, 'c', target, 'at', now)
    local entry = { at = now, m = messageId }
    if id.s ~= '' then entry.s = id.s end
    redis.call('HSET', base .. 'ids:' .. target, id.f, cjson.encode(entry))
    linked = linked + 1
    if id.p == 1 then personLinked = true end
  end
end
if personLinked and totalPersons == 0 then totalPersons = 1 end
if totalPersons ~= customer(target).persons then
  redis.call('HSET', base .. 'meta:' .. target, 'persons', totalPersons)
end

-- Conflicts, once per (message, identifier): a retried job records nothing new.
local kinds = {}
for _, d in ipairs(dropped) do
  kinds[#kinds + 1] = d.kind
  if redis.call('SET', countedBase .. 'identity-conflict:' .. messageId .. ':' .. d.id.f, '1', 'NX', 'EX', conflictTtl) then
    local record = cjson.encode({ at = now, messageId = messageId, kind = d.kind, limit = d.limit,
      identifier = { type = d.id.t, f = d.id.f, s = d.id.s }, customer = target,
      holder = d.id.holder or false, customers = d.customers })
    redis.call('RPUSH', base .. 'conflicts:' .. target, record)
    redis.call('LTRIM', base .. 'conflicts:' .. target, -keep, -1)
    if d.id.holder and d.id.holder ~= target then
      redis.call('RPUSH', base .. 'conflicts:' .. d.id.holder, record)
      redis.call('LTRIM', base .. 'conflicts:' .. d.id.holder, -keep, -1)
    end
    redis.call('LPUSH', base .. 'conflicts', record)
    redis.call('LTRIM', base .. 'conflicts', 0, keep - 1)
    redis.call('HINCRBY', base .. 'stats', 'conflicts', 1)
    redis.call('HINCRBY', base .. 'stats', 'conflicts:' .. d.kind, 1)
  end
end

return cjson.encode({ customer = target, created = created, merged = losers, linked = linked,
  conflicts = kinds, pending = redis.call('SMEMBERS', base .. 'pending:' .. target) })
`;
