import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../customers/keys';
import { loadRulesConfig, parseRulesConfig } from '../../rules/config';
import { ConsentStore } from '../../rules/consent';
import { stopKeyword } from '../../rules/sms-keywords';
import { testRedis, uniquePrefix } from '../support/redis';

describe('consent store (real Redis)', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let store: ConsentStore;

  beforeAll(() => {
    redis = testRedis();
  });
  beforeEach(() => {
    keys = new RedisKeys(uniquePrefix('consent'));
    store = new ConsentStore(redis, keys, { default: 'granted' });
  });
  afterAll(async () => {
    await redis.quit();
  });

  test('opt-out model: no record means granted; a revocation is in effect at once', async () => {
    expect(await store.check('c1', 'sms')).toEqual({ allowed: true });
    const revoked = await store.record('c1', {
      channel: 'sms',
      topic: 'marketing',
      status: 'revoked',
      source: 'api',
    });
    expect(await store.check('c1', 'sms', 'marketing')).toEqual({ allowed: false, record: revoked });
    // Other channels and topics are untouched.
    expect((await store.check('c1', 'email', 'marketing')).allowed).toBe(true);
    expect((await store.check('c1', 'sms', 'new-products')).allowed).toBe(true);
  });

  test('opt-in model: no record means denied until a grant', async () => {
    const optIn = new ConsentStore(redis, keys, { default: 'denied' });
    expect(await optIn.check('c1', 'email')).toEqual({ allowed: false });
    await optIn.record('c1', { channel: 'email', topic: 'marketing', status: 'granted', source: 'import' });
    expect((await optIn.check('c1', 'email')).allowed).toBe(true);
    expect((await optIn.check('c1', 'email', 'new-products')).allowed).toBe(false);
  });

  test('history keeps every change, oldest first; current keeps the latest per channel and topic', async () => {
    await store.record('c1', {
      channel: 'email',
      topic: 'marketing',
      status: 'granted',
      source: 'import',
      at: '2024-01-01T00:00:00Z',
    });
    await store.record('c1', {
      channel: 'email',
      topic: 'marketing',
      status: 'revoked',
      source: 'unsubscribe-link',
    });
    await store.record('c1', { channel: 'sms', topic: 'marketing', status: 'granted', source: 'api' });

    const history = await store.history('c1');
    expect(history.map((r) => [r.channel, r.status, r.source])).toEqual([
      ['email', 'granted', 'import'],
      ['email', 'revoked', 'unsubscribe-link'],
      ['sms', 'granted', 'api'],
    ]);
    expect(history[0]!.at).toBe('2024-01-01T00:00:00.000Z');
    expect((await store.current('c1')).map((r) => [r.channel, r.topic, r.status])).toEqual([
      ['email', 'marketing', 'revoked'],
      ['sms', 'marketing', 'granted'],
    ]);
  });

  test('an older record (a late import) is kept in the history but does not undo a newer opt-out', async () => {
    await store.record('c1', { channel: 'sms', topic: 'marketing', status: 'revoked', source: 'sms-reply' });
    await store.record('c1', {
      channel: 'sms',
      topic: 'marketing',
      status: 'granted',
      source: 'import',
      at: '2023-06-01T08:00:00+08:00',
    });
    expect((await store.check('c1', 'sms')).allowed).toBe(false);
    expect(await store.history('c1')).toHaveLength(2);
  });

  test('a time in the future is capped at now (it would otherwise outrank later opt-outs)', async () => {
    const before = Date.now();
    const record = await store.record('c1', {
      channel: 'sms',
      topic: 'marketing',
      status: 'granted',
      source: 'api',
      at: '2999-01-01T00:00:00Z',
    });
    expect(Date.parse(record.at)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(record.at)).toBeGreaterThanOrEqual(before);
    await store.record('c1', { channel: 'sms', topic: 'marketing', status: 'revoked', source: 'api' });
    expect((await store.check('c1', 'sms')).allowed).toBe(false);
  });

  test('`*` covers every topic of the channel; the latest of `*` and the exact topic wins', async () => {
    await store.record('c1', {
      channel: 'sms',
      topic: 'marketing',
      status: 'granted',
      source: 'api',
      at: '2024-01-01T00:00:00Z',
    });
    await store.record('c1', {
      channel: 'sms',
      topic: '*',
      status: 'revoked',
      source: 'sms-reply',
      at: '2024-02-01T00:00:00Z',
    });
    expect((await store.check('c1', 'sms', 'marketing')).allowed).toBe(false);
    expect((await store.check('c1', 'sms', 'new-products')).allowed).toBe(false);
    expect((await store.check('c1', 'email', 'marketing')).allowed).toBe(true);

    // Later the customer opts back in to one topic only.
    await store.record('c1', {
      channel: 'sms',
      topic: 'new-products',
      status: 'granted',
      source: 'api',
      at: '2024-03-01T00:00:00Z',
    });
    expect((await store.check('c1', 'sms', 'new-products')).allowed).toBe(true);
    expect((await store.check('c1', 'sms', 'marketing')).allowed).toBe(false);
  });

  test('at the same instant a revocation wins', async () => {
    const at = '2024-01-01T00:00:00Z';
    await store.record('c1', { channel: 'sms', topic: '*', status: 'revoked', source: 'sms-reply', at });
    await store.record('c1', { channel: 'sms', topic: 'marketing', status: 'granted', source: 'api', at });
    expect((await store.check('c1', 'sms', 'marketing')).allowed).toBe(false);
  });
});

describe('rules config', () => {
  test('defaults: opt-out consent, Shanghai, quiet hours 21:00–09:00 delay, no caps', () => {
    expect(parseRulesConfig(undefined)).toEqual({
      consent: { default: 'granted', smsKeywords: ['TD', '退订', 'T', 'STOP', 'UNSUBSCRIBE'] },
      timezone: 'Asia/Shanghai',
      quietHours: { start: '21:00', end: '09:00', action: 'delay' },
      frequencyCaps: { perChannel: {} },
    });
  });

  test('a config file section, validated with every bad field listed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tp-rules-'));
    const good = path.join(dir, 'good.yaml');
    await writeFile(
      good,
      `rules:
  consent: { default: denied }
  quietHours: { start: '22:00', end: '08:00', action: skip }
  frequencyCaps:
    perChannel: { sms: { day: 1, week: 3 } }
    overall: { day: 3, week: 10 }
`,
    );
    expect(loadRulesConfig(good)).toMatchObject({
      consent: { default: 'denied' },
      quietHours: { start: '22:00', end: '08:00', action: 'skip' },
      frequencyCaps: { perChannel: { sms: { day: 1, week: 3 } }, overall: { day: 3, week: 10 } },
    });

    const off = path.join(dir, 'off.yaml');
    await writeFile(off, 'rules:\n  quietHours: false\n');
    expect(loadRulesConfig(off).quietHours).toBe(false);

    const bad = path.join(dir, 'bad.yaml');
    await writeFile(
      bad,
      `rules:
  consent: { default: maybe }
  timezone: Mars/Base
  quietHours: { start: '25:00', end: '09:00' }
  frequencyCaps: { perChannel: { fax: { day: 1 } }, overall: { day: -1 } }
`,
    );
    expect(() => loadRulesConfig(bad)).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(
          /rules\.consent\.default[\s\S]*rules\.timezone[\s\S]*rules\.quietHours[\s\S]*rules\.frequencyCaps\.perChannel[\s\S]*rules\.frequencyCaps\.overall\.day/,
        ),
      }),
    );
  });
});

describe('SMS stop keywords', () => {
  test.each(['TD', 'td', ' Td\n', '退订', '退订。', 'ＴＤ', 'T', 'STOP', 'stop!', 'Unsubscribe'])(
    '%p stops',
    (text) => {
      expect(stopKeyword(text)).toBeDefined();
    },
  );

  test.each(['TDX', 'stop please', '谢谢', 'OK', '', '   ', 'T D'])('%p does not', (text) => {
    expect(stopKeyword(text)).toBeUndefined();
  });
});
