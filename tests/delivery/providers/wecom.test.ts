import type { Redis } from 'ioredis';
import { RedisKeys } from '../../../customers/keys';
import { PermanentDeliveryError } from '../../../delivery/providers/provider';
import { WeComProvider, type WeComOptions } from '../../../delivery/providers/wecom';
import { testRedis, uniquePrefix } from '../../support/redis';
import { closeAfterEach, sendError, testMessage } from '../support';
import { queueTwiceThenAgain, startDeliveryHarness } from './harness';
import { startFakeWeChat, type FakeWeChat } from './servers';

const CORP = { corpId: 'ww0123456789abcdef', corpSecret: 'contact-secret' };
const GETTOKEN = '/cgi-bin/gettoken';
const ADD_MSG_TEMPLATE = '/cgi-bin/externalcontact/add_msg_template';
const MESSAGE_SEND = '/cgi-bin/message/send';

function startFakeWeCom(): Promise<FakeWeChat> {
  return startFakeWeChat({
    tokenPaths: {
      [GETTOKEN]: (r) =>
        r.query.get('corpid') === CORP.corpId && r.query.get('corpsecret') === CORP.corpSecret,
    },
    badCredentialsErrcode: 40001,
    sendPaths: [ADD_MSG_TEMPLATE, MESSAGE_SEND],
    okAnswer: { msgid: 'msgGCAAAXtWyujaWJHDDGi0mACAAAA', fail_list: [] },
  });
}

function customerMessage(overrides = {}) {
  return testMessage({
    channel: 'wecom',
    to: 'wmqfasd1e1927831291723123109r',
    body: '您好！这周开了好友拼团 🌿',
    ...overrides,
  });
}

describe('WeComProvider against a local WeCom API', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let api: FakeWeChat | undefined;

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    keys = new RedisKeys(uniquePrefix('wecom'));
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  function provider(options: Partial<WeComOptions> = {}): WeComProvider {
    return new WeComProvider(
      { ...CORP, baseUrl: api!.baseUrl, sender: 'advisor-li', timeoutMs: 2000, ...options },
      redis,
      (name) => keys.delivery(`access-token:${name}`),
    );
  }

  test('a customer message is a 企业群发 task: token fetched once, then add_msg_template', async () => {
    api = await startFakeWeCom();
    const wecom = provider();
    const message = customerMessage();

    expect(await wecom.send(message)).toEqual({ providerMessageId: 'msgGCAAAXtWyujaWJHDDGi0mACAAAA' });
    await wecom.send(customerMessage());

    expect(api.to(GETTOKEN)).toHaveLength(1);
    expect(api.to(GETTOKEN)[0]!.method).toBe('GET');
    const sends = api.to(ADD_MSG_TEMPLATE);
    expect(sends).toHaveLength(2);
    expect(sends[0]!.method).toBe('POST');
    expect(sends[0]!.query.get('access_token')).toBe(api.issued[0]);
    expect(JSON.parse(sends[0]!.body)).toEqual({
      chat_type: 'single',
      external_userid: [message.to],
      sender: 'advisor-li',
      text: { content: message.body },
    });
  });

  test('the token is shared by every worker through Redis, with its expiry minus a margin', async () => {
    api = await startFakeWeCom();
    await provider().send(customerMessage());
    await provider().send(customerMessage()); // another worker, same app
    expect(api.to(GETTOKEN)).toHaveLength(1);

    const [key] = await redis.keys(keys.delivery('access-token:wecom:*'));
    expect(await redis.get(key!)).toBe(api.issued[0]);
    const ttl = await redis.ttl(key!);
    expect(ttl).toBeGreaterThan(7200 - 300 - 60);
    expect(ttl).toBeLessThanOrEqual(7200 - 300);
  });

  test('an expired token (42001) is refreshed and the send retried once at once', async () => {
    api = await startFakeWeCom();
    const wecom = provider();
    await wecom.send(customerMessage());
    api.expireTokens(); // as two hours later

    await wecom.send(customerMessage());
    expect(api.issued).toHaveLength(2);
    expect(api.requests.map((r) => r.path)).toEqual([
      GETTOKEN,
      ADD_MSG_TEMPLATE,
      ADD_MSG_TEMPLATE,
      GETTOKEN,
      ADD_MSG_TEMPLATE,
    ]);
    expect(api.to(ADD_MSG_TEMPLATE)[2]!.query.get('access_token')).toBe(api.issued[1]);
  });

  test('an unknown token in the cache (40014) is replaced', async () => {
    api = await startFakeWeCom();
    const wecom = provider();
    await wecom.send(customerMessage());
    const [key] = await redis.keys(keys.delivery('access-token:wecom:*'));
    await redis.set(key!, 'revoked-token', 'EX', 3600);

    await wecom.send(customerMessage());
    expect(api.sends()).toHaveLength(2);
    expect(await redis.get(key!)).toBe(api.issued[1]);
  });

  test('a token refused even after the refresh is retryable, after exactly one retry', async () => {
    api = await startFakeWeCom();
    api.script.push({ errcode: 40001 }, { errcode: 40001 });
    const err = await sendError(provider(), customerMessage());
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('errcode 40001');
    expect(api.to(ADD_MSG_TEMPLATE)).toHaveLength(2);
    expect(api.to(GETTOKEN)).toHaveLength(2);
  });

  test.each([
    [-1, 'system busy'],
    [45009, 'api freq out of limit'],
  ])('errcode %i (%s) is retryable', async (errcode, errmsg) => {
    api = await startFakeWeCom();
    api.script.push({ errcode, errmsg });
    const err = await sendError(provider(), customerMessage());
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain(`errcode ${errcode}: ${errmsg}`);
    expect(api.to(ADD_MSG_TEMPLATE)).toHaveLength(1);
  });

  test('HTTP 502 from in front of WeCom is retryable', async () => {
    api = await startFakeWeCom();
    api.script.push({ http: 502 });
    const err = await sendError(provider(), customerMessage());
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('answered HTTP 502');
  });

  test.each([
    [40003, 'invalid userid'],
    [40096, 'invalid external userid'],
    [81013, 'user & party & tag all invalid'],
  ])('errcode %i (%s) is permanent', async (errcode, errmsg) => {
    api = await startFakeWeCom();
    api.script.push({ errcode, errmsg });
    const err = await sendError(provider(), customerMessage());
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain(`errcode ${errcode}: ${errmsg}`);
  });

  test('errcode 0 with the customer in fail_list is permanent', async () => {
    api = await startFakeWeCom();
    const message = customerMessage();
    api.script.push({ errcode: 0, fail_list: [message.to], msgid: 'msg1' });
    const err = await sendError(provider(), message);
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('fail_list');
  });

  test('a wrong secret (40001 at gettoken) is permanent and says to check the credentials', async () => {
    api = await startFakeWeCom();
    const err = await sendError(provider({ corpSecret: 'wrong' }), customerMessage());
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toMatch(/gettoken refused: errcode 40001.*check the configured credentials/);
    expect(api.to(ADD_MSG_TEMPLATE)).toHaveLength(0);
  });

  test('a WeCom that never answers times out with a retryable error', async () => {
    api = await startFakeWeCom();
    api.script.push('hang');
    const started = Date.now();
    const err = await sendError(provider({ timeoutMs: 200 }), customerMessage());
    const elapsed = Date.now() - started;
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toMatch(/add_msg_template unreachable: .*timeout/i);
    expect(err.message).not.toContain('access_token'); // the URL with the token stays out of errors
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(3000);
  });

  test('a text over 4000 bytes is permanent without calling WeCom', async () => {
    api = await startFakeWeCom();
    const err = await sendError(provider(), customerMessage({ body: '拼'.repeat(1400) }));
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('4200 bytes');
    expect(api.requests).toHaveLength(0);
  });

  describe('to members (send: member)', () => {
    test('an app message with the agent id and WeCom duplicate check', async () => {
      api = await startFakeWeCom();
      const message = customerMessage({ to: 'ZhangSan' });
      await provider({ send: 'member', agentId: 1000002 }).send(message);
      const [send] = api.to(MESSAGE_SEND);
      expect(JSON.parse(send!.body)).toEqual({
        touser: 'ZhangSan',
        msgtype: 'text',
        agentid: 1000002,
        text: { content: message.body },
        enable_duplicate_check: 1,
        duplicate_check_interval: 1800,
      });
    });

    test('errcode 0 with the user in invaliduser is permanent', async () => {
      api = await startFakeWeCom();
      api.script.push({ errcode: 0, invaliduser: 'zhangsan' });
      const err = await sendError(
        provider({ send: 'member', agentId: 1000002 }),
        customerMessage({ to: 'ZhangSan' }),
      );
      expect(err).toBeInstanceOf(PermanentDeliveryError);
      expect(err.message).toContain('invaliduser');
    });

    test('member sends need an agent id', async () => {
      api = await startFakeWeCom();
      expect(() => provider({ send: 'member' })).toThrow('agentId');
    });
  });
});

describe('wecom through the delivery worker', () => {
  const closeAfterTest = closeAfterEach();

  test('busy, then an expired token, then sent: one task per key, queued twice and again after', async () => {
    const api = closeAfterTest(await startFakeWeCom());
    const harness = closeAfterTest(
      await startDeliveryHarness('wecom', {
        type: 'wecom',
        ...CORP,
        baseUrl: api.baseUrl,
        timeoutMs: 2000,
      }),
    );
    // First attempt: WeCom busy. Second: the token expired meanwhile, refreshed, then accepted.
    api.script.push(
      { errcode: -1, errmsg: 'system busy' },
      { errcode: 42001, errmsg: 'access_token expired' },
    );
    const message = customerMessage();
    const { first, again } = await queueTwiceThenAgain(harness, message);
    expect(first.state).toBe('completed');
    expect(first.job.returnvalue).toBe('sent');
    expect(first.job.attemptsMade).toBe(2);
    expect(again.job.returnvalue).toBe('already-sent');
    expect(api.to(GETTOKEN)).toHaveLength(2);
    expect(api.to(ADD_MSG_TEMPLATE)).toHaveLength(3);
    expect(api.delivered()).toHaveLength(1);
    expect(JSON.parse(api.delivered()[0]!.body).external_userid).toEqual([message.to]);
  });
});
