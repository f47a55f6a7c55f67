import type { Redis } from 'ioredis';

/**
 * Writes traits Touchpoint derives (RFM scores and group, lifecycle stage) into a profile hash,
 * touching only those whose stored value differs, in one atomic step; returns the names that
 * changed so the segments hook hears of them. `undefined` removes a trait. Values are plain JSON
 * (derived traits are never sensitive: profiles-config refuses that).
 */
const SET_CHANGED = `
local changed = {}
for i = 1, #ARGV, 3 do
  local name, op, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local old = redis.call('HGET', KEYS[1], name)
  if op == 'set' then
    if old ~= value then
      redis.call('HSET', KEYS[1], name, value)
      changed[#changed + 1] = name
    end
  elseif old then
    redis.call('HDEL', KEYS[1], name)
    changed[#changed + 1] = name
  end
end
return changed`;

const COMMAND = 'touchpointSetChangedTraits';

type WithCommand = Redis & {
  [COMMAND](key: string, ...args: string[]): Promise<string[]>;
};

function ensure(redis: Redis): WithCommand {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: SET_CHANGED });
  return redis as WithCommand;
}

function argsOf(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([name, value]) =>
    value === undefined || value === null ? [name, 'del', ''] : [name, 'set', JSON.stringify(value)],
  );
}

/** Sets (or removes, for `undefined`) the traits whose stored value differs; the changed names. */
export async function writeDerivedTraits(
  redis: Redis,
  profileKey: string,
  values: Record<string, unknown>,
): Promise<string[]> {
  const args = argsOf(values);
  if (args.length === 0) return [];
  return ensure(redis)[COMMAND](profileKey, ...args);
}

/** The same for many profiles in one round trip: the changed names per profile, in order. */
export async function writeDerivedTraitsMany(
  redis: Redis,
  writes: { profileKey: string; values: Record<string, unknown> }[],
): Promise<string[][]> {
  if (writes.length === 0) return [];
  ensure(redis);
  const pipeline = redis.pipeline() as unknown as {
    [COMMAND](key: string, ...args: string[]): void;
    exec(): Promise<[Error | null, unknown][] | null>;
  };
  for (const { profileKey, values } of writes) pipeline[COMMAND](profileKey, ...argsOf(values));
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([err, names]) => {
    if (err) throw err;
    return names as string[];
  });
}
