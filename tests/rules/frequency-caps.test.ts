import type { Redis } from 'ioredis';
import { RedisKeys } from '../../customers/keys';
import { parseRulesConfig } from '../../rules/config';
import { FrequencyCaps } from '../../rules/frequency-caps';
import { testRedis, uniquePrefix } from '../support/redis';

const SHANGHAI = 'Asia/Shanghai';
const NOON = new Date('2024-05-01T12:00:00+08:00'); // a Wednesday

describe('frequency caps (real Redis)', () => {
  let redis: Redis;
  let keys: RedisKeys;

  beforeAll(() => {
    redis = testRedis();
  });
  beforeEach(() => {
    keys = new RedisKeys(uniquePrefix('caps'));
  });
  afterAll(async () => {
    await redis.quit();
  });

  const capsOf = (frequencyCaps: unknown) =>
    new FrequencyCaps(redis, keys, parseRulesConfig({ frequencyCaps }).frequencyCaps);

  test('many concurrent sends: exactly the cap gets through, the counter never overshoots', async () => {
    const caps = capsOf({ perChannel: { sms: { day: 5 } } });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => caps.consume('c1', 'sms', `touch-${i}`, NOON, SHANGHAI)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    expect(results.filter((r) => !r.allowed)).toEqual(Array(35).fill({ allowed: false, cap: 'sms:day' }));
    expect(await caps.usage('c1', 'sms', NOON, SHANGHAI)).toEqual({ 'sms:day': 5 });
  });

  test('concurrent sends on several channels share the overall cap', async () => {
    const caps = capsOf({ perChannel: { sms: { day: 2 } }, overall: { day: 3 } });
    const channels = ['sms', 'email', 'wecom', 'push'] as const;
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        caps.consume('c1', channels[i % 4]!, `touch-${i}`, NOON, SHANGHAI),
      ),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
    const usage = {
      ...(await caps.usage('c1', 'sms', NOON, SHANGHAI)),
      ...(await caps.usage('c1', 'email', NOON, SHANGHAI)),
    };
    expect(usage['all:day']).toBe(3);
    expect(usage['sms:day']).toBeLessThanOrEqual(2);
  });

  test('counted once per idempotency key, also when the same touch is retried concurrently', async () => {
    const caps = capsOf({ perChannel: { sms: { day: 1 } }, overall: { week: 10 } });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => caps.consume('c1', 'sms', 'wf/run/offer/0', NOON, SHANGHAI)),
    );
    expect(results.filter((r) => r.allowed && r.counted === 'now')).toHaveLength(1);
    expect(results.filter((r) => r.allowed && r.counted === 'before')).toHaveLength(9);
    expect(await caps.usage('c1', 'sms', NOON, SHANGHAI)).toEqual({ 'sms:day': 1, 'all:week': 1 });
    // A later retry of that touch still passes (its count is in), a new touch does not.
    expect(await caps.consume('c1', 'sms', 'wf/run/offer/0', NOON, SHANGHAI)).toEqual({
      allowed: true,
      counted: 'before',
    });
    expect(await caps.consume('c1', 'sms', 'wf/run/offer/1', NOON, SHANGHAI)).toEqual({
      allowed: false,
      cap: 'sms:day',
    });
  });

  test('all or none: a touch refused by one cap counts against none', async () => {
    const caps = capsOf({ perChannel: { sms: { day: 1 } }, overall: { day: 3, week: 4 } });
    expect((await caps.consume('c1', 'sms', 'k1', NOON, SHANGHAI)).allowed).toBe(true);
    expect(await caps.consume('c1', 'sms', 'k2', NOON, SHANGHAI)).toEqual({ allowed: false, cap: 'sms:day' });
    expect(await caps.usage('c1', 'sms', NOON, SHANGHAI)).toEqual({
      'sms:day': 1,
      'all:day': 1,
      'all:week': 1,
    });

    expect((await caps.consume('c1', 'email', 'k3', NOON, SHANGHAI)).allowed).toBe(true);
    expect((await caps.consume('c1', 'wecom', 'k4', NOON, SHANGHAI)).allowed).toBe(true);
    expect(await caps.consume('c1', 'push', 'k5', NOON, SHANGHAI)).toEqual({
      allowed: false,
      cap: 'all:day',
    });

    // Next day: a fresh day, but the week has room for one more only.
    const thursday = new Date('2024-05-02T12:00:00+08:00');
    expect((await caps.consume('c1', 'push', 'k6', thursday, SHANGHAI)).allowed).toBe(true);
    expect(await caps.consume('c1', 'email', 'k7', thursday, SHANGHAI)).toEqual({
      allowed: false,
      cap: 'all:week',
    });
    // The next ISO week (Monday 6 May) starts from zero.
    const monday = new Date('2024-05-06T12:00:00+08:00');
    expect((await caps.consume('c1', 'email', 'k8', monday, SHANGHAI)).allowed).toBe(true);
  });

  test("periods are the customer's local calendar day and ISO week", async () => {
    const caps = capsOf({ perChannel: { sms: { day: 1 } } });
    const lateEvening = new Date('2024-05-01T23:30:00+08:00'); // 11:30 in New York
    const afterMidnight = new Date('2024-05-02T00:30:00+08:00'); // 12:30 in New York, same day

    expect((await caps.consume('sh', 'sms', 'a', lateEvening, SHANGHAI)).allowed).toBe(true);
    expect((await caps.consume('sh', 'sms', 'b', afterMidnight, SHANGHAI)).allowed).toBe(true);

    expect((await caps.consume('ny', 'sms', 'c', lateEvening, 'America/New_York')).allowed).toBe(true);
    expect(await caps.consume('ny', 'sms', 'd', afterMidnight, 'America/New_York')).toEqual({
      allowed: false,
      cap: 'sms:day',
    });
  });

  test('caps are per customer, and a cap of 0 turns a channel off for marketing', async () => {
    const caps = capsOf({ perChannel: { sms: { day: 1 }, push: { day: 0 } } });
    expect((await caps.consume('c1', 'sms', 'k1', NOON, SHANGHAI)).allowed).toBe(true);
    expect((await caps.consume('c2', 'sms', 'k2', NOON, SHANGHAI)).allowed).toBe(true);
    expect(await caps.consume('c1', 'push', 'k3', NOON, SHANGHAI)).toEqual({
      allowed: false,
      cap: 'push:day',
    });
  });

  test('no caps configured: nothing is counted', async () => {
    const caps = capsOf(undefined);
    expect(await caps.consume('c1', 'sms', 'k1', NOON, SHANGHAI)).toEqual({
      allowed: true,
      counted: 'no-caps',
    });
    expect(await redis.keys(`${keys.capCounter('c1', '*', '*')}`)).toEqual([]);
  });

  test('counters expire after their period (TTL set)', async () => {
    const caps = capsOf({ perChannel: { sms: { day: 2, week: 5 } } });
    await caps.consume('c1', 'sms', 'k1', NOON, SHANGHAI);
    const dayTtl = await redis.ttl(keys.capCounter('c1', 'sms', 'd:2024-05-01'));
    const weekTtl = await redis.ttl(keys.capCounter('c1', 'sms', 'w:2024-W18'));
    expect(dayTtl).toBeGreaterThan(24 * 3600);
    expect(dayTtl).toBeLessThanOrEqual(3 * 24 * 3600);
    expect(weekTtl).toBeGreaterThan(7 * 24 * 3600);
  });
});
