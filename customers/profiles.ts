import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys';

/**
 * Customer profiles: traits as a Redis hash, one field per trait, values JSON-encoded so types
 * survive (a number stays a number for `gt` conditions).
 */
export class ProfileStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async get(customerId: string): Promise<Record<string, unknown>> {
    const raw = await this.redis.hgetall(this.keys.profile(customerId));
    const traits: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw)) {
      // defineProperty: a trait named "__proto__" stays plain data.
      Object.defineProperty(traits, name, { value: JSON.parse(value), enumerable: true, writable: true });
    }
    return traits;
  }

  /** Merges traits in (identify semantics); a null value removes the trait. */
  async merge(customerId: string, traits: Record<string, unknown>): Promise<void> {
    const key = this.keys.profile(customerId);
    const set: string[] = [];
    const removed: string[] = [];
    for (const [name, value] of Object.entries(traits)) {
      if (value === null || value === undefined) removed.push(name);
      else set.push(name, JSON.stringify(value));
    }
    const tx = this.redis.multi();
    if (set.length) tx.hset(key, ...set);
    if (removed.length) tx.hdel(key, ...removed);
    await tx.exec();
  }
}
