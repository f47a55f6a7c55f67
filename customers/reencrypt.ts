import type { Redis } from 'ioredis';
import { isEncrypted, type TraitCipher } from './encryption';
import type { RedisKeys } from './keys';
import { normalisePhone, ProfileStore } from './profiles';

/**
 * `touchpoint profiles reencrypt`: brings every profile hash in line with the key ring and the
 * config, one SCAN page at a time —
 * - a sensitive trait encrypted under an older key is re-encrypted under the current one;
 * - a sensitive trait still in plaintext (written before encryption was on) is encrypted;
 * - an encrypted trait no longer listed as sensitive is stored as plaintext JSON again;
 * - the customer's phone is put in the blind phone index, and taken out of the plaintext-keyed
 *   index older versions wrote (whose key names held the number).
 * Each value is swapped only if it is still the one read (a Lua compare-and-set), so the command
 * runs safely beside a live router. The SCAN cursor is saved after each page: a rerun after a
 * crash or Ctrl-C resumes there (`restart` starts over). Once done, the old key can leave the ring.
 */
const SWAP = `
local swapped = 0
for i = 1, #ARGV, 3 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    swapped = swapped + 1
  end
end
return swapped`;

export interface ReencryptProgress {
  /** SCAN cursor to go on from ('0' once finished). */
  cursor: string;
  /** The current key when the run started: a run under another key starts over. */
  keyId: string;
  scanned: number;
  rewritten: number;
  startedAt: string;
  finishedAt?: string;
}

export interface ReencryptOptions {
  redis: Redis;
  keys: RedisKeys;
  cipher: TraitCipher;
  sensitive: readonly string[];
  pageSize?: number;
  /** Start over even if an unfinished run left a cursor. */
  restart?: boolean;
  /** Called after each page. */
  onProgress?: (progress: ReencryptProgress & { resumed: boolean }) => void;
  /** Stops after this many pages (tests: a run interrupted half-way). */
  maxPages?: number;
}

export async function reencryptProfiles(
  options: ReencryptOptions,
): Promise<ReencryptProgress & { resumed: boolean }> {
  const { redis, keys, cipher } = options;
  const sensitive = new Set(options.sensitive);
  const store = new ProfileStore(redis, keys, { cipher, sensitive: options.sensitive });
  const saved = await redis.get(keys.reencryptProgress());
  const previous = saved ? (JSON.parse(saved) as ReencryptProgress) : undefined;
  const resumed =
    !options.restart &&
    previous !== undefined &&
    !previous.finishedAt &&
    previous.keyId === cipher.currentKeyId;
  const progress: ReencryptProgress = resumed
    ? previous!
    : {
        cursor: '0',
        keyId: cipher.currentKeyId,
        scanned: 0,
        rewritten: 0,
        startedAt: new Date().toISOString(),
      };

  const base = keys.profile('');
  const match = `${base.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let pages = 0;
  do {
    const [next, found] = await redis.scan(
      progress.cursor,
      'MATCH',
      match,
      'COUNT',
      options.pageSize ?? 500,
      'TYPE',
      'hash',
    );
    const ids = [...new Set(found.map((key) => key.slice(base.length)))];
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hgetall(keys.profile(id));
    const hashes = ((await pipeline.exec()) ?? []).map(([err, raw]) => {
      if (err) throw err;
      return raw as Record<string, string>;
    });
    const writes = redis.pipeline();
    const index = redis.pipeline();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const swaps: string[] = [];
      let phone: unknown;
      for (const [name, stored] of Object.entries(hashes[i]!)) {
        const encrypted = isEncrypted(stored);
        // Decrypting first also proves the ring can read the value: a wrong key stops the run here.
        const plain = encrypted ? cipher.decrypt(stored, name) : stored;
        if (name === 'phone') phone = JSON.parse(plain);
        let wanted: string | undefined;
        if (sensitive.has(name)) {
          if (!encrypted || cipher.isStale(stored)) wanted = cipher.encrypt(plain, name);
        } else if (encrypted) wanted = plain;
        if (wanted !== undefined) swaps.push(name, stored, wanted);
      }
      if (swaps.length > 0) writes.eval(SWAP, 1, keys.profile(id), ...swaps);
      // Idempotent: the blind entry added, the plaintext-keyed one removed.
      const number = normalisePhone(phone);
      if (number) store.queuePhoneIndexMove(index, id, undefined, number);
    }
    for (const [err, swapped] of (await writes.exec()) ?? []) {
      if (err) throw err;
      progress.rewritten += Number(swapped);
    }
    for (const [err] of (await index.exec()) ?? []) if (err) throw err;
    progress.cursor = next;
    progress.scanned += ids.length;
    if (next === '0') progress.finishedAt = new Date().toISOString();
    await redis.set(keys.reencryptProgress(), JSON.stringify(progress));
    options.onProgress?.({ ...progress, resumed });
    pages += 1;
    if (options.maxPages !== undefined && pages >= options.maxPages) break;
  } while (progress.cursor !== '0');
  return { ...progress, resumed };
}

/** The last run's progress (unfinished: where a rerun resumes), if any. */
export async function reencryptStatus(redis: Redis, keys: RedisKeys): Promise<ReencryptProgress | undefined> {
  const saved = await redis.get(keys.reencryptProgress());
  return saved ? (JSON.parse(saved) as ReencryptProgress) : undefined;
}
