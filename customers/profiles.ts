import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys';

/**
 * One merge, atomically: the values found before (false where missing) are returned, and kept
 * under KEYS[2] when given; a second run with the same KEYS[2] returns them without writing.
 */
const MERGE = `
if KEYS[2] ~= '' then
  local done = redis.call('GET', KEYS[2])
  if done then return done end
end
local names = cjson.decode(ARGV[2])
local set = cjson.decode(ARGV[3])
local removed = cjson.decode(ARGV[4])
local found = redis.call('HMGET', KEYS[1], unpack(names))
for i = 1, #names do
  if not found[i] then found[i] = false end
end
local snapshot = cjson.encode(found)
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], snapshot, 'EX', ARGV[1]) end
if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
if #removed > 0 then redis.call('HDEL', KEYS[1], unpack(removed)) end
return snapshot`;

/** As long as a retried identify job can come back (BullMQ keeps failed jobs for retry). */
const MERGED_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Customer profiles: traits as a Redis hash, one field per trait, values JSON-encoded so types
 * survive (a number stays a number for `gt` conditions). Tags are a Redis set per customer, apart
 * from the traits (getWithTags joins them as the `tags` trait journeys read).
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
   * Returns the names of the traits whose value changed (set anew, set to another value, or
   * removed), judged against the values read in the same atomic step as the write:
   * `traitChanged` entries start on these. With a `messageId` (an identify), the values found are
   * kept for a week: the same message merged again (a retried job) reports the same changes, so
   * an entry lost to a crash after the merge is made on the retry.
   */
  async merge(customerId: string, traits: Record<string, unknown>, messageId?: string): Promise<string[]> {
    const names = Object.keys(traits);
    if (names.length === 0) return [];
    const set: string[] = [];
    const removed: string[] = [];
    for (const [name, value] of Object.entries(traits)) {
      if (value === null || value === undefined) removed.push(name);
      else set.push(name, JSON.stringify(value));
    }
    const phoneChanges = Object.prototype.hasOwnProperty.call(traits, 'phone');
    const before = phoneChanges ? normalisePhone(await this.trait(customerId, 'phone')) : undefined;
    const after = phoneChanges ? normalisePhone(traits.phone) : undefined;
    const found = await this.redis.eval(
      MERGE,
      2,
      this.keys.profile(customerId),
      messageId === undefined ? '' : this.keys.identifyMerged(messageId),
      MERGED_TTL_SECONDS,
      JSON.stringify(names),
      JSON.stringify(set),
      JSON.stringify(removed),
    );
    const previous = JSON.parse(found as string) as (string | false)[];
    if (phoneChanges && (before || after)) {
      const tx = this.redis.multi();
      if (before && before !== after) tx.srem(this.keys.customersByPhone(before), customerId);
      if (after) tx.sadd(this.keys.customersByPhone(after), customerId);
      await tx.exec();
    }
    return names.filter((name, i) => {
      const was = previous[i] || null;
      const now = traits[name];
      if (now === null || now === undefined) return was !== null;
      return was === null || !isDeepStrictEqual(JSON.parse(was), JSON.parse(JSON.stringify(now)));
    });
  }

  /**
   * The traits as journeys see them: the profile's traits plus `tags`, the customer's tags sorted
   * (always present, possibly empty). The tag set wins over a trait named `tags` sent by an
   * identify: tags are set only by `tag` / `untag` steps (and addTags / removeTags).
   */
  async getWithTags(customerId: string): Promise<Record<string, unknown>> {
    const [traits, tags] = await Promise.all([this.get(customerId), this.tags(customerId)]);
    Object.defineProperty(traits, 'tags', { value: tags, enumerable: true, writable: true });
    return traits;
  }

  /** The customer's tags, sorted. */
  async tags(customerId: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.profileTags(customerId))).sort();
  }

  /** Adds and removes tags in one step (removals first); idempotent. Empty or non-text tags are ignored. */
  async updateTags(customerId: string, change: { add?: string[]; remove?: string[] }): Promise<void> {
    const add = cleanTags(change.add);
    const remove = cleanTags(change.remove);
    if (add.length === 0 && remove.length === 0) return;
    const key = this.keys.profileTags(customerId);
    const tx = this.redis.multi();
    if (remove.length) tx.srem(key, ...remove);
    if (add.length) tx.sadd(key, ...add);
    await tx.exec();
  }

  async addTags(customerId: string, tags: string[]): Promise<void> {
    await this.updateTags(customerId, { add: tags });
  }

  async removeTags(customerId: string, tags: string[]): Promise<void> {
    await this.updateTags(customerId, { remove: tags });
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

function cleanTags(tags: unknown[] | undefined): string[] {
  return [
    ...new Set(
      (tags ?? []).filter((t): t is string => typeof t === 'string' && t.trim() !== '').map((t) => t.trim()),
    ),
  ];
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
