import type { Redis } from 'ioredis';

/** One key as a snapshot holds it: its type, its value (DUMP, hex) and whether it has a TTL. */
export interface KeySnapshot {
  type: string;
  value: string;
  expires: boolean;
}

/**
 * Every key under each prefix (`<prefix>:*`) with its type and serialized value, to show that a
 * request changed nothing in Redis: compare a snapshot before with one after.
 */
export async function redisSnapshot(
  redis: Redis,
  ...prefixes: string[]
): Promise<Record<string, KeySnapshot>> {
  const keys: string[] = [];
  for (const prefix of prefixes) {
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 1000 }))
      keys.push(...(batch as string[]));
  }
  const snapshot: Record<string, KeySnapshot> = {};
  for (const key of [...new Set(keys)].sort()) {
    const [type, dump, ttl] = await Promise.all([redis.type(key), redis.dumpBuffer(key), redis.pttl(key)]);
    // A key that expired between SCAN and DUMP is simply not there.
    if (dump === null) continue;
    snapshot[key] = { type, value: dump.toString('hex'), expires: ttl >= 0 };
  }
  return snapshot;
}

/** The keys added, removed or changed between two snapshots (for a readable failure). */
export function snapshotChanges(
  before: Record<string, KeySnapshot>,
  after: Record<string, KeySnapshot>,
): string[] {
  const changes: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key];
    const b = after[key];
    if (!a) changes.push(`+ ${key} (${b!.type})`);
    else if (!b) changes.push(`- ${key} (${a.type})`);
    else if (a.type !== b.type || a.value !== b.value || a.expires !== b.expires)
      changes.push(`~ ${key} (${b.type})`);
  }
  return changes.sort();
}
