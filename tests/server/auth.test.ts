import request from 'supertest';
import { presentedKey } from '../../server/auth';
import { basic, bearer, KEYS, startTestApp, type TestApp } from './fixture';

describe('presentedKey', () => {
  test.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    [basic('abc'), 'abc'],
    [`Basic ${Buffer.from('abc').toString('base64')}`, 'abc'], // Segment tolerates a missing colon
    [`Basic ${Buffer.from('abc:ignored').toString('base64')}`, 'abc'],
    [undefined, undefined],
    ['', undefined],
    ['Bearer', undefined],
    ['Digest abc', undefined],
    [`Basic ${Buffer.from(':secret').toString('base64')}`, undefined],
  ])('%s → %s', (header, key) => {
    expect(presentedKey(header)).toBe(key);
  });
});

describe('API keys on the HTTP API', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  const event = { userId: 'u-1', event: 'Order Completed', messageId: 'm-auth' };

  test.each([
    [
      'no Authorization header',
      undefined,
      'missing API key: send the write key as the HTTP Basic username or as a Bearer token',
    ],
    ['a wrong Basic key', basic('nope'), 'invalid API key'],
    ['a wrong Bearer key', bearer('nope'), 'invalid API key'],
    [
      'the key as the Basic password',
      `Basic ${Buffer.from(`:${KEYS.writeKey}`).toString('base64')}`,
      expect.any(String),
    ],
  ])('ingestion with %s → 401, nothing queued', async (_what, auth, message) => {
    const req = request(t.app).post('/v1/track');
    if (auth) req.set('Authorization', auth);
    const res = await req.send(event);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'unauthorized', message });
    expect(res.headers['www-authenticate']).toBe('Basic realm="touchpoint", Bearer realm="touchpoint"');
    expect(await t.jobs()).toHaveLength(0);
  });

  test('checks the key before reading the body', async () => {
    const res = await request(t.app)
      .post('/v1/batch')
      .set('Content-Type', 'application/json')
      .send('{not json');
    expect(res.status).toBe(401);
  });

  test('the admin key may ingest too', async () => {
    const res = await request(t.app)
      .post('/v1/track')
      .set('Authorization', bearer(KEYS.adminKey))
      .send(event);
    expect(res.status).toBe(202);
    expect(await t.job('m-auth')).toBeDefined();
  });

  test.each(['/v1/journeys', '/v1/journeys/reactivation', '/v1/journeys/reactivation/customers/u-1'])(
    'GET %s: 401 without a key, 403 with the write key (role ingest), through with the admin key',
    async (path) => {
      const none = await request(t.app).get(path);
      expect(none.status).toBe(401);
      expect(none.body).toEqual({
        error: 'unauthorized',
        message: 'missing API key: send an API key as a Bearer token (or sign in to the console)',
      });
      expect(none.headers['www-authenticate']).toBe('Bearer realm="touchpoint"');
      const write = await request(t.app).get(path).set('Authorization', bearer(KEYS.writeKey));
      const writeBasic = await request(t.app).get(path).set('Authorization', basic(KEYS.writeKey));
      for (const res of [write, writeBasic]) {
        expect(res.status).toBe(403);
        expect(res.body.error).toBe('forbidden');
        expect(res.body.message).toMatch(/^role ingest may not (journeys|runs):read$/);
      }
      const admin = await request(t.app).get(path).set('Authorization', bearer(KEYS.adminKey));
      expect([200, 404]).toContain(admin.status);
    },
  );
});
