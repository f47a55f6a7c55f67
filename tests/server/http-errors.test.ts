import { Queue } from 'bullmq';
import request from 'supertest';
import { EVENTS_QUEUE, type IngestEvent } from '../../queues/events';
import { redisOptionsFromUrl } from '../../runtime/redis-server';
import { formatPath } from '../../server/errors';
import { testRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { basic, bearer, KEYS, startTestApp, type TestApp } from './fixture';

describe('formatPath', () => {
  test.each([
    [[], ''],
    [['batch', 2, 'properties', 'amount'], 'batch[2].properties.amount'],
    [['properties', 'first name'], 'properties["first name"]'],
    [['properties', 'a.b', 0], 'properties["a.b"][0]'],
    [['traits', '会员'], 'traits["会员"]'],
  ])('%j → %s', (path, text) => {
    expect(formatPath(path)).toBe(text);
  });
});

describe('HTTP errors', () => {
  let t: TestApp;
  afterEach(() => t.close());

  const post = (path: string) => request(t.app).post(path).set('Authorization', basic(KEYS.writeKey));

  test('a body over 500 KB is 413 payload_too_large and queues nothing', async () => {
    t = await startTestApp();
    const big = {
      batch: [{ type: 'track', userId: 'u', event: 'e', properties: { blob: 'x'.repeat(520_000) } }],
    };
    const res = await post('/v1/batch').send(big);
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      error: 'payload_too_large',
      message: expect.stringContaining('512000 bytes'),
    });
    expect(await t.jobs()).toHaveLength(0);

    const justUnder = { userId: 'u', event: 'e', properties: { blob: 'x'.repeat(500_000) } };
    expect((await post('/v1/track').send(justUnder)).status).toBe(202);
  });

  test('the body limit is configurable', async () => {
    t = await startTestApp({ bodyLimit: 1024 });
    const res = await post('/v1/track').send({
      userId: 'u',
      event: 'e',
      properties: { blob: 'x'.repeat(2000) },
    });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('payload_too_large');
  });

  test('malformed JSON is 400 invalid_json with the parser’s reason', async () => {
    t = await startTestApp();
    const res = await post('/v1/track')
      .set('Content-Type', 'application/json')
      .send('{"userId": "u", "event": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_json',
      message: expect.stringMatching(/^request body is not valid JSON: /),
    });
    expect(res.text).not.toMatch(/at .*\.js:\d+/);
    expect(await t.jobs()).toHaveLength(0);
  });

  test.each([
    ['form data', 'application/x-www-form-urlencoded', 'userId=u&event=e'],
    ['plain text', 'text/plain', '{"userId":"u","event":"e"}'],
  ])('%s is 400 unsupported_content_type', async (_what, type, body) => {
    t = await startTestApp();
    const res = await post('/v1/track').set('Content-Type', type).send(body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'unsupported_content_type',
      message: 'expected a JSON body with Content-Type: application/json',
    });
  });

  test('a charset other than UTF-8 is 415 unsupported_charset', async () => {
    t = await startTestApp();
    const res = await post('/v1/track')
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{"userId":"u","event":"e"}');
    expect(res.status).toBe(415);
    expect(res.body).toEqual({ error: 'unsupported_charset', message: 'unsupported charset "LATIN1"' });
  });

  test('a request without a body is 400', async () => {
    t = await startTestApp();
    const res = await post('/v1/identify');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_content_type');
  });

  test('a JSON array body is 400 at the root path', async () => {
    t = await startTestApp();
    const res = await post('/v1/track').send([{ userId: 'u', event: 'e' }]);
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: '', message: 'request body must be a JSON object' }]);
  });

  test('a bare JSON string is refused as malformed (express.json is strict)', async () => {
    t = await startTestApp();
    const res = await post('/v1/track').set('Content-Type', 'application/json').send('"hello"');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_json');
  });

  test.each([
    ['GET', '/'],
    ['GET', '/v1/nope'],
    ['GET', '/v1/track'],
    ['DELETE', '/healthz'],
  ])('%s %s is 404 JSON', async (method, path) => {
    t = await startTestApp();
    const res = await request(t.app)[method.toLowerCase() as 'get' | 'delete'](path);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ error: 'not_found', message: `no route for ${method} ${path}` });
  });

  test('an unexpected error is a bare 500; the stack goes to the log only', async () => {
    t = await startTestApp({
      runs: {
        describe: async () => {
          throw new Error('temporal said: secret internals');
        },
      },
    });
    const res = await request(t.app)
      .get('/v1/journeys/reactivation/customers/u-1')
      .set('Authorization', bearer(KEYS.adminKey));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'internal', message: 'internal server error' });
    expect(res.text).not.toContain('secret');
    const logged = t.logs.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'request failed');
    expect(logged.err.stack).toContain('temporal said: secret internals');
    expect(logged.url).toBe('/v1/journeys/reactivation/customers/u-1');
  });

  test('when Redis cannot take the events: 503 with Retry-After, logged', async () => {
    // A real queue whose connection is gone: every add fails at once.
    const connection = redisOptionsFromUrl(testRedisUrl());
    const prefix = uniquePrefix('server-closed');
    const closed = new Queue<IngestEvent>(EVENTS_QUEUE, { connection, prefix });
    await closed.waitUntilReady();
    await closed.close();
    t = await startTestApp({ eventsQueue: closed, enqueueTimeoutMs: 2000 });

    const res = await request(t.app)
      .post('/v1/batch')
      .set('Authorization', basic(KEYS.writeKey))
      .send({ batch: [{ type: 'track', userId: 'u', event: 'e', messageId: 'm-503' }] });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toEqual({
      error: 'unavailable',
      message: 'events could not be queued; retry with the same messageIds (repeats are ignored)',
    });
    expect(t.logs.join('\n')).toContain('events could not be queued');

    const redis = testRedis();
    const leftovers = await redis.keys(`${prefix}:*`); // the queue's meta key, written while it was open
    if (leftovers.length > 0) await redis.del(...leftovers);
    await redis.quit();
  });
});
