import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { SignedTokens } from '../../config/signed-tokens';
import { RedisKeys } from '../../customers/keys';
import { normalisePhone, ProfileStore } from '../../customers/profiles';
import { createRules, type Rules } from '../../rules';
import { parseRulesConfig } from '../../rules/config';
import { UnsubscribeLinks } from '../../rules/unsubscribe';
import { basic, bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { testRedis, uniquePrefix } from '../support/redis';

const PUBLIC_URL = 'https://touch.example.com';

describe('opt-out paths over HTTP (real Redis)', () => {
  let redis: Redis;
  let t: TestApp;
  let rules: Rules;
  let profiles: ProfileStore;
  let tokens: SignedTokens;

  beforeAll(() => {
    redis = testRedis();
  });
  beforeEach(async () => {
    const keys = new RedisKeys(uniquePrefix('optout'));
    tokens = new SignedTokens(randomBytes(32));
    rules = createRules({ redis, keys, config: parseRulesConfig({}), tokens, publicUrl: PUBLIC_URL });
    profiles = new ProfileStore(redis, keys);
    t = await startTestApp({
      rules: {
        consent: rules.consent,
        profiles,
        links: rules.links,
        smsKeywords: rules.config.consent.smsKeywords,
      },
    });
  });
  afterEach(() => t.close());
  afterAll(async () => {
    await redis.quit();
  });

  const post = (path: string, body: unknown, key = KEYS.writeKey) =>
    request(t.app)
      .post(path)
      .set('Authorization', basic(key))
      .send(body as object);
  const allowed = async (customerId: string, channel: 'sms' | 'email', topic = 'marketing') =>
    (await rules.consent.check(customerId, channel, topic)).allowed;

  describe('POST /v1/consent and GET /v1/customers/:id/consent', () => {
    test('a revocation by API is in effect at once and shows in the history', async () => {
      const res = await post('/v1/consent', { userId: 'c1', channel: 'sms', status: 'revoked' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        customerId: 'c1',
        consent: {
          channel: 'sms',
          topic: 'marketing',
          status: 'revoked',
          source: 'api',
          at: expect.any(String),
        },
      });
      expect(await allowed('c1', 'sms')).toBe(false);

      const granted = await post('/v1/consent', {
        userId: 'c1',
        channel: 'email',
        topic: 'new-products',
        status: 'granted',
        source: 'store-form',
        timestamp: '2024-05-01T20:00:00+08:00',
      });
      expect(granted.status).toBe(200);
      expect(granted.body.consent.at).toBe('2024-05-01T12:00:00.000Z');

      const view = await request(t.app)
        .get('/v1/customers/c1/consent')
        .set('Authorization', bearer(KEYS.adminKey));
      expect(view.status).toBe(200);
      expect(view.body).toEqual({
        customerId: 'c1',
        default: 'granted',
        consents: [
          expect.objectContaining({
            channel: 'email',
            topic: 'new-products',
            status: 'granted',
            source: 'store-form',
          }),
          expect.objectContaining({ channel: 'sms', topic: 'marketing', status: 'revoked', source: 'api' }),
        ],
        history: [
          expect.objectContaining({ channel: 'sms', status: 'revoked' }),
          expect.objectContaining({ channel: 'email', status: 'granted' }),
        ],
      });
    });

    test('bad input: 400 with the path of every bad field, nothing recorded', async () => {
      const res = await post('/v1/consent', {
        userId: '',
        channel: 'fax',
        topic: 'New Products',
        status: 'maybe',
        source: 42,
        timestamp: 'yesterday',
        extra: true,
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(
        ['channel', 'extra', 'source', 'status', 'timestamp', 'topic', 'userId'].sort(),
      );
      expect((await post('/v1/consent', [])).status).toBe(400);
      const missing = await post('/v1/consent', { channel: 'sms' });
      expect(missing.body.issues).toEqual([
        { path: 'userId', message: 'is required' },
        { path: 'status', message: 'must be `granted` or `revoked`' },
      ]);
      expect(await rules.consent.history('')).toEqual([]);
    });

    test('keys: the write key records, only the admin key reads', async () => {
      expect(
        (await post('/v1/consent', { userId: 'c1', channel: 'sms', status: 'revoked' }, 'nope')).status,
      ).toBe(401);
      expect(await rules.consent.history('c1')).toEqual([]);
      expect(
        (await request(t.app).get('/v1/customers/c1/consent').set('Authorization', basic(KEYS.writeKey)))
          .status,
      ).toBe(403);
    });
  });

  describe('unsubscribe link /u/:token', () => {
    test('GET revokes email consent for the topic and answers a page in Chinese by default', async () => {
      const url = rules.links.url('c1', 'new-products');
      expect(url.startsWith(`${PUBLIC_URL}/u/`)).toBe(true);
      const path = url.slice(PUBLIC_URL.length);

      const res = await request(t.app).get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toContain('<html lang="zh-CN">');
      expect(res.text).toContain('退订成功');
      expect(await allowed('c1', 'email', 'new-products')).toBe(false);
      expect(await allowed('c1', 'email', 'marketing')).toBe(true);
      expect(await rules.consent.history('c1')).toEqual([
        expect.objectContaining({
          channel: 'email',
          topic: 'new-products',
          status: 'revoked',
          source: 'unsubscribe-link',
        }),
      ]);

      // A second click (or a mail scanner) changes nothing more; English for an English reader.
      const again = await request(t.app).get(path).set('Accept-Language', 'en-US,en;q=0.9');
      expect(again.status).toBe(200);
      expect(again.text).toContain('<html lang="en">');
      expect(again.text).toContain('You are unsubscribed');
      expect(await rules.consent.history('c1')).toHaveLength(1);
    });

    test('POST (RFC 8058 one-click from the List-Unsubscribe header) revokes too', async () => {
      const path = rules.links.url('c2', 'marketing').slice(PUBLIC_URL.length);
      const res = await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click');
      expect(res.status).toBe(200);
      expect(await allowed('c2', 'email')).toBe(false);
    });

    test('a forged or altered token: 400, nothing changes', async () => {
      const genuine = rules.links.url('victim', 'marketing').split('/u/')[1]!;
      const [body, mac] = genuine.split('.') as [string, string];
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
      const edited = Buffer.from(JSON.stringify({ ...payload, customerId: 'someone-else' })).toString(
        'base64url',
      );
      const otherSecret = new UnsubscribeLinks(new SignedTokens(randomBytes(32)), PUBLIC_URL)
        .url('victim', 'marketing')
        .split('/u/')[1]!;
      // Signed by us, but for another purpose (a tracked link): not an unsubscribe token.
      const otherPurpose = tokens.sign({
        k: 'wf/run/step/0',
        u: 'https://shop.example.com',
        customerId: 'victim',
        topic: 'marketing',
      });

      for (const token of [
        `${edited}.${mac}`,
        `${body}.${mac.slice(0, -2)}xx`,
        `${body}.`,
        body,
        otherSecret,
        otherPurpose,
        'garbage',
      ]) {
        const res = await request(t.app).get(`/u/${token}`);
        expect(res.status).toBe(400);
        expect(res.text).toContain('链接无效');
      }
      expect((await request(t.app).post(`/u/${edited}.${mac}`)).status).toBe(400);
      expect((await request(t.app).get('/u/')).status).toBe(404);
      expect(await rules.consent.history('victim')).toEqual([]);
      expect(await rules.consent.history('someone-else')).toEqual([]);
      expect(await allowed('victim', 'email')).toBe(true);
    });
  });

  describe('SMS reply keywords: POST /v1/inbound/sms', () => {
    beforeEach(async () => {
      await profiles.merge('c1', { name: 'Li', phone: '+86 138-0013-8000' });
      await profiles.merge('c2', { phone: '13800138000' }); // the same number, written differently
      await profiles.merge('c3', { phone: '+8613900139000' });
    });

    test('TD revokes SMS consent, every topic, of each customer with that phone', async () => {
      const res = await post('/v1/inbound/sms', { from: '8613800138000', text: ' td ', to: '106900001234' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ optOut: true, keyword: 'TD' });
      for (const customerId of ['c1', 'c2']) {
        expect(await allowed(customerId, 'sms', 'marketing')).toBe(false);
        expect(await allowed(customerId, 'sms', 'new-products')).toBe(false);
        expect(await allowed(customerId, 'email', 'marketing')).toBe(true);
        expect(await rules.consent.history(customerId)).toEqual([
          expect.objectContaining({ channel: 'sms', topic: '*', status: 'revoked', source: 'sms-reply' }),
        ]);
      }
      expect(await allowed('c3', 'sms')).toBe(true);
    });

    test.each(['退订', 'STOP', 'unsubscribe'])('%s works too', async (text) => {
      expect((await post('/v1/inbound/sms', { from: '+8613900139000', text })).body.optOut).toBe(true);
      expect(await allowed('c3', 'sms')).toBe(false);
    });

    test('any other reply changes nothing', async () => {
      const res = await post('/v1/inbound/sms', { from: '+8613800138000', text: '好的，谢谢' });
      expect(res.body).toEqual({ optOut: false });
      expect(await rules.consent.history('c1')).toEqual([]);
    });

    test('the index follows phone changes: the old number no longer reaches the customer', async () => {
      await profiles.merge('c1', { phone: '+8613700137000' });
      expect(await profiles.customersByPhone('13800138000')).toEqual(['c2']);
      expect(await profiles.customersByPhone('+86 137 0013 7000')).toEqual(['c1']);
      await post('/v1/inbound/sms', { from: '+8613800138000', text: 'TD' });
      expect(await allowed('c1', 'sms')).toBe(true);
      expect(await allowed('c2', 'sms')).toBe(false);

      await profiles.merge('c2', { phone: null }); // phone removed
      expect(await profiles.customersByPhone('+8613800138000')).toEqual([]);
    });

    test('bad input: 400 with paths; a wrong key: 401', async () => {
      const res = await post('/v1/inbound/sms', { text: 5 });
      expect(res.status).toBe(400);
      expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual(['from', 'text']);
      expect((await post('/v1/inbound/sms', { from: '+8613800138000', text: 'TD' }, 'nope')).status).toBe(
        401,
      );
      expect(await allowed('c1', 'sms')).toBe(true);
    });
  });
});

describe('normalisePhone', () => {
  test.each([
    ['+86 138-0013-8000', '+8613800138000'],
    ['13800138000', '+8613800138000'],
    ['8613800138000', '+8613800138000'],
    ['008613800138000', '+8613800138000'],
    [13800138000, '+8613800138000'],
    ['+1 (212) 555-0100', '+12125550100'],
    ['12125550100', '12125550100'],
    ['not a phone', undefined],
    ['', undefined],
    [null, undefined],
  ])('%p → %p', (input, expected) => {
    expect(normalisePhone(input)).toBe(expected);
  });
});
