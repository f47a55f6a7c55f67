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

  /**
   * Merges traits in (identify semantics); a null value removes the trait. A change of `phone`
   * also moves the customer in the phone index (SMS replies find customers by number).
   */
  async merge(customerId: string, traits: Record<string, unknown>): Promise<void> {
    const key = this.keys.profile(customerId);
    const set: string[] = [];
    const removed: string[] = [];
    for (const [name, value] of Object.entries(traits)) {
      if (value === null || value === undefined) removed.push(name);
      else set.push(name, JSON.stringify(value));
    }
    const phoneChanges = Object.prototype.hasOwnProperty.call(traits, 'phone');
    const before = phoneChanges ? normalisePhone(await this.trait(customerId, 'phone')) : undefined;
    const after = phoneChanges ? normalisePhone(traits.phone) : undefined;
    const tx = this.redis.multi();
    if (set.length) tx.hset(key, ...set);
    if (removed.length) tx.hdel(key, ...removed);
    if (before && before !== after) tx.srem(this.keys.customersByPhone(before), customerId);
    if (after) tx.sadd(this.keys.customersByPhone(after), customerId);
    await tx.exec();
  }

  /**
   * Customers whose `phone` trait is this number (in any of its written forms). The index is
   * checked against each profile, so an entry left stale by two racing phone changes is ignored.
   */
  async customersByPhone(phone: string): Promise<string[]> {
    const wanted = normalisePhone(phone);
    if (!wanted) return [];
    const ids = await this.redis.smembers(this.keys.customersByPhone(wanted));
    const current = await Promise.all(ids.map(async (id) => normalisePhone(await this.trait(id, 'phone'))));
    return ids.filter((_, i) => current[i] === wanted).sort();
  }

  private async trait(customerId: string, name: string): Promise<unknown> {
    const raw = await this.redis.hget(this.keys.profile(customerId), name);
    return raw === null ? undefined : JSON.parse(raw);
  }
}

/**
 * One spelling per phone number, so `+86 138-0013-8000`, `008613800138000` and `13800138000` meet
 * in the index. Numbers without a country code are taken as mainland China mobiles when they look
 * like one (11 digits, 13… to 19…), else kept as written. Undefined when it is no number.
 */
export function normalisePhone(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  let phone = String(value).replace(/[\s\-().]/g, '');
  if (phone.startsWith('00')) phone = `+${phone.slice(2)}`;
  if (!/^\+?\d{5,15}$/.test(phone)) return undefined;
  if (phone.startsWith('+')) return phone;
  if (/^1[3-9]\d{9}$/.test(phone)) return `+86${phone}`;
  if (/^861[3-9]\d{9}$/.test(phone)) return `+${phone}`;
  return phone;
}
