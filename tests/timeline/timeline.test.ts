import type { TestWorkflowEnvironment } from '@temporalio/testing';
import request from 'supertest';
import { createAccessServices } from '../../access/services';
import { CustomerTimeline, TIMELINE_KINDS, type Timeline, type TimelineItem } from '../../audit/timeline';
import { RedisKeys } from '../../customers/keys';
import { TouchLog } from '../../customers/touches';
import type { Journey } from '../../language/types';
import type { IngestEvent } from '../../queues/events';
import { journeyWorkflowId } from '../../workflows/definitions';
import { identify, track } from '../identity/support';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { eventually, startEngine } from '../support/engine';
import { deleteKeys, uniquePrefix } from '../support/redis';
import { createDevServerEnv } from '../support/temporal';

const HOUR = 3_600_000;

/** Issues a coupon, texts it (the template greets the customer by name), waits for its redemption. */
const WELCOME: Journey = {
  id: 'tl-welcome',
  name: 'Welcome',
  version: 1,
  defaultLocale: 'zh-CN',
  entry: { event: 'tl_signed_up', reentry: { mode: 'never' } },
  exit: [],
  steps: [
    {
      id: 'gift',
      type: 'issueCoupon',
      campaign: 'tl-welcome',
      value: 20,
      currency: 'CNY',
      expiresInMs: 72 * HOUR,
    },
    { id: 'offer', type: 'send', channel: 'sms', template: 'dormant-offer' },
    { id: 'wait-redeem', type: 'waitFor', event: 'coupon_redeemed', timeoutMs: HOUR },
    { id: 'done', type: 'exit' },
  ],
};

/** One marketing SMS: skipped once the customer has withdrawn SMS consent. */
const BROWSE: Journey = {
  id: 'tl-browse',
  name: 'Browse',
  version: 2,
  defaultLocale: 'zh-CN',
  entry: { event: 'tl_browsed', reentry: { mode: 'never' } },
  exit: [],
  steps: [
    { id: 'nudge', type: 'send', channel: 'sms', template: 'aipl-coupon-reminder' },
    { id: 'end', type: 'exit' },
  ],
};

const PHONE = '+8613800138000';
const NAME = '王芳';
const pause = () => new Promise((r) => setTimeout(r, 5));

/**
 * The customer timeline end to end: the real engine (router, journey worker with the real
 * activities, delivery workers) on a Temporal dev server with visibility, identity stitching on,
 * `name` configured sensitive; the real API in front of it.
 */
describe('customer timeline across journeys (dev server, real engine)', () => {
  let env: TestWorkflowEnvironment;
  let engine: Awaited<ReturnType<typeof startEngine>>;
  let t: TestApp;
  let code: string;
  /** API keys of the key store (access/key-store.ts), by role. */
  const keys: Record<'auditor' | 'ingest', string> = { auditor: '', ingest: '' };
  const accessPrefix = uniquePrefix('tl-access');

  const get = (path: string, key = KEYS.adminKey) =>
    request(t.app).get(path).set('Authorization', bearer(key));

  beforeAll(async () => {
    env = await createDevServerEnv();
    engine = await startEngine({
      client: env.client,
      nativeConnection: env.nativeConnection,
      journeys: [WELCOME, BROWSE],
      identity: true,
      profiles: { sensitive: ['phone', 'email', 'idNumber', 'name'] },
    });
    const timeline = new CustomerTimeline({
      temporal: env.client,
      events: engine.customerEvents,
      touches: engine.touches,
      profiles: engine.profiles,
      identity: engine.identity,
      consent: engine.rules.consent,
      coupons: engine.coupons,
      // The engine's journeys are fixed: each one's only version.
      journeyVersion: async (id, version) =>
        [WELCOME, BROWSE].find((j) => j.id === id && j.version === version),
    });
    const accessServices = createAccessServices({
      redis: engine.redis,
      keyPrefix: accessPrefix,
      secret: Buffer.from('timeline-test-secret'),
    });
    for (const role of ['auditor', 'ingest'] as const)
      keys[role] = (
        await accessServices.keyStore.create({ name: `tl-${role}`, role, createdBy: 'test' })
      ).secret;
    t = await startTestApp({ timeline, coupons: engine.coupons, journeys: engine.catalog, accessServices });

    // A store customer, known by member id only, visits a store.
    await engine.route(identify({ anonymousId: 'tl-pos' }, { memberId: 'TL1', level: 'silver' }));
    await pause();
    await engine.route(track({ anonymousId: 'tl-pos' }, 'tl_store_visit', { store: 'HZ01' }));
    await pause();
    // Online, 王芳 signs up: the welcome journey issues a coupon and texts it.
    await engine.route(identify({ userId: 'tl-wang' }, { name: NAME, phone: PHONE, locale: 'zh-CN' }));
    await pause();
    expect((await engine.route(track({ userId: 'tl-wang' }, 'tl_signed_up'))).entered).toEqual([
      'tl-welcome',
    ]);
    const touch = await eventually(
      async () => {
        const [sent] = await engine.touches.latestForCustomer('tl-wang');
        return sent?.status === 'sent' ? sent : undefined;
      },
      30_000,
      'the welcome SMS to be sent',
    );
    code = (JSON.parse(touch.message!) as { body: string }).body.match(/券码([0-9A-Z-]{14})/)![1]!;
    await pause();
    // She withdraws SMS consent; the browse journey's SMS is skipped for it.
    await engine.rules.consent.record('tl-wang', {
      channel: 'sms',
      topic: 'marketing',
      status: 'revoked',
      source: 'api',
    });
    await pause();
    expect((await engine.route(track({ userId: 'tl-wang' }, 'tl_browsed'))).entered).toEqual(['tl-browse']);
    await env.client.workflow.getHandle(journeyWorkflowId('tl-browse', 'tl-wang')).result();
    await pause();
    // She claims the store member id online: the store customer is merged into her.
    const claim = await engine.route(track({ userId: 'tl-wang' }, 'coupon_claimed', { memberId: 'TL1' }));
    expect(claim.customerId).toBe('tl-wang');
    await pause();
    // The coupon is redeemed through the API; its coupon_redeemed event ends the welcome run.
    const redeemed = await request(t.app)
      .post('/v1/coupons/redeem')
      .set('Authorization', bearer(KEYS.adminKey))
      .send({ code, orderId: 'o-77' });
    expect(redeemed.status).toBe(200);
    const [job] = await t.jobs();
    await engine.route(job!.data as IngestEvent);
    await env.client.workflow.getHandle(journeyWorkflowId('tl-welcome', 'tl-wang')).result();
  }, 120_000);

  afterAll(async () => {
    if (engine) await deleteKeys(engine.redis, accessPrefix);
    await t?.close();
    await engine?.stop();
    await env?.teardown();
  });

  /** The timeline once visibility lists both runs as closed. */
  async function timeline(path = '/v1/customers/tl-wang/timeline?limit=1000'): Promise<Timeline> {
    return eventually(
      async () => {
        const res = await get(path);
        expect(res.status).toBe(200);
        const ends = (res.body as Timeline).items.filter((i) => i.summary.startsWith('completed '));
        return ends.length === 2 ? (res.body as Timeline) : undefined;
      },
      30_000,
      'both runs in the timeline as completed',
    );
  }

  test('one timeline across both journeys and the merged store customer, every kind, in order', async () => {
    const body = await timeline();
    expect(body.customerId).toBe('tl-wang');
    expect(body.aliases).toEqual(['anon:tl-pos']);
    expect(body.more).toBe(false);
    const { items } = body;
    expect(new Set(items.map((i) => i.kind))).toEqual(new Set(TIMELINE_KINDS));
    // Newest first.
    const times = items.map((i) => Date.parse(i.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const oldestFirst = [...items].reverse();
    const index = (what: string, match: (i: TimelineItem) => boolean) => {
      const found = oldestFirst.findIndex(match);
      if (found < 0)
        throw new Error(`no ${what} in the timeline: ${JSON.stringify(oldestFirst.map((i) => i.summary))}`);
      return found;
    };
    const event = (name: string) => (i: TimelineItem) => i.kind === 'event' && i.summary === name;
    const landmarks = [
      index(
        'store identify',
        (i) => i.kind === 'event' && i.detail.customerId === 'anon:tl-pos' && i.detail.type === 'identify',
      ),
      index('store visit', event('tl_store_visit')),
      index('identify', (i) => i.kind === 'event' && i.summary === 'identify: name, phone, locale'),
      index('sign-up', event('tl_signed_up')),
      index('welcome entry', (i) => i.summary === 'entered tl-welcome v1'),
      index('coupon issued', (i) => i.kind === 'coupon-issued'),
      index('SMS', (i) => i.kind === 'touch'),
      index('consent', (i) => i.kind === 'consent'),
      index('browse', event('tl_browsed')),
      index('browse entry', (i) => i.summary === 'entered tl-browse v2'),
      index('skip', (i) => i.kind === 'skip'),
      index('browse end', (i) => i.summary === 'completed tl-browse'),
      index('claim', event('coupon_claimed')),
      index('merge', (i) => i.kind === 'merge'),
    ];
    expect([...landmarks].sort((a, b) => a - b)).toEqual(landmarks);
    // The redemption and its event come after the merge and before the welcome run's end.
    const redeemed = index('redemption', (i) => i.kind === 'coupon-redeemed');
    const redeemedEvent = index('redemption event', event('coupon_redeemed'));
    const welcomeEnd = index('welcome end', (i) => i.summary === 'completed tl-welcome');
    for (const i of [redeemed, redeemedEvent]) {
      expect(i).toBeGreaterThan(landmarks.at(-1)!);
      expect(i).toBeLessThan(welcomeEnd);
    }

    const byKind = (kind: string) => items.filter((i) => i.kind === kind);
    expect(byKind('coupon-issued')).toEqual([
      expect.objectContaining({
        journeyId: 'tl-welcome',
        version: 1,
        stepId: 'gift',
        summary: `coupon ${code} issued (tl-welcome)`,
        detail: expect.objectContaining({ code, campaign: 'tl-welcome' }),
      }),
    ]);
    expect(byKind('coupon-redeemed')).toEqual([
      expect.objectContaining({
        journeyId: 'tl-welcome',
        stepId: 'gift',
        summary: `coupon ${code} redeemed (order o-77)`,
        detail: expect.objectContaining({ code, via: 'api', orderId: 'o-77', value: 20, currency: 'CNY' }),
      }),
    ]);
    expect(byKind('skip')).toEqual([
      expect.objectContaining({
        journeyId: 'tl-browse',
        version: 2,
        stepId: 'nudge',
        summary: 'sms aipl-coupon-reminder skipped: no consent',
        detail: expect.objectContaining({ reason: 'no_consent', channel: 'sms' }),
      }),
    ]);
    expect(byKind('consent')).toEqual([
      expect.objectContaining({
        summary: 'consent revoked: sms marketing (api)',
        detail: expect.objectContaining({
          channel: 'sms',
          topic: 'marketing',
          status: 'revoked',
          source: 'api',
        }),
      }),
    ]);
    expect(byKind('merge')).toEqual([
      expect.objectContaining({
        summary: 'anon:tl-pos merged into tl-wang',
        detail: expect.objectContaining({ winner: 'tl-wang', loser: 'anon:tl-pos', completed: true }),
      }),
    ]);
    // Each step of the welcome path is there, with its outcome.
    expect(
      items
        .filter((i) => i.journeyId === 'tl-welcome' && i.kind === 'step')
        .map((i) => i.summary)
        .reverse(),
    ).toEqual([
      'entered tl-welcome v1',
      'waitFor wait-redeem: coupon_redeemed arrived',
      'exit done: exit step: the journey ends here',
      'completed tl-welcome',
    ]);
    // With the reason in words from the pinned step, and the raw outcome beside it.
    expect(items.find((i) => i.stepId === 'wait-redeem')!.detail).toMatchObject({
      type: 'waitFor',
      outcome: 'event',
      reason: 'coupon_redeemed arrived',
    });
  });

  test('masked by default: rendered content, address and event properties show no personal data', async () => {
    const { items } = await timeline();
    const text = JSON.stringify(items);
    for (const secret of [NAME, '13800138000', '138 0013 8000']) expect(text).not.toContain(secret);

    const [sms] = items.filter((i) => i.kind === 'touch');
    expect(sms).toMatchObject({
      journeyId: 'tl-welcome',
      version: 1,
      stepId: 'offer',
      summary: 'sms dormant-offer: sent',
      detail: {
        channel: 'sms',
        template: 'dormant-offer',
        status: 'sent',
        to: '+86138****8000',
        locale: 'zh-CN',
      },
    });
    // The greeting's name is masked; the coupon code, not personal data, is shown.
    expect(sms!.detail.body).toMatch(/^【栖木家居】\*\*\*，好久不见！/);
    expect(sms!.detail.body).toContain(code);
    expect(sms!.detail.sentAt).toEqual(expect.any(String));

    const profile = items.find((i) => i.summary === 'identify: name, phone, locale')!;
    expect(profile.detail.properties).toEqual({ name: '***', phone: '+86 138****8000', locale: 'zh-CN' });
    expect(await t.auditLog.list({ action: 'personal-data.read' })).toMatchObject({ entries: [] });
  });

  test('?reveal=true unmasks, and the read is in the audit log once', async () => {
    const body = await timeline('/v1/customers/tl-wang/timeline?limit=1000&reveal=true');
    const sms = body.items.find((i) => i.kind === 'touch')!;
    expect(sms.detail.to).toBe(PHONE);
    expect(sms.detail.body).toMatch(new RegExp(`^【栖木家居】${NAME}，好久不见！`));
    const profile = body.items.find((i) => i.summary === 'identify: name, phone, locale')!;
    expect(profile.detail.properties).toEqual({ name: NAME, phone: PHONE, locale: 'zh-CN' });

    const { entries } = await t.auditLog.list({ action: 'personal-data.read' });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: 'personal-data.read',
      target: 'customer:tl-wang',
      actor: { name: 'admin', role: 'admin' },
      detail: { what: 'timeline', items: body.items.length },
      from: { via: 'api' },
    });
  });

  test('a merged-away id answers the customer it merged into', async () => {
    const body = await timeline('/v1/customers/anon:tl-pos/timeline?limit=1000');
    expect(body.customerId).toBe('tl-wang');
    expect(body.resolvedFrom).toBe('anon:tl-pos');
    expect(body.items.some((i) => i.summary === 'tl_store_visit')).toBe(true);
  });

  test('since, until and limit: a window, newest first, with `more` when cut', async () => {
    const all = (await timeline()).items;
    const page = await get('/v1/customers/tl-wang/timeline?limit=3');
    expect(page.status).toBe(200);
    expect(page.body.items).toEqual(all.slice(0, 3));
    expect(page.body.more).toBe(true);

    const consent = all.find((i) => i.kind === 'consent')!;
    const merge = all.find((i) => i.kind === 'merge')!;
    const window = await get(
      `/v1/customers/tl-wang/timeline?since=${encodeURIComponent(consent.at)}&until=${encodeURIComponent(merge.at)}`,
    );
    expect(window.status).toBe(200);
    const expected = all.filter((i) => i.at >= consent.at && i.at <= merge.at);
    expect(window.body.items).toEqual(expected);
    expect(expected.map((i) => i.kind)).toEqual(expect.arrayContaining(['merge', 'skip', 'consent']));
    expect(expected.some((i) => i.kind === 'touch' || i.kind === 'coupon-redeemed')).toBe(false);
  });

  test('bad parameters: 400 with the parameter path; unknown customer: 404; no key: 401', async () => {
    const bad = await get('/v1/customers/tl-wang/timeline?since=yesterday&limit=0&reveal=yes&page=2');
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual(
      expect.arrayContaining([
        { path: 'query.since', message: expect.stringContaining('ISO-8601') },
        { path: 'query.limit', message: 'must be at least 1' },
        { path: 'query.reveal', message: 'must be true or false' },
        { path: 'query.page', message: expect.stringContaining('unknown parameter') },
      ]),
    );
    const backwards = await get(
      '/v1/customers/tl-wang/timeline?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z',
    );
    expect(backwards.status).toBe(400);
    expect(backwards.body.issues).toEqual([{ path: 'query.since', message: 'must not be later than until' }]);

    const unknown = await get('/v1/customers/nobody-here/timeline?reveal=true');
    expect(unknown.status).toBe(404);
    expect((await request(t.app).get('/v1/customers/tl-wang/timeline')).status).toBe(401);
    // Refused and unknown requests wrote no audit entry.
    expect(
      (await t.auditLog.list({ action: 'personal-data.read', target: 'customer:nobody-here' })).entries,
    ).toEqual([]);
  });

  test('roles: an auditor reads it masked and may not reveal; an ingest key may not read it', async () => {
    const masked = await timeline();
    const auditor = await get('/v1/customers/tl-wang/timeline?limit=1000', keys.auditor);
    expect(auditor.status).toBe(200);
    expect(auditor.body).toEqual(masked);
    const before = (await t.auditLog.list({ action: 'personal-data.read' })).entries.length;
    const reveal = await get('/v1/customers/tl-wang/timeline?reveal=true', keys.auditor);
    expect(reveal.status).toBe(403);
    expect(reveal.body.message).toContain('personal-data:reveal');
    expect(JSON.stringify(reveal.body)).not.toContain(NAME);
    const ingest = await get('/v1/customers/tl-wang/timeline', keys.ingest);
    expect(ingest.status).toBe(403);
    expect(ingest.body).toEqual({ error: 'forbidden', message: 'role ingest may not runs:read' });
    expect((await t.auditLog.list({ action: 'personal-data.read' })).entries).toHaveLength(before);
  });

  test('ids with quotes: runs found in visibility, or through their touches when no literal can hold the id', async () => {
    for (const id of [`tl-o'neil`, `tl-o'neil "jr"`]) {
      await engine.route(identify({ userId: id }, { phone: '+8613900001111' }));
      expect((await engine.route(track({ userId: id }, 'tl_browsed'))).entered).toEqual(['tl-browse']);
      await env.client.workflow.getHandle(journeyWorkflowId('tl-browse', id)).result();
    }
    // Visibility alone (no touch records to go by): the id with one kind of quote is listed.
    const visibilityOnly = new CustomerTimeline({
      temporal: env.client,
      events: engine.customerEvents,
      touches: new TouchLog(engine.redis, new RedisKeys(uniquePrefix('tl-none'))),
      profiles: engine.profiles,
    });
    const listed = await eventually(
      async () => {
        const found = await visibilityOnly.build(`tl-o'neil`);
        return found?.items.some((i) => i.summary === 'completed tl-browse') ? found : undefined;
      },
      30_000,
      'the run in visibility',
    );
    expect(listed.items.map((i) => i.summary)).toContain('entered tl-browse v2');
    const plain = await visibilityOnly.build('tl-wang');
    expect(plain!.items.map((i) => i.summary)).toEqual(
      expect.arrayContaining(['entered tl-welcome v1', 'entered tl-browse v2', 'coupon_redeemed']),
    );

    // Both kinds of quote: found through the journey its touch names, over the API.
    const id = `tl-o'neil "jr"`;
    const body = await eventually(
      async () => {
        const res = await get(`/v1/customers/${encodeURIComponent(id)}/timeline`);
        expect(res.status).toBe(200);
        return (res.body as Timeline).items.some((i) => i.summary === 'completed tl-browse')
          ? (res.body as Timeline)
          : undefined;
      },
      30_000,
      'the run in the timeline',
    );
    expect(body.customerId).toBe(id);
    expect(body.items.map((i) => i.kind).reverse()).toEqual([
      'event',
      'event',
      'step',
      'touch',
      'step',
      'step',
    ]);
    expect(body.items.find((i) => i.kind === 'touch')!.detail.to).toBe('+86139****1111');
  });
});
