import type { Redis } from 'ioredis';
import { AccessTokenCache, callWeChatApi, readTokenAnswer } from '../../../delivery/providers/access-token';
import { PermanentDeliveryError } from '../../../delivery/providers/provider';
import { testRedis, uniquePrefix } from '../../support/redis';
import { json, startHttpServer, type TestHttpServer } from '../support';

describe('AccessTokenCache, shared through Redis', () => {
  let redis: Redis;
  let key: string;
  let api: TestHttpServer | undefined;
  let expiresIn = 7200;
  let delayMs = 0;

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(async () => {
    key = `${uniquePrefix('token')}:access-token:test`;
    expiresIn = 7200;
    delayMs = 0;
    // A real token endpoint: a new token per call, answering after `delayMs`.
    api = await startHttpServer((res) => {
      const token = `tok-${api!.requests.length}`;
      setTimeout(() => json(res, 200, { errcode: 0, access_token: token, expires_in: expiresIn }), delayMs);
    });
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  /** A cache as one worker holds it; every cache with the same key shares the token. */
  function cache(): AccessTokenCache {
    return new AccessTokenCache({
      redis,
      key,
      fetchToken: async () =>
        readTokenAnswer(
          'test token',
          await callWeChatApi('test token', `${api!.baseUrl}/token`, { method: 'GET', timeoutMs: 2000 }),
        ),
    });
  }

  test('workers asking at once on an empty cache fetch one token between them', async () => {
    delayMs = 150;
    const workers = [cache(), cache(), cache()];
    const tokens = await Promise.all(Array.from({ length: 12 }, (_, i) => workers[i % 3]!.get()));
    expect(new Set(tokens)).toEqual(new Set(['tok-1']));
    expect(api!.requests).toHaveLength(1);
    expect(await redis.exists(`${key}:fetching`)).toBe(0);
  });

  test('kept for expires_in minus 5 minutes; a short-lived token for half its life', async () => {
    await cache().get();
    expect(await redis.ttl(key)).toBeGreaterThan(6800);
    expect(await redis.ttl(key)).toBeLessThanOrEqual(6900);

    await redis.del(key);
    expiresIn = 400;
    await cache().get();
    expect(await redis.ttl(key)).toBeLessThanOrEqual(200);
    expect(await redis.ttl(key)).toBeGreaterThan(150);
  });

  test('refresh drops the refused token only: a fresher one stored by another worker is kept', async () => {
    const first = await cache().get();
    expect(await cache().refresh(first)).toBe('tok-2');
    expect(api!.requests).toHaveLength(2);

    // A second worker refused tok-1 too, but tok-2 is already there: no fetch.
    expect(await cache().refresh(first)).toBe('tok-2');
    expect(api!.requests).toHaveLength(2);
  });

  test('a failed fetch leaves nothing cached and no lock behind', async () => {
    const failing = new AccessTokenCache({
      redis,
      key,
      fetchToken: async () => readTokenAnswer('test token', { errcode: 40013, errmsg: 'invalid corpid' }),
    });
    await expect(failing.get()).rejects.toBeInstanceOf(PermanentDeliveryError);
    expect(await redis.exists(key, `${key}:fetching`)).toBe(0);
  });
});

describe('readTokenAnswer', () => {
  test('busy and rate limits are retryable, credentials errors permanent', () => {
    let busy: unknown;
    try {
      readTokenAnswer('t', { errcode: -1, errmsg: 'system busy' });
    } catch (err) {
      busy = err;
    }
    expect(busy).toBeInstanceOf(Error);
    expect(busy).not.toBeInstanceOf(PermanentDeliveryError);
    expect(() => readTokenAnswer('t', { errcode: 40125, errmsg: 'invalid appsecret' })).toThrow(
      PermanentDeliveryError,
    );
    expect(readTokenAnswer('t', { access_token: 'abc', expires_in: 7200 })).toEqual({
      token: 'abc',
      expiresInSeconds: 7200,
    });
  });
});
