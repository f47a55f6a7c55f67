import type { Redis } from 'ioredis';
import { RedisKeys } from '../../../customers/keys';
import {
  checkSubscriptionData,
  MiniProgramProvider,
  parseSubscriptionData,
  type MiniProgramOptions,
} from '../../../delivery/providers/miniprogram';
import { PermanentDeliveryError } from '../../../delivery/providers/provider';
import { testRedis, uniquePrefix } from '../../support/redis';
import { closeAfterEach, sendError, testMessage, type ReceivedRequest } from '../support';
import { queueOnce, queueTwiceThenAgain, startDeliveryHarness } from './harness';
import { startFakeWeChat, type FakeWeChat } from './servers';

const APP = { appId: 'wx81161b1e0fcac95c', appSecret: 'mp-secret' };
const STABLE_TOKEN = '/cgi-bin/stable_token';
const CLASSIC_TOKEN = '/cgi-bin/token';
const SUBSCRIBE_SEND = '/cgi-bin/message/subscribe/send';
const TEMPLATES = {
  'living-room-plan-reminder': {
    templateId: 'yeWHpJoziZ9cd4Di8VHtauoUNAMaJZhXo42RmMSrSyI',
    page: 'pages/plan/index?from=journey',
  },
};

function stableCredentials(r: ReceivedRequest): boolean {
  const body = JSON.parse(r.body || '{}');
  return (
    r.method === 'POST' &&
    body.grant_type === 'client_credential' &&
    body.appid === APP.appId &&
    body.secret === APP.appSecret &&
    body.force_refresh === false
  );
}

function startFakeMiniProgramApi(): Promise<FakeWeChat> {
  return startFakeWeChat({
    tokenPaths: {
      [STABLE_TOKEN]: stableCredentials,
      [CLASSIC_TOKEN]: (r) =>
        r.query.get('grant_type') === 'client_credential' &&
        r.query.get('appid') === APP.appId &&
        r.query.get('secret') === APP.appSecret,
    },
    badCredentialsErrcode: 40125,
    sendPaths: [SUBSCRIBE_SEND],
    okAnswer: { msgid: 1000001 },
  });
}

const FIELDS = [
  'thing1: 客厅搭配方案',
  '',
  'thing3: 李，你的方案还为你保留着',
  'time2: 2024年6月1日 10:00',
].join('\n');

function reminder(overrides = {}) {
  return testMessage({
    channel: 'miniprogram',
    template: 'living-room-plan-reminder',
    locale: 'zh-CN',
    to: 'oVRgD5dDA58Z52rUCI-pDFBceFsc',
    subject: '客厅搭配方案提醒',
    body: FIELDS,
    ...overrides,
  });
}

describe('MiniProgramProvider against a local WeChat API', () => {
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
    keys = new RedisKeys(uniquePrefix('mp'));
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  function provider(options: Partial<MiniProgramOptions> = {}): MiniProgramProvider {
    return new MiniProgramProvider(
      { ...APP, templates: TEMPLATES, baseUrl: api!.baseUrl, timeoutMs: 2000, ...options },
      redis,
      (name) => keys.delivery(`access-token:${name}`),
    );
  }

  test('stable_token once, then subscribe/send with the fields, page, state and language', async () => {
    api = await startFakeMiniProgramApi();
    const mp = provider();
    const message = reminder();

    // WeChat's msgid is a 64-bit number: past 2^53, so read as text to keep every digit.
    api.script.push({ raw: '{"errcode":0,"errmsg":"ok","msgid":2841287384011915265}', delivered: true });
    expect(await mp.send(message)).toEqual({ providerMessageId: '2841287384011915265' });
    await mp.send(reminder({ locale: 'en' }));

    expect(api.to(STABLE_TOKEN)).toHaveLength(1);
    const sends = api.to(SUBSCRIBE_SEND);
    expect(sends).toHaveLength(2);
    expect(sends[0]!.query.get('access_token')).toBe(api.issued[0]);
    expect(JSON.parse(sends[0]!.body)).toEqual({
      touser: message.to,
      template_id: TEMPLATES['living-room-plan-reminder'].templateId,
      page: 'pages/plan/index?from=journey',
      miniprogram_state: 'formal',
      lang: 'zh_CN',
      data: {
        thing1: { value: '客厅搭配方案' },
        thing3: { value: '李，你的方案还为你保留着' },
        time2: { value: '2024年6月1日 10:00' },
      },
    });
    expect(JSON.parse(sends[1]!.body).lang).toBe('en_US');
  });

  test('the classic token API, when configured, with the trial version of the mini-program', async () => {
    api = await startFakeMiniProgramApi();
    await provider({ tokenApi: 'classic', miniprogramState: 'trial' }).send(reminder());
    expect(api.to(CLASSIC_TOKEN)).toHaveLength(1);
    expect(api.to(CLASSIC_TOKEN)[0]!.method).toBe('GET');
    expect(api.to(STABLE_TOKEN)).toHaveLength(0);
    expect(JSON.parse(api.to(SUBSCRIBE_SEND)[0]!.body).miniprogram_state).toBe('trial');
  });

  test('43101 (not subscribed) is permanent with a reason a marketer understands', async () => {
    api = await startFakeMiniProgramApi();
    api.script.push({ errcode: 43101, errmsg: 'user refuse to accept the msg rid: 64229bc2' });
    const err = await sendError(provider(), reminder());
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('errcode 43101');
    expect(err.message).toContain('has not subscribed to this template');
    expect(api.to(SUBSCRIBE_SEND)).toHaveLength(1);
  });

  test.each([40001, 42001])(
    'errcode %i from send: token refreshed and the send retried once',
    async (errcode) => {
      api = await startFakeMiniProgramApi();
      const mp = provider();
      await mp.send(reminder());
      api.script.push({ errcode, errmsg: 'invalid credential' });

      await mp.send(reminder());
      expect(api.to(STABLE_TOKEN)).toHaveLength(2);
      expect(api.to(SUBSCRIBE_SEND)).toHaveLength(3);
      expect(api.delivered()).toHaveLength(2);
    },
  );

  test('a token that expired (two hours later) is refreshed too', async () => {
    api = await startFakeMiniProgramApi();
    const mp = provider();
    await mp.send(reminder());
    api.expireTokens();
    await mp.send(reminder());
    expect(api.issued).toHaveLength(2);
    expect(api.delivered()[1]!.query.get('access_token')).toBe(api.issued[1]);
  });

  test('-1 (system busy) is retryable', async () => {
    api = await startFakeMiniProgramApi();
    api.script.push({ errcode: -1, errmsg: 'system error' });
    const err = await sendError(provider(), reminder());
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('errcode -1');
  });

  test('a server that never answers times out with a retryable error', async () => {
    api = await startFakeMiniProgramApi();
    api.script.push('hang');
    const started = Date.now();
    const err = await sendError(provider({ timeoutMs: 200 }), reminder());
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toMatch(/subscribe\/send unreachable: .*timeout/i);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('a wrong app secret is permanent, naming the credentials', async () => {
    api = await startFakeMiniProgramApi();
    const err = await sendError(provider({ appSecret: 'wrong' }), reminder());
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toMatch(/stable_token refused: errcode 40125.*credentials/);
  });

  test('a journey template without a subscription template, a line that is no field, a field too long: permanent, nothing sent', async () => {
    api = await startFakeMiniProgramApi();
    const mp = provider();
    const unmapped = await sendError(mp, reminder({ template: 'spring-sale' }));
    expect(unmapped).toBeInstanceOf(PermanentDeliveryError);
    expect(unmapped.message).toContain(
      'no subscription template configured for journey template "spring-sale"',
    );

    const prose = await sendError(mp, reminder({ body: '你的客厅搭配方案还为你保留着。' }));
    expect(prose).toBeInstanceOf(PermanentDeliveryError);
    expect(prose.message).toContain('line 1 is not `field: value`');

    const long = await sendError(mp, reminder({ body: `thing1: ${'很'.repeat(21)}` }));
    expect(long).toBeInstanceOf(PermanentDeliveryError);
    expect(long.message).toContain('thing1 has 21 characters, over 20');
    expect(api.requests).toHaveLength(0);
  });
});

describe('subscription message fields', () => {
  test('field lines: blank lines skipped, values trimmed, typed keys', () => {
    expect(
      parseSubscriptionData('thing1: a b \n\ncharacter_string12:XY-1\nphone_number3: +86-0766-66888866'),
    ).toEqual([
      ['thing1', 'a b'],
      ['character_string12', 'XY-1'],
      ['phone_number3', '+86-0766-66888866'],
    ]);
  });

  test('problems are reported, not guessed around', () => {
    expect(parseSubscriptionData('')).toEqual({ error: 'no `field: value` lines' });
    expect(parseSubscriptionData('thing1: a\nthing1: b')).toEqual({ error: 'field thing1 is given twice' });
    expect(parseSubscriptionData('Thing: a')).toHaveProperty('error');
  });

  test('limits by type: thing 20, phrase 5, name 10 Chinese or 20 letters; empty values', () => {
    expect(checkSubscriptionData([['thing1', '二十个字'.repeat(5)]])).toEqual([]);
    expect(checkSubscriptionData([['phrase2', '配送中了吗呀']])).toEqual([
      'phrase2 has 6 characters, over 5',
    ]);
    expect(checkSubscriptionData([['name3', '欧阳娜娜娜娜娜娜娜娜娜']])).toEqual([
      'name3 has 11 characters, over 10',
    ]);
    expect(checkSubscriptionData([['name3', 'Alexandria Ocasio']])).toEqual([]);
    expect(checkSubscriptionData([['time4', '']])).toEqual(['time4 is empty']);
  });
});

/** The delivery workers with the miniprogram channel on the local WeChat API. */
function startMiniProgramHarness(api: FakeWeChat, options: { timeoutMs?: number } = {}) {
  return startDeliveryHarness('miniprogram', {
    type: 'miniprogram',
    ...APP,
    templates: TEMPLATES,
    baseUrl: api.baseUrl,
    ...options,
  });
}

describe('miniprogram through the delivery worker', () => {
  const closeAfterTest = closeAfterEach();

  test('busy then sent: one subscription message per key, even queued twice and again after', async () => {
    const api = closeAfterTest(await startFakeMiniProgramApi());
    const harness = closeAfterTest(await startMiniProgramHarness(api, { timeoutMs: 2000 }));
    api.script.push({ errcode: -1, errmsg: 'system error' });
    const { first, again } = await queueTwiceThenAgain(harness, reminder());
    expect(first.state).toBe('completed');
    expect(first.job.attemptsMade).toBe(2);
    expect(again.job.returnvalue).toBe('already-sent');
    expect(api.delivered()).toHaveLength(1);
    expect(api.to(SUBSCRIBE_SEND)).toHaveLength(2);
  });

  test('43101 fails the job at once: touch `failed` with the reason, no retry', async () => {
    const api = closeAfterTest(await startFakeMiniProgramApi());
    const harness = closeAfterTest(await startMiniProgramHarness(api));
    api.script.push({ errcode: 43101, errmsg: 'user refuse to accept the msg' });
    const { job, state, touchError } = await queueOnce(harness, reminder());
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(touchError).toContain('not subscribed');
    expect(api.to(SUBSCRIBE_SEND)).toHaveLength(1);
  });
});
