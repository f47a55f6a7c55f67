import type { Redis } from 'ioredis';
import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { SignedTokens } from '../../config/signed-tokens';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { createRules, type Rules } from '../../rules';
import { parseRulesConfig } from '../../rules/config';
import { basic, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { testCipher } from './support';

/**
 * Inbound SMS replies find customers by number. With encryption on, the phone index is keyed by
 * the number's blind index (an HMAC): no number in any key name, and TD still opts out.
 */
describe('the blind phone index keeps inbound SMS opt-out working (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let keys: RedisKeys;
  let profiles: ProfileStore;
  let rules: Rules;
  let t: TestApp;

  beforeAll(() => {
    redis = testRedis();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('bidx');
    keys = new RedisKeys(prefix);
    profiles = new ProfileStore(redis, keys, { cipher: testCipher() });
    rules = createRules({
      redis,
      keys,
      config: parseRulesConfig({}),
      tokens: new SignedTokens(randomBytes(32)),
      publicUrl: 'https://touch.example.com',
    });
    t = await startTestApp({
      rules: {
        consent: rules.consent,
        profiles,
        links: rules.links,
        smsKeywords: rules.config.consent.smsKeywords,
      },
    });
  });
  afterEach(async () => {
    await t.close();
    await deleteKeys(redis, prefix);
  });
  afterAll(() => redis.quit());

  const allowed = async (customerId: string) =>
    (await rules.consent.check(customerId, 'sms', 'marketing')).allowed;
  const reply = (from: string, text = 'TD') =>
    request(t.app).post('/v1/inbound/sms').set('Authorization', basic(KEYS.writeKey)).send({ from, text });

  test('numbers in any written form meet in the blind index; no key or value holds the number', async () => {
    await profiles.merge('c1', { name: 'Li', phone: '+86 138-0013-8000' });
    await profiles.merge('c2', { phone: '13800138000' });
    await profiles.merge('c3', { phone: '+8613900139000' });

    const all: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 }))
      all.push(...(batch as string[]));
    expect(all.some((k) => k.includes('138') || k.includes('139'))).toBe(false);
    expect(all.filter((k) => k.includes(':phone-bi:'))).toHaveLength(2);
    for (const key of all.filter((k) => k.includes(':profile:')))
      expect(JSON.stringify(await redis.hgetall(key))).not.toMatch(/138|139/);

    expect(await profiles.customersByPhone('008613800138000')).toEqual(['c1', 'c2']);
    const res = await reply('8613800138000');
    expect(res.body).toEqual({ optOut: true, keyword: 'TD' });
    expect(await allowed('c1')).toBe(false);
    expect(await allowed('c2')).toBe(false);
    expect(await allowed('c3')).toBe(true);
  });

  test('the index follows phone changes and removals', async () => {
    await profiles.merge('c1', { phone: '+8613800138000' });
    await profiles.merge('c2', { phone: '+8613800138000' });
    await profiles.merge('c1', { phone: '+8613700137000' });
    expect(await profiles.customersByPhone('13800138000')).toEqual(['c2']);
    expect(await profiles.customersByPhone('13700137000')).toEqual(['c1']);
    await profiles.merge('c2', { phone: null });
    expect(await profiles.customersByPhone('13800138000')).toEqual([]);
    await reply('+8613700137000');
    expect(await allowed('c1')).toBe(false);
  });

  test('customers indexed before encryption are still found, and move to the blind index when written', async () => {
    await new ProfileStore(redis, keys).merge('old', { phone: '13800138000' });
    expect(await redis.exists(keys.customersByPhone('+8613800138000'))).toBe(1);
    await profiles.merge('new', { phone: '+8613800138000' });
    expect(await profiles.customersByPhone('+8613800138000')).toEqual(['new', 'old']);
    await reply('+8613800138000', '退订');
    expect(await allowed('old')).toBe(false);
    expect(await allowed('new')).toBe(false);

    await profiles.merge('old', { phone: '13800138000' });
    expect(await redis.exists(keys.customersByPhone('+8613800138000'))).toBe(0);
    expect(await profiles.customersByPhone('+8613800138000')).toEqual(['new', 'old']);
  });
});
