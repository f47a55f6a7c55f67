import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import {
  DecryptionError,
  loadCipher,
  loadOrCreateCipher,
  newKeyLine,
  parseKeyRing,
  TraitCipher,
  verifyKeyRing,
} from '../../customers/encryption';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { reencryptProfiles, reencryptStatus } from '../../customers/reencrypt';
import { cli } from '../cli/support';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';

const INDEX_KEY = Buffer.alloc(32, 3);
const K1 = newKeyLine('k1');
const K2 = newKeyLine('k2');
const ring = (...lines: string[]) => new TraitCipher(parseKeyRing(lines.join(',')), INDEX_KEY);
const SENSITIVE = { phone: '+8613800138000', email: 'wang@example.com', idNumber: '110101199003071234' };

describe('the trait cipher', () => {
  test('round trip; bound to the trait name; tampering and wrong keys fail with a clear error', () => {
    const cipher = ring(K1);
    const sealed = cipher.encrypt('"+8613800138000"', 'phone');
    expect(sealed).toMatch(/^enc:v1:k1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('138');
    expect(cipher.encrypt('"+8613800138000"', 'phone')).not.toBe(sealed); // a fresh IV each time
    expect(cipher.decrypt(sealed, 'phone')).toBe('"+8613800138000"');

    expect(() => cipher.decrypt(sealed, 'email')).toThrow(DecryptionError);
    const tampered = sealed.slice(0, -3) + (sealed.endsWith('AAA') ? 'BBB' : 'AAA');
    expect(() => cipher.decrypt(tampered, 'phone')).toThrow(/cannot decrypt with key "k1"/);
    expect(() => ring(newKeyLine('k1')).decrypt(sealed, 'phone')).toThrow(
      /phone: cannot decrypt with key "k1": the key's bytes are not the ones/,
    );
    expect(() => ring(K2).decrypt(sealed, 'phone')).toThrow(
      /phone: encrypted with key "k1", which is not in the key ring \(k2\)/,
    );
  });

  test('key rings: parsed from the environment form; bad ones refused with the reason', () => {
    expect(parseKeyRing(`${K2}, ${K1}`).map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(() => parseKeyRing('')).toThrow(/no keys/);
    expect(() => parseKeyRing('k1:c2hvcnQ=')).toThrow(/key "k1" is 5 bytes; AES-256 needs 32/);
    expect(() => parseKeyRing('nokey')).toThrow(/is not id:base64key/);
    expect(() => ring(K1, K1)).toThrow(/appears twice/);
  });

  test('keys generated into the data directory once; tools never generate them', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tp-keys-'));
    try {
      expect(() => loadCipher(dir)).toThrow(/no encryption keys: set TOUCHPOINT_ENCRYPTION_KEYS/);
      const made = loadOrCreateCipher(dir);
      const sealed = made.encrypt('"x"', 'phone');
      expect(loadOrCreateCipher(dir).decrypt(sealed, 'phone')).toBe('"x"');
      expect(loadCipher(dir).decrypt(sealed, 'phone')).toBe('"x"');
      // The environment wins over the files.
      const fromEnv = loadOrCreateCipher(dir, { keys: K2, indexKey: INDEX_KEY.toString('base64') });
      expect(fromEnv.currentKeyId).toBe('k2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('encrypted profiles (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let keys: RedisKeys;
  beforeAll(() => {
    redis = testRedis();
  });
  beforeEach(() => {
    prefix = uniquePrefix('enc');
    keys = new RedisKeys(prefix);
  });
  afterEach(() => deleteKeys(redis, prefix));
  afterAll(() => redis.quit());

  const store = (cipher?: TraitCipher, sensitive?: string[]) =>
    new ProfileStore(redis, keys, { ...(cipher ? { cipher } : {}), ...(sensitive ? { sensitive } : {}) });
  const raw = (id: string) => redis.hgetall(keys.profile(id));

  test('sensitive traits are stored encrypted; reads (get, getWithTags, getMany) return plaintext', async () => {
    const profiles = store(ring(K1));
    expect(await profiles.merge('c1', { name: '王芳', ...SENSITIVE })).toEqual([
      'name',
      'phone',
      'email',
      'idNumber',
    ]);
    const stored = await raw('c1');
    expect(stored.name).toBe('"王芳"');
    for (const name of Object.keys(SENSITIVE)) expect(stored[name]).toMatch(/^enc:v1:k1:/);
    const dump = JSON.stringify(stored);
    for (const value of ['13800138000', 'wang@', 'example.com', '1101011990'])
      expect(dump).not.toContain(value);

    expect(await profiles.get('c1')).toEqual({ name: '王芳', ...SENSITIVE });
    expect(await profiles.getWithTags('c1')).toEqual({ name: '王芳', ...SENSITIVE, tags: [] });
    expect(await profiles.getMany(['c1', 'none'], { tags: true })).toEqual([
      { name: '王芳', ...SENSITIVE, tags: [] },
      { tags: [] },
    ]);
    // The same values again are no change, although each write makes a new ciphertext.
    expect(await profiles.merge('c1', { ...SENSITIVE, name: '王芳' })).toEqual([]);
    expect(await profiles.merge('c1', { email: 'new@example.com', phone: null })).toEqual(['email', 'phone']);
    expect(await profiles.get('c1')).toEqual({
      name: '王芳',
      email: 'new@example.com',
      idNumber: SENSITIVE.idNumber,
    });
  });

  test('plaintext written before encryption still reads, and is encrypted when next written', async () => {
    await store().merge('c1', { phone: '13800138000', email: 'old@example.com' });
    const profiles = store(ring(K1));
    expect(await profiles.get('c1')).toEqual({ phone: '13800138000', email: 'old@example.com' });
    expect(await profiles.merge('c1', { email: 'old@example.com' })).toEqual([]);
    expect((await raw('c1')).email).toMatch(/^enc:v1:k1:/);
    expect((await raw('c1')).phone).toBe('"13800138000"');
    // A store without keys refuses encrypted values instead of handing ciphertext to templates.
    await expect(store().get('c1')).rejects.toThrow(
      /trait email is encrypted but no encryption keys are configured/,
    );
  });

  test('a wrong key fails reads clearly; verifyKeyRing stops a process with other bytes under a known id', async () => {
    await store(ring(K1)).merge('c1', { phone: SENSITIVE.phone });
    await expect(store(ring(newKeyLine('k1'))).get('c1')).rejects.toThrow(
      /customer c1: trait phone: cannot decrypt with key "k1"/,
    );
    await expect(store(ring(K2)).get('c1')).rejects.toThrow(
      /customer c1: trait phone: encrypted with key "k1"/,
    );

    await verifyKeyRing(redis, keys.encryptionKeyChecks(), ring(K1));
    await verifyKeyRing(redis, keys.encryptionKeyChecks(), ring(K2, K1)); // a new key joins
    await expect(verifyKeyRing(redis, keys.encryptionKeyChecks(), ring(newKeyLine('k1')))).rejects.toThrow(
      /encryption key "k1" has other bytes/,
    );
    await expect(
      verifyKeyRing(
        redis,
        keys.encryptionKeyChecks(),
        new TraitCipher(parseKeyRing(K1), Buffer.alloc(32, 9)),
      ),
    ).rejects.toThrow(/blind index key/);
  });

  test('rotation: a new key first; old values read during the resumable re-encryption; then the old key can go', async () => {
    const old = store(ring(K1));
    for (let i = 0; i < 60; i++)
      await old.merge(`c${i}`, { name: `n${i}`, phone: `+86138000${String(10000 + i)}` });
    await old.merge('c0', { email: 'a@example.com' });
    // Written before encryption: plaintext, with the old plaintext-keyed phone index entry.
    await store().merge('legacy', { phone: '+8613900139000', email: 'legacy@example.com' });

    const rotated = ring(K2, K1);
    const during = store(rotated);
    await during.merge('c1', { phone: '+8613700137000' }); // new writes use k2 at once
    expect((await raw('c1')).phone).toMatch(/^enc:v1:k2:/);

    // Interrupted after one page…
    const first = await reencryptProfiles({
      redis,
      keys,
      cipher: rotated,
      sensitive: ['phone', 'email'],
      pageSize: 10,
      maxPages: 1,
    });
    expect(first).toMatchObject({ resumed: false, keyId: 'k2' });
    expect(first.finishedAt).toBeUndefined();
    // …every value still reads, whichever key it is under.
    expect(await during.get('c0')).toMatchObject({ email: 'a@example.com' });
    expect(await during.get('legacy')).toEqual({ phone: '+8613900139000', email: 'legacy@example.com' });

    const done = await reencryptProfiles({
      redis,
      keys,
      cipher: rotated,
      sensitive: ['phone', 'email'],
      pageSize: 10,
    });
    expect(done).toMatchObject({ resumed: true, keyId: 'k2', scanned: 61 });
    expect(done.finishedAt).toEqual(expect.any(String));
    expect((await reencryptStatus(redis, keys))?.finishedAt).toBeDefined();

    // Only k2 now: everything reads, nothing is left under k1 or in plaintext.
    const after = store(ring(K2));
    for (let i = 0; i < 60; i++) expect((await after.get(`c${i}`)).name).toBe(`n${i}`);
    expect(await after.get('legacy')).toEqual({ phone: '+8613900139000', email: 'legacy@example.com' });
    for await (const batch of redis.scanStream({ match: `${prefix}:profile:*`, count: 100 })) {
      for (const key of batch as string[]) {
        const values = await redis.hgetall(key);
        for (const [name, value] of Object.entries(values))
          if (name === 'phone' || name === 'email') expect(value).toMatch(/^enc:v1:k2:/);
      }
    }
    // The plaintext-keyed phone index entry became a blind one.
    expect(await redis.exists(keys.customersByPhone('+8613900139000'))).toBe(0);
    expect(await after.customersByPhone('13900139000')).toEqual(['legacy']);

    // A second run finds nothing to do; a trait no longer sensitive is decrypted back to JSON.
    const again = await reencryptProfiles({ redis, keys, cipher: rotated, sensitive: ['phone'] });
    expect(again).toMatchObject({ resumed: false, rewritten: 2 }); // the two emails
    expect((await raw('legacy')).email).toBe('"legacy@example.com"');
  });

  test('`touchpoint profiles reencrypt` on the command line: progress, result, and a missing key refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tp-reenc-'));
    try {
      await store(ring(K1)).merge('c1', { phone: SENSITIVE.phone });
      await store().merge('c2', { email: 'plain@example.com' });
      const env = {
        REDIS_URL: testRedisUrl(),
        TOUCHPOINT_KEY_PREFIX: prefix,
        TOUCHPOINT_DATA_DIR: dir,
        TOUCHPOINT_ENCRYPTION_KEYS: `${K2},${K1}`,
        TOUCHPOINT_BLIND_INDEX_KEY: INDEX_KEY.toString('base64'),
      };
      const run = await cli(['profiles', 'reencrypt', '--page-size', '5'], env);
      expect(run).toMatchObject({
        code: 0,
        out: 're-encrypted under key k2: 2 profiles, 2 values rewritten\n',
      });
      expect(run.err).toMatch(/2 profiles scanned, 2 values rewritten/);
      expect(await store(ring(K2)).get('c2')).toEqual({ email: 'plain@example.com' });

      // Without the old key the values under it cannot be read: the run stops and says which key.
      await store(ring(K1)).merge('c3', { phone: SENSITIVE.phone });
      const missing = await cli(['profiles', 'reencrypt', '--restart'], {
        ...env,
        TOUCHPOINT_ENCRYPTION_KEYS: K2,
      });
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/phone: encrypted with key "k1", which is not in the key ring \(k2\)/);

      const noKeys = await cli(['profiles', 'reencrypt'], {
        REDIS_URL: testRedisUrl(),
        TOUCHPOINT_DATA_DIR: dir,
      });
      expect(noKeys.code).toBe(1);
      expect(noKeys.err).toMatch(/no encryption keys/);

      const key = await cli(['profiles', 'new-key', 'k3']);
      expect(key.out).toMatch(/^k3:[A-Za-z0-9+/]{43}=\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
