import path from 'node:path';
import type { Worker as BullWorker } from 'bullmq';
import pino from 'pino';
import request from 'supertest';
import { projectRoot } from '../../config/settings';
import { loadJourneys } from '../../language/load';
import { loadTemplates } from '../../messages/templates';
import { createRouterWorker } from '../../router/worker';
import { journeyWorkflowId, stateQuery, type JourneyResult } from '../../workflows/definitions';
import { basic, bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { eventually } from '../support/engine';
import { useTimeSkippingEngine } from '../support/time-skipping';

/**
 * Journey 10 of DESIGN.md end to end: channels post to the ingestion API, a real router worker
 * resolves identities and routes, the journey runs on Temporal. An offline member, identified by
 * the store's POS (member id + phone), later claims an online coupon as a logged-in user; the
 * claim links the two, they are merged into the online customer, and cross-channel recognition
 * runs once for that person, with the traits of both sides.
 */
const JOURNEY = 'cross-channel-recognition';
const templates = loadTemplates(path.join(projectRoot, 'templates'));
const journeys = loadJourneys(path.join(projectRoot, 'journeys'), { templates }).filter(
  (j) => j.id === JOURNEY,
);

describe('journey 10: an offline member recognised online when claiming a coupon', () => {
  const setup = useTimeSkippingEngine({ journeys, identity: true });
  let app: TestApp;
  let router: BullWorker;
  beforeAll(async () => {
    const { engine } = setup;
    app = await startTestApp({ customers: { identity: engine.identity!, profiles: engine.profiles } });
    router = createRouterWorker({
      connection: engine.redis,
      prefix: app.prefix,
      redis: engine.redis,
      keys: engine.keys,
      temporal: setup.env.client,
      taskQueue: engine.taskQueue,
      profiles: engine.profiles,
      catalog: engine.catalog,
      admission: engine.admission,
      identity: engine.identity,
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await router?.close();
    await app?.close();
  });

  let seq = 0;
  /** Posts to the ingestion API with the write key and waits until the router has routed it. */
  async function send(type: 'identify' | 'track', body: Record<string, unknown>): Promise<string> {
    const messageId = `j10-${++seq}`;
    const res = await request(app.app)
      .post(`/v1/${type}`)
      .set('Authorization', basic(KEYS.writeKey))
      .send({ ...body, messageId });
    expect(res.status).toBe(202);
    await eventually(
      async () =>
        (await setup.engine.redis.exists(setup.engine.keys.processedEvent(messageId))) ? true : undefined,
      60_000,
      `${type} ${messageId} routed`,
    );
    return messageId;
  }
  const run = (customerId: string) =>
    setup.env.client.workflow.getHandle(journeyWorkflowId(JOURNEY, customerId));
  const admin = (url: string) => request(app.app).get(url).set('Authorization', bearer(KEYS.adminKey));

  test('the claim carries only the phone: the store member is found, merged, recognised once; an online order converts', async () => {
    const { engine } = setup;
    // In the store: the POS identifies the member by card and phone.
    await send('identify', {
      anonymousId: 'pos-hz01-20260305-0042',
      traits: {
        memberId: 'CY00012345',
        phone: '138 0013 8000',
        name: '钟磊',
        memberLevel: 'gold',
        points: 2380,
      },
    });
    // Online: the logged-in mini-program user, known by user id and WeChat openid.
    await send('identify', {
      userId: 'sport-online-8821',
      traits: { openId: 'oCy9mZ3kLq7Wx1Rn5Vt9Hs2Jd6Pc', timezone: 'Asia/Shanghai' },
      context: { app: { id: 'chiyue-mini' } },
    });
    expect(await engine.identity!.lookup('phone', '13800138000')).toBe('anon:pos-hz01-20260305-0042');
    expect(await engine.identity!.lookup('userId', 'sport-online-8821')).toBe('sport-online-8821');

    // The claim: the shop knows the phone the user verified, not the card.
    await send('track', {
      userId: 'sport-online-8821',
      event: 'coupon_claimed',
      properties: {
        phone: '+86 138 0013 8000',
        source: 'miniprogram',
        couponCode: 'CY-8K2Q-M4',
        storeName: '驰跃杭州湖滨店',
      },
    });

    // One customer now: the online one, with the store member merged in.
    expect(await engine.identity!.canonical('anon:pos-hz01-20260305-0042')).toBe('sport-online-8821');
    const found = await admin('/v1/customers?memberId=CY00012345');
    expect(found.status).toBe(200);
    expect(found.body.customer).toMatchObject({
      id: 'sport-online-8821',
      aliases: ['anon:pos-hz01-20260305-0042'],
    });
    const merges = await admin('/v1/customers/sport-online-8821/merges');
    expect(merges.body.merges).toEqual([
      expect.objectContaining({
        winner: 'sport-online-8821',
        loser: 'anon:pos-hz01-20260305-0042',
        completed: true,
      }),
    ]);
    expect(merges.body.merges[0].via.map((v: { type: string }) => v.type)).toEqual(['userId', 'phone']);

    // Recognised: the run of the merged customer, fed the traits of both sides.
    const handle = run('sport-online-8821');
    await eventually(async () =>
      (await handle.query(stateQuery)).currentStep === 'give-it-time' ? true : undefined,
    );
    const welcome = await eventually(async () => {
      const lines = (await engine.outbox('miniprogram')).filter((l) => l.customerId === 'sport-online-8821');
      return lines.length > 0 ? lines : undefined;
    }, 60_000);
    expect(welcome).toEqual([
      expect.objectContaining({
        stepId: 'welcome',
        to: 'oCy9mZ3kLq7Wx1Rn5Vt9Hs2Jd6Pc',
        subject: '门店会员已绑定',
      }),
    ]);
    expect(welcome[0]!.body).toContain('优惠券已放入卡包');
    expect(await engine.profiles.getWithTags('sport-online-8821')).toMatchObject({
      // from the store
      memberId: 'CY00012345',
      name: '钟磊',
      memberLevel: 'gold',
      points: 2380,
      phone: '138 0013 8000',
      // from online
      openId: 'oCy9mZ3kLq7Wx1Rn5Vt9Hs2Jd6Pc',
      // from the journey
      offlineMember: true,
      memberStore: '驰跃杭州湖滨店',
      recognisedVia: 'miniprogram',
      tags: ['omnichannel'],
    });
    expect(await engine.profiles.get('anon:pos-hz01-20260305-0042')).toEqual({});

    // Once per person: another claim (now with the card) and the POS seeing the member again
    // reach the same customer and start nothing new.
    await send('track', {
      userId: 'sport-online-8821',
      event: 'coupon_claimed',
      properties: { memberId: 'CY00012345', source: 'tmall', couponCode: 'CY-1111-22' },
    });
    await send('identify', {
      anonymousId: 'pos-hz01-20260305-0042',
      traits: { memberId: 'CY00012345', points: 2480 },
    });
    await send('track', {
      anonymousId: 'pos-hz01-20260305-0042',
      event: 'coupon_claimed',
      properties: { memberId: 'CY00012345', source: 'jd', couponCode: 'CY-3333-44' },
    });
    await expect(run('anon:pos-hz01-20260305-0042').describe()).rejects.toThrow();
    expect(await engine.stats.get(JOURNEY, 1)).toMatchObject({ entered: 1 });
    expect((await engine.profiles.get('sport-online-8821')).points).toBe(2480);

    // An online order within 14 days is the goal.
    await send('track', {
      userId: 'sport-online-8821',
      event: 'order_completed',
      properties: { orderId: 'CY-ON-20260307-11', channel: 'online', total: 699 },
    });
    const result: JourneyResult = await handle.result();
    expect(result.status).toBe('converted');
    expect((await engine.outbox('push')).filter((l) => l.customerId === 'sport-online-8821')).toEqual([]);
  });

  test('the claim names the store card: merged; the reminder push greets them by the name the store knows', async () => {
    const { engine } = setup;
    await send('identify', {
      anonymousId: 'pos-sh07-20260301-0777',
      traits: { memberId: 'CY00054321', phone: '13900139000', name: '贺婷' },
    });
    await send('identify', {
      userId: 'sport-online-9034',
      traits: { openId: 'oCy9mT8nKx2Lw6Rq0Vz4Hp9Js3Bd', timezone: 'Asia/Shanghai' },
    });
    await send('track', {
      userId: 'sport-online-9034',
      event: 'coupon_claimed',
      properties: {
        memberId: 'CY00054321',
        source: 'tmall',
        couponCode: 'CY-3H7P-Q9',
        storeName: '驰跃上海南京西路店',
      },
    });
    expect(await engine.identity!.canonical('anon:pos-sh07-20260301-0777')).toBe('sport-online-9034');
    const result: JourneyResult = await run('sport-online-9034').result();
    expect(result.status).toBe('completed');
    const push = (await engine.outbox('push')).filter((l) => l.customerId === 'sport-online-9034');
    expect(push).toEqual([
      expect.objectContaining({
        stepId: 'coupon-reminder',
        to: 'sport-online-9034',
        subject: '贺婷，你领的券还没用哦',
      }),
    ]);
    expect(push[0]!.body).toMatch(/^券码CY-3H7P-Q9，线上下单就能用/);
    expect(await engine.identity!.lookup('phone', '13900139000')).toBe('sport-online-9034');
  });
});
