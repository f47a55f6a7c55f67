import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { KeyStore } from '../../access/key-store';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { redisSnapshot } from './support';

/*
 * The key store on the real test Redis: secrets stored only as SHA-256, lookups that write
 * nothing, rotation with a grace period (a clock the test moves), revocation at once, expiry.
 */

let redis: Redis;
let prefix: string;
let clock: Date;
let store: KeyStore;

beforeEach(() => {
  redis = testRedis();
  prefix = uniquePrefix('keys');
  clock = new Date('2025-06-01T08:00:00Z');
  store = new KeyStore(redis, prefix, () => clock);
});
afterEach(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const later = (seconds: number) => (clock = new Date(clock.getTime() + seconds * 1000));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

test('a created key resolves to its principal; Redis holds its SHA-256, never the secret', async () => {
  const { key, secret } = await store.create({ name: 'Li Na', role: 'marketer', createdBy: 'admin' });
  expect(secret).toMatch(/^tp_marketer_[A-Za-z0-9_-]{43}$/);
  expect(key).toEqual({
    id: expect.stringMatching(/^k_[A-Za-z0-9_-]{12}$/),
    name: 'Li Na',
    role: 'marketer',
    createdAt: '2025-06-01T08:00:00.000Z',
    createdBy: 'admin',
    status: 'active',
  });
  expect(await store.resolve(secret)).toEqual({ keyId: key.id, name: 'Li Na', role: 'marketer' });
  expect(await store.byId(key.id)).toEqual({ keyId: key.id, name: 'Li Na', role: 'marketer' });

  const snapshot = await redisSnapshot(redis, prefix);
  const everything = JSON.stringify(snapshot);
  expect(everything).not.toContain(secret);
  expect(everything).not.toContain(secret.slice('tp_marketer_'.length));
  expect(Object.keys(snapshot)).toContain(`${prefix}:access:secret:${sha256(secret)}`);

  for (const wrong of [`${secret}x`, secret.slice(0, -1), sha256(secret), 'tp_', 'not-a-key'])
    expect(await store.resolve(wrong)).toBeUndefined();
});

test('authentication writes nothing, accepted or refused', async () => {
  const { secret } = await store.create({ name: 'ops', role: 'operator', createdBy: 'admin' });
  const before = await redisSnapshot(redis, prefix);
  expect(await store.resolve(secret)).toBeDefined();
  expect(await store.resolve('tp_operator_unknown')).toBeUndefined();
  expect(await store.byId('k_unknown')).toBeUndefined();
  expect(await redisSnapshot(redis, prefix)).toEqual(before);
});

test('rotation: the new secret works at once, the old one until its grace ends, then not', async () => {
  const { key, secret: first } = await store.create({ name: 'ci', role: 'publisher', createdBy: 'admin' });
  const rotated = await store.rotate(key.id, { graceSeconds: 3600 });
  expect(rotated.secret).not.toBe(first);
  expect(rotated.key).toMatchObject({
    id: key.id,
    status: 'active',
    rotatedAt: '2025-06-01T08:00:00.000Z',
    previousSecretValidUntil: '2025-06-01T09:00:00.000Z',
  });
  expect((await store.resolve(first))?.keyId).toBe(key.id);
  expect((await store.resolve(rotated.secret))?.keyId).toBe(key.id);

  later(3599);
  expect((await store.resolve(first))?.keyId).toBe(key.id);
  later(1);
  expect(await store.resolve(first)).toBeUndefined();
  expect((await store.resolve(rotated.secret))?.keyId).toBe(key.id);
  expect((await store.get(key.id))?.previousSecretValidUntil).toBeUndefined();
  // Redis drops the old secret's record when its grace ends (a TTL of the grace, in real time).
  const ttl = await redis.pttl(`${prefix}:access:secret:${sha256(first)}`);
  expect(ttl).toBeGreaterThan(3_590_000);
  expect(ttl).toBeLessThanOrEqual(3_600_000);
});

test('rotating again never lengthens an older grace; grace 0 stops the old secret at once', async () => {
  const { key, secret: a } = await store.create({ name: 'ci', role: 'publisher', createdBy: 'admin' });
  const { secret: b } = await store.rotate(key.id, { graceSeconds: 600 });
  later(60);
  const { secret: c } = await store.rotate(key.id, { graceSeconds: 86_400 });
  later(600);
  expect(await store.resolve(a)).toBeUndefined(); // its 600 s from the first rotation are over
  expect((await store.resolve(b))?.keyId).toBe(key.id); // a day from the second rotation
  const { secret: d } = await store.rotate(key.id, { graceSeconds: 0 });
  for (const old of [a, b, c]) expect(await store.resolve(old)).toBeUndefined();
  expect((await store.resolve(d))?.keyId).toBe(key.id);
  expect(await redis.smembers(`${prefix}:access:key:${key.id}:secrets`)).toEqual([sha256(d)]);
});

test('revocation stops every secret at once, keeps the record; a second revoke or a rotate is refused', async () => {
  const { key, secret } = await store.create({ name: 'leaver', role: 'auditor', createdBy: 'admin' });
  const { secret: newer } = await store.rotate(key.id);
  const revoked = await store.revoke(key.id, { by: 'admin', reason: 'left the company' });
  expect(revoked).toMatchObject({
    status: 'revoked',
    revokedAt: '2025-06-01T08:00:00.000Z',
    revokedBy: 'admin',
    revokeReason: 'left the company',
  });
  expect(await store.resolve(secret)).toBeUndefined();
  expect(await store.resolve(newer)).toBeUndefined();
  expect(await store.byId(key.id)).toBeUndefined();
  expect(await redis.keys(`${prefix}:access:secret:*`)).toEqual([]);
  expect((await store.list()).map((k) => [k.id, k.status])).toEqual([[key.id, 'revoked']]);

  await expect(store.revoke(key.id, { by: 'admin', reason: 'again' })).rejects.toMatchObject({
    kind: 'conflict',
  });
  await expect(store.rotate(key.id)).rejects.toMatchObject({ kind: 'conflict' });
  await expect(store.rotate('k_nope')).rejects.toMatchObject({ kind: 'not_found' });
  await expect(store.revoke('k_nope', { by: 'admin', reason: 'x' })).rejects.toMatchObject({
    kind: 'not_found',
  });
});

test('an expired key stops working at its expiry and is listed as expired', async () => {
  const { key, secret } = await store.create({
    name: 'contractor',
    role: 'marketer',
    createdBy: 'admin',
    expiresAt: '2025-06-02T08:00:00Z',
  });
  expect(key.expiresAt).toBe('2025-06-02T08:00:00.000Z');
  later(86_399);
  expect(await store.resolve(secret)).toBeDefined();
  later(1);
  expect(await store.resolve(secret)).toBeUndefined();
  expect(await store.byId(key.id)).toBeUndefined();
  expect((await store.get(key.id))?.status).toBe('expired');
});

test('list: every key, oldest first', async () => {
  const a = await store.create({ name: 'a', role: 'ingest', createdBy: 'admin' });
  later(1);
  const b = await store.create({ name: 'b', role: 'admin', createdBy: 'a' });
  expect((await store.list()).map((k) => [k.name, k.role, k.createdBy])).toEqual([
    ['a', 'ingest', 'admin'],
    ['b', 'admin', 'a'],
  ]);
  expect((await store.list()).map((k) => k.id)).toEqual([a.key.id, b.key.id]);
});
