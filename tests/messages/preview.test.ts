import type { Redis } from 'ioredis';
import request from 'supertest';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { loadTemplates } from '../../messages/templates';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { testRedis, uniquePrefix } from '../support/redis';
import { templateDir, type TemplateDir } from './support';

/** POST /v1/templates/preview and GET /v1/templates through the app, profiles on the test Redis. */
let app: TestApp;
let redis: Redis;
let prefix: string;
let profiles: ProfileStore;
let t: TemplateDir;

const COUPON = {
  code: 'QM8D-2KXA',
  campaign: 'dormant',
  value: 50,
  currency: 'CNY',
  expiresAt: '2026-05-15T02:00:00Z',
};

beforeAll(async () => {
  t = templateDir();
  t.write('_layouts/email.hbs', '<html lang="{{locale}}"><title>{{subject}}</title>{{{body}}}</html>');
  t.write('_partials/brand.zh-CN.hbs', '栖木家居');
  t.write('_partials/brand.en.hbs', 'Qimu Home');
  t.write(
    'sms/offer.zh-CN.hbs',
    '【{{> brand}}】{{default customer.name "朋友"}}，送您{{money coupon.value decimals=0}}券，{{date coupon.expiresAt "M月d日"}}前有效。{{event.note}}退订回TD',
  );
  t.write(
    'sms/offer.en.hbs',
    '{{> brand}}: hi {{default customer.name "friend"}}, {{money coupon.value coupon.currency}} off until {{date coupon.expiresAt "short"}}. {{event.note}}Reply TD to opt out',
  );
  t.write(
    'email/news.zh-CN.hbs',
    '---\nsubject: "{{customer.name}}，新品上架"\n---\n<p>{{customer.name}}</p>',
  );
  t.write('email/news.en.hbs', '---\nsubject: "New in, {{customer.name}}"\n---\n<p>{{customer.name}}</p>');
  t.write('wecom/invite.zh-CN.hbs', '{{journey.name}} / {{event.name}} / {{customer.id}}');

  redis = testRedis();
  prefix = uniquePrefix('preview');
  profiles = new ProfileStore(redis, new RedisKeys(prefix));
  await profiles.merge('c-en', {
    name: 'Lina',
    locale: 'en',
    timezone: 'America/Los_Angeles',
    phone: '+1555',
  });
  await profiles.merge('c-zh', { name: '李娜', locale: 'zh-CN' });
  app = await startTestApp({ templates: { templates: loadTemplates(t.dir), profiles } });
});

afterAll(async () => {
  await app.close();
  for await (const found of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
    if ((found as string[]).length > 0) await redis.del(...(found as string[]));
  }
  await redis.quit();
  t.remove();
});

const preview = (body: unknown, key = KEYS.adminKey) =>
  request(app.app)
    .post('/v1/templates/preview')
    .set('Authorization', bearer(key))
    .send(body as object);

describe('GET /v1/templates', () => {
  it('lists every template once per channel with its locales', async () => {
    const res = await request(app.app).get('/v1/templates').set('Authorization', bearer(KEYS.adminKey));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      templates: [
        { channel: 'email', name: 'news', locales: ['en', 'zh-CN'] },
        { channel: 'sms', name: 'offer', locales: ['en', 'zh-CN'] },
        { channel: 'wecom', name: 'invite', locales: ['zh-CN'] },
      ],
    });
  });

  it('needs a key whose role may read journeys (401 without one, 403 for the write key)', async () => {
    expect((await request(app.app).get('/v1/templates')).status).toBe(401);
    expect(
      (await request(app.app).get('/v1/templates').set('Authorization', bearer(KEYS.writeKey))).status,
    ).toBe(403);
    expect((await preview({ channel: 'sms', template: 'offer' }, KEYS.writeKey)).status).toBe(403);
  });
});

describe('POST /v1/templates/preview', () => {
  it('renders for a stored customer: their traits, locale and time zone', async () => {
    const res = await preview({
      channel: 'sms',
      template: 'offer',
      customerId: 'c-en',
      coupons: { c: COUPON },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      subject: null,
      body: 'Qimu Home: hi Lina, CN¥50.00 off until 5/14/2026. Reply TD to opt out',
      locale: 'en',
      length: { encoding: 'GSM-7', chars: 69, parts: 1 }, // ¥ is a GSM character
    });
  });

  it('renders for given traits, which override the stored ones, with an event and the locale asked for', async () => {
    const res = await preview({
      channel: 'sms',
      template: 'offer',
      customerId: 'c-zh',
      traits: { name: '娜娜' },
      event: { name: 'segment_entered', properties: { note: '限时！' } },
      coupons: { c: COUPON },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      body: '【栖木家居】娜娜，送您¥50券，5月15日前有效。限时！退订回TD',
      locale: 'zh-CN',
      length: { encoding: 'UCS-2', chars: 33, parts: 1 },
    });
    const anonymous = await preview({ channel: 'sms', template: 'offer', locale: 'en-GB', traits: {} });
    expect(anonymous.body).toMatchObject({
      body: 'Qimu Home: hi friend,  off until . Reply TD to opt out',
      locale: 'en',
    });
    expect(anonymous.body.length).toEqual({ encoding: 'GSM-7', chars: 54, parts: 1 });
  });

  it('falls back to the journey’s default locale (zh-CN without a journey) and fills in the journey', async () => {
    const ja = await preview({ channel: 'sms', template: 'offer', locale: 'ja', traits: { name: 'Aiko' } });
    expect(ja.body.locale).toBe('zh-CN');
    const res = await preview({
      channel: 'wecom',
      template: 'invite',
      journeyId: 'reactivation',
      event: { name: 'segment_entered' },
      customerId: 'c-zh',
    });
    expect(res.body).toEqual({
      subject: null,
      body: 'Dormant-customer reactivation / segment_entered / c-zh',
      locale: 'zh-CN',
      length: { chars: 54, parts: 1, bytes: 54 },
    });
  });

  it('renders email subjects and the layout', async () => {
    const res = await preview({
      channel: 'email',
      template: 'news',
      traits: { name: 'Li <Na>', locale: 'en' },
    });
    expect(res.body).toMatchObject({
      subject: 'New in, Li <Na>',
      body: '<html lang="en"><title>New in, Li &lt;Na&gt;</title><p>Li &lt;Na&gt;</p></html>',
      locale: 'en',
    });
  });

  it('answers 422 for a message over the channel’s limit, still showing it', async () => {
    const res = await preview({
      channel: 'sms',
      template: 'offer',
      customerId: 'c-zh',
      event: { name: 'x', properties: { note: '好'.repeat(200) } },
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      error: 'content_too_long',
      message: expect.stringMatching(/make 4 SMS parts; at most 3 are allowed/),
      exceeded: { field: 'body', unit: 'parts', limit: 3, actual: 4 },
      subject: null,
      body: expect.stringMatching(/^【栖木家居】李娜，送您/),
      locale: 'zh-CN',
      length: { encoding: 'UCS-2', parts: 4 },
    });
  });

  it('answers 404 for an unknown template, customer or journey', async () => {
    const template = await preview({ channel: 'push', template: 'offer', traits: {} });
    expect(template.status).toBe(404);
    expect(template.body).toEqual({
      error: 'not_found',
      message: 'no template push/offer in any of the locales zh-CN, zh, en',
    });
    const customer = await preview({ channel: 'sms', template: 'offer', customerId: 'nobody' });
    expect(customer.status).toBe(404);
    expect(customer.body.message).toBe('no profile for customer "nobody"');
    const journey = await preview({ channel: 'sms', template: 'offer', journeyId: 'nope' });
    expect(journey.status).toBe(404);
  });

  it('answers 400 with the path of every bad field', async () => {
    // Raw JSON: an object literal's __proto__ would set the prototype rather than a key.
    const res = await preview(
      '{"channel": "fax", "locale": "Chinese!", "traits": {"__proto__": 1, "ok": true},' +
        ' "event": {"properties": []}, "coupons": {"c": "FIFTY"}, "extra": 1}',
    ).set('Content-Type', 'application/json');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.issues).toEqual(
      expect.arrayContaining([
        { path: 'extra', message: expect.stringMatching(/^unknown field/) },
        { path: 'channel', message: 'must be one of sms, email, wecom, miniprogram, push, webhook' },
        { path: 'template', message: 'is required' },
        { path: 'locale', message: 'must be a locale such as `zh-CN` or `en`' },
        { path: 'traits.__proto__', message: '"__proto__" is a reserved key' },
        { path: 'event.name', message: 'is required' },
        { path: 'event.properties', message: 'must be a JSON object' },
        { path: 'coupons.c', message: 'must be an object' },
      ]),
    );
    expect(res.body.issues).toHaveLength(8);
    const notJson = await request(app.app)
      .post('/v1/templates/preview')
      .set('Authorization', bearer(KEYS.adminKey))
      .set('Content-Type', 'text/plain')
      .send('hi');
    expect(notJson.status).toBe(400);
  });
});
