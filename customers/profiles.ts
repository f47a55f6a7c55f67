import { isDeepStrictEqual } from 'node:util';
import type { ChainableCommander, Redis } from 'ioredis';
import { DecryptionError, isEncrypted, type TraitCipher } from './encryption';
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

/** The traits encrypted at rest unless the config's `profiles.sensitive` says otherwise. */
export const DEFAULT_SENSITIVE_TRAITS: readonly string[] = ['phone', 'email', 'idNumber'];

export interface ProfileStoreOptions {
  /**
   * Encrypts the `sensitive` traits at rest (customers/encryption.ts) and keys the phone index by
   * a blind index instead of the number. Without it traits are stored as JSON, as before.
   */
  cipher?: TraitCipher;
  /** Traits to encrypt (with a cipher); default DEFAULT_SENSITIVE_TRAITS. */
  sensitive?: readonly string[];
}

/**
 * Customer profiles: traits as a Redis hash, one field per trait, values JSON-encoded so types
 * survive (a number stays a number for `gt` conditions). Tags are a Redis set per customer, apart
 * from the traits (getWithTags joins them as the `tags` trait journeys read).
 *
 * With a cipher, sensitive traits are stored encrypted (`enc:v1:<key>:…`) and every read returns
 * plaintext: journeys, conditions and templates see the values; API answers mask them
 * (customers/masking.ts). A plaintext value stored before encryption was turned on still reads,
 * and is encrypted the next time the trait is written (or by `touchpoint profiles reencrypt`).
 */
export class ProfileStore {
  private readonly cipher?: TraitCipher;
  private readonly sensitive: ReadonlySet<string>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    options: ProfileStoreOptions = {},
  ) {
    this.cipher = options.cipher;
    this.sensitive = new Set(options.sensitive ?? DEFAULT_SENSITIVE_TRAITS);
  }

  /** Whether the trait is stored encrypted (a cipher is set and it is sensitive). */
  encrypts(name: string): boolean {
    return this.cipher !== undefined && this.sensitive.has(name);
  }

  /** The names of the sensitive traits (encrypted at rest with a cipher, masked in API answers). */
  sensitiveTraits(): string[] {
    return [...this.sensitive];
  }

  async get(customerId: string): Promise<Record<string, unknown>> {
    return this.decode(customerId, await this.redis.hgetall(this.keys.profile(customerId)));
  }

  /**
   * Several profiles in one round trip (with tags when asked), for scans over many customers
   * (RFM recompute, schedule ticks). A customer without a profile gets `{}` (plus `tags`).
   */
  async getMany(
    customerIds: readonly string[],
    { tags = false }: { tags?: boolean } = {},
  ): Promise<Record<string, unknown>[]> {
    if (customerIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of customerIds) {
      pipeline.hgetall(this.keys.profile(id));
      if (tags) pipeline.smembers(this.keys.profileTags(id));
    }
    const replies = (await pipeline.exec()) ?? [];
    const step = tags ? 2 : 1;
    return customerIds.map((id, i) => {
      const [err, raw] = replies[i * step]!;
      if (err) throw err;
      const traits = this.decode(id, raw as Record<string, string>);
      if (tags) {
        const [tagErr, list] = replies[i * step + 1]!;
        if (tagErr) throw tagErr;
        Object.defineProperty(traits, 'tags', {
          value: (list as string[]).sort(),
          enumerable: true,
          writable: true,
        });
      }
      return traits;
    });
  }

  /**
   * Only the named traits of several profiles (HMGET in one round trip): a scan whose rules read a
   * few traits need not fetch, parse and decrypt whole profiles. Missing traits are left out.
   */
  async getManyFields(
    customerIds: readonly string[],
    fields: readonly string[],
    { tags = false }: { tags?: boolean } = {},
  ): Promise<Record<string, unknown>[]> {
    if (customerIds.length === 0) return [];
    if (fields.length === 0 && !tags) return customerIds.map(() => ({}));
    const pipeline = this.redis.pipeline();
    for (const id of customerIds) {
      if (fields.length > 0) pipeline.hmget(this.keys.profile(id), ...fields);
      if (tags) pipeline.smembers(this.keys.profileTags(id));
    }
    const replies = (await pipeline.exec()) ?? [];
    const step = (fields.length > 0 ? 1 : 0) + (tags ? 1 : 0);
    return customerIds.map((id, i) => {
      const traits: Record<string, unknown> = {};
      if (fields.length > 0) {
        const [err, values] = replies[i * step]!;
        if (err) throw err;
        (values as (string | null)[]).forEach((value, f) => {
          if (value === null) return;
          const name = fields[f]!;
          Object.defineProperty(traits, name, {
            value: this.parseStored(id, name, value),
            enumerable: true,
            writable: true,
          });
        });
      }
      if (tags) {
        const [err, list] = replies[i * step + step - 1]!;
        if (err) throw err;
        Object.defineProperty(traits, 'tags', {
          value: (list as string[]).sort(),
          enumerable: true,
          writable: true,
        });
      }
      return traits;
    });
  }

  /** A hash's fields as traits: JSON values parsed, encrypted ones decrypted first. */
  private decode(customerId: string, raw: Record<string, string>): Record<string, unknown> {
    const traits: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(raw)) {
      // defineProperty: a trait named "__proto__" stays plain data.
      Object.defineProperty(traits, name, {
        value: this.parseStored(customerId, name, value),
        enumerable: true,
        writable: true,
      });
    }
    return traits;
  }

  /** One stored field's value (decrypted when encrypted). */
  private parseStored(customerId: string, name: string, stored: string): unknown {
    if (!isEncrypted(stored)) return JSON.parse(stored);
    if (!this.cipher)
      throw new Error(
        `customer ${customerId}: trait ${name} is encrypted but no encryption keys are configured`,
      );
    try {
      return JSON.parse(this.cipher.decrypt(stored, name));
    } catch (err) {
      (err as Error).message = `customer ${customerId}: trait ${(err as Error).message}`;
      throw err;
    }
  }

  /** A trait's value as stored: JSON, encrypted when the trait is sensitive. */
  private encode(name: string, value: unknown): string {
    const json = JSON.stringify(value);
    return this.encrypts(name) ? this.cipher!.encrypt(json, name) : json;
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
      else set.push(name, this.encode(name, value));
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
    if (phoneChanges && (before || after)) await this.movePhoneIndex(customerId, before, after);
    return names.filter((name, i) => {
      const was = previous[i] || null;
      const now = traits[name];
      if (now === null || now === undefined) return was !== null;
      return (
        was === null ||
        !isDeepStrictEqual(this.previousValue(customerId, name, was), JSON.parse(JSON.stringify(now)))
      );
    });
  }

  /**
   * A value found before a merge. One that no longer decrypts (a retried identify whose snapshot
   * was taken under a key since retired) counts as different: the change is reported again.
   */
  private previousValue(customerId: string, name: string, stored: string): unknown {
    try {
      return this.parseStored(customerId, name, stored);
    } catch (err) {
      if (err instanceof DecryptionError) return Symbol('undecryptable');
      throw err;
    }
  }

  /**
   * Moves the customer in the phone index from one number to another (either may be missing).
   * With a cipher the index is keyed by the number's blind index; the plaintext-keyed entry an
   * older version wrote is removed on the way (migration on write).
   */
  async movePhoneIndex(customerId: string, before?: string, after?: string): Promise<void> {
    const tx = this.redis.multi();
    this.queuePhoneIndexMove(tx, customerId, before, after);
    await tx.exec();
  }

  /** movePhoneIndex's commands, queued on a transaction or pipeline the caller runs. */
  queuePhoneIndexMove(tx: ChainableCommander, customerId: string, before?: string, after?: string): void {
    if (before && before !== after) {
      tx.srem(this.phoneIndexKey(before), customerId);
      if (this.cipher) tx.srem(this.keys.customersByPhone(before), customerId);
    }
    if (after) {
      tx.sadd(this.phoneIndexKey(after), customerId);
      if (this.cipher) tx.srem(this.keys.customersByPhone(after), customerId);
    }
  }

  /** The index set of a normalised number: blind (HMAC) with a cipher, else the number itself. */
  private phoneIndexKey(phone: string): string {
    return this.cipher
      ? this.keys.customersByBlindPhone(this.cipher.blindIndex('phone', phone))
      : this.keys.customersByPhone(phone);
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
    // With a cipher, the blind index plus entries written before encryption (not migrated yet).
    const ids = this.cipher
      ? await this.redis.sunion(this.phoneIndexKey(wanted), this.keys.customersByPhone(wanted))
      : await this.redis.smembers(this.keys.customersByPhone(wanted));
    const current = await Promise.all(ids.map(async (id) => normalisePhone(await this.trait(id, 'phone'))));
    return ids.filter((_, i) => current[i] === wanted).sort();
  }

  private async trait(customerId: string, name: string): Promise<unknown> {
    const raw = await this.redis.hget(this.keys.profile(customerId), name);
    return raw === null ? undefined : this.parseStored(customerId, name, raw);
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

/**
 * Customer ids of every profile hash, one SCAN page at a time (empty pages skipped; SCAN may give
 * an id twice across pages, never skips one). Scheduled passes over all customers read from here.
 */
export async function* scanProfileIds(
  redis: Redis,
  keys: RedisKeys,
  pageSize = 1000,
): AsyncGenerator<string[]> {
  const base = keys.profile('');
  const match = `${base.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', match, 'COUNT', pageSize, 'TYPE', 'hash');
    cursor = next;
    if (found.length > 0) yield [...new Set(found.map((key) => key.slice(base.length)))];
  } while (cursor !== '0');
}
