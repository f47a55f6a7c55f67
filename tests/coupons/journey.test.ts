import type { Worker as BullWorker } from 'bullmq';
import pino from 'pino';
import request from 'supertest';
import { redemptionMessageId } from '../../coupons/codes';
import { eventJobId } from '../../queues/events';
import type { RouteResult } from '../../router/route-event';
import { createRouterWorker } from '../../router/worker';
import { journeyWorkflowId, stateQuery, type JourneyResult } from '../../workflows/definitions';
import { basic, KEYS } from '../server/fixture';
import { DORMANT_CUSTOMER as TRAITS, eventually } from '../support/engine';
import { useTimeSkippingEngine } from '../support/time-skipping';
import { CODE_FORMAT, startCouponApp, type CouponApp } from './support';

const JOURNEY = 'dormant-reactivation';

/**
 * The shipped dormant-reactivation journey on the time-skipping server, with the real router
 * consuming the events queue the real API writes to: the journey issues the coupon, the API or a
 * `coupon_redeemed` event redeems it, and the redemption ends the run.
 */
describe('coupons in the dormant-reactivation journey', () => {
  let t: CouponApp;
  let router: BullWorker;
  /** issueCoupon attempts that "crash" once after the real issue, by idempotency key. */
  const crashed = new Set<string>();
  let crashAfterIssue = false;

  const setup = useTimeSkippingEngine({
    wrapActivities: (real) => ({
      ...real,
      // The real CouponStore, on a prefix each test owns (so its counters start at zero).
      async issueCoupon(request) {
        const coupon = await t.store.issueOnce(request);
        if (crashAfterIssue && !crashed.has(request.idempotencyKey)) {
          crashed.add(request.idempotencyKey);
          throw new Error('worker lost after issuing the coupon');
        }
        return coupon;
      },
    }),
  });

  beforeEach(async () => {
    crashAfterIssue = false;
    t = await startCouponApp({ journeys: setup.engine.catalog });
    router = createRouterWorker({
      connection: setup.engine.redis,
      prefix: t.prefix,
      redis: setup.engine.redis,
      keys: setup.engine.keys,
      temporal: setup.env.client,
      taskQueue: setup.engine.taskQueue,
      profiles: setup.engine.profiles,
      catalog: setup.engine.catalog,
      admission: setup.engine.admission,
      logger: pino({ level: 'silent' }),
      coupons: t.store,
    });
  });
  afterEach(async () => {
    await router.close();
    await t.close();
  });

  /** Enters the customer and waits until the run sits in `wait-order`; returns the run and its code. */
  async function enterAndWait(customerId: string) {
    await setup.engine.identify(customerId, { ...TRAITS, locale: 'zh-CN' });
    expect((await setup.engine.track(customerId, 'segment_entered', { segment: 'dormant' })).entered).toEqual(
      [JOURNEY],
    );
    const handle = setup.env.client.workflow.getHandle(journeyWorkflowId(JOURNEY, customerId));
    const state = await eventually(
      async () => {
        const s = await handle.query(stateQuery);
        return s.currentStep === 'wait-order' ? s : undefined;
      },
      30_000,
      'the run to reach wait-order',
    );
    const issued = state.path.find((p) => p.stepId === 'exclusive-coupon')!;
    expect(issued).toMatchObject({ type: 'issueCoupon', outcome: 'issued' });
    const code = issued.detail!.code as string;
    expect(code).toMatch(CODE_FORMAT);
    return { handle, code };
  }

  const smsFor = (customerId: string) =>
    eventually(async () => {
      const lines = (await setup.engine.outbox('sms')).filter((l) => l.customerId === customerId);
      return lines.length ? lines : undefined;
    });

  /** What the router did with a job of the events queue, once it is done. */
  const routed = (messageId: string) =>
    eventually(
      async () => {
        const job = await t.queue.getJob(eventJobId(messageId));
        return job && (await job.isCompleted()) ? (job.returnvalue as RouteResult) : undefined;
      },
      15_000,
      `the router to process ${messageId}`,
    );

  const converted = (handle: ReturnType<typeof setup.env.client.workflow.getHandle>) =>
    eventually(async () => {
      const s = await handle.query(stateQuery);
      return s.status === 'converted' ? s : undefined;
    });

  test('one coupon per run, even when the issuing activity is retried; its code is in the SMS', async () => {
    crashAfterIssue = true;
    const { handle, code } = await enterAndWait('cj-once');
    expect(crashed.size).toBe(1);

    const sms = await smsFor('cj-once');
    expect(sms).toHaveLength(1);
    expect(sms[0]!.body).toBe(
      `【栖木家居】王芳，好久不见！送您一张50元专属回归券，券码${code}，14天内下单可用。退订回TD`,
    );
    const steps = await t.store.journeyStats(JOURNEY);
    expect(steps.get('exclusive-coupon')).toMatchObject({
      campaign: 'dormant-reactivation',
      issued: 1,
      redeemed: 0,
      valueIssued: { CNY: 50 },
    });
    const coupon = await t.admin(`/v1/coupons/${code}`);
    expect(coupon.body).toMatchObject({
      code,
      status: 'issued',
      customerId: 'cj-once',
      journey: { id: JOURNEY, version: 1, stepId: 'exclusive-coupon' },
    });
    const expiresIn = Date.parse(coupon.body.expiresAt) - Date.parse(coupon.body.issuedAt);
    expect(Math.abs(expiresIn - 14 * 86_400_000)).toBeLessThan(60_000);

    await setup.engine.track('cj-once', 'order_completed', { amount: 299 });
    expect((await handle.result()).status).toBe('converted');
  });

  test('redeemed through the API: its coupon_redeemed event converts the run; a POS report of it is not counted again', async () => {
    const { handle, code } = await enterAndWait('cj-api');
    const res = await t.redeem({ code, orderId: 'o-1', amount: 899 });
    expect(res.status).toBe(200);

    const state = await converted(handle);
    expect(state.conversion).toMatchObject({
      event: 'coupon_redeemed',
      messageId: redemptionMessageId(code),
    });
    expect(await routed(redemptionMessageId(code))).toMatchObject({
      coupon: 'same_redemption',
      signalled: [JOURNEY],
    });

    // The POS also reports the redemption as an event: a second report, neither counted nor routed.
    const pos = await request(t.app)
      .post('/v1/track')
      .set('Authorization', basic(KEYS.writeKey))
      .send({ userId: 'cj-api', event: 'coupon_redeemed', properties: { code }, messageId: 'pos-cj-api' });
    expect(pos.status).toBe(202);
    expect(await routed('pos-cj-api')).toMatchObject({ coupon: 'already_redeemed', signalled: [] });

    const result: JourneyResult = await handle.result();
    expect(result.status).toBe('converted');
    expect(await t.store.campaignStats('dormant-reactivation')).toMatchObject({
      issued: 1,
      redeemed: 1,
      valueRedeemed: { CNY: 50 },
      steps: [{ journeyId: JOURNEY, stepId: 'exclusive-coupon', issued: 1, redeemed: 1 }],
    });
    expect((await setup.engine.outbox('email')).filter((l) => l.customerId === 'cj-api')).toHaveLength(0);
  });

  test('redeemed at the POS (a coupon_redeemed event): the router redeems it and converts the run; the API then answers 409', async () => {
    const { handle, code } = await enterAndWait('cj-pos');
    const pos = await request(t.app)
      .post('/v1/track')
      .set('Authorization', basic(KEYS.writeKey))
      .send({
        userId: 'cj-pos',
        event: 'coupon_redeemed',
        properties: { code: code.toLowerCase().replace(/-/g, ''), orderId: 'pos-order-5' },
        messageId: 'pos-cj-pos',
      });
    expect(pos.status).toBe(202);

    const state = await converted(handle);
    expect(state.conversion).toMatchObject({ event: 'coupon_redeemed', messageId: 'pos-cj-pos' });
    expect(await routed('pos-cj-pos')).toMatchObject({ coupon: 'redeemed', signalled: [JOURNEY] });

    const again = await t.redeem({ code, orderId: 'pos-order-5' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'already_redeemed', orderId: 'pos-order-5' });
    expect(await t.job(redemptionMessageId(code))).toBeUndefined(); // the API emitted nothing

    expect((await handle.result()).status).toBe('converted');
    const coupon = await t.admin(`/v1/coupons/${code}`);
    expect(coupon.body).toMatchObject({
      status: 'redeemed',
      redemption: { via: 'event', id: 'pos-cj-pos', userId: 'cj-pos', orderId: 'pos-order-5' },
    });
    expect(await t.store.campaignStats('dormant-reactivation')).toMatchObject({ issued: 1, redeemed: 1 });
  });
});
