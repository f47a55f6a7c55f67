import request from 'supertest';
import { redemptionMessageId } from '../../coupons/codes';
import type { Journey } from '../../language/types';
import { eventJobId } from '../../queues/events';
import { basic, bearer, KEYS, startTestApp } from '../server/fixture';
import { couponRequest, DAY, issueCoupons, startCouponApp, type CouponApp } from './support';

/** A loaded journey with two issueCoupon steps, for the journey stats route. */
const BIRTHDAY: Journey = {
  id: 'birthday',
  name: 'Birthday benefit',
  version: 2,
  defaultLocale: 'zh-CN',
  entry: { event: 'birthday_upcoming', reentry: { mode: 'always' } },
  exit: [],
  steps: [
    { id: 'pick', type: 'waitFor', event: 'benefit_chosen', timeoutMs: 3 * DAY },
    { id: 'birthday-coupon', type: 'issueCoupon', campaign: 'birthday-2026', value: 30, currency: 'CNY' },
    { id: 'class-voucher', type: 'issueCoupon', campaign: 'classes', value: 99, currency: 'CNY' },
  ],
};

let t: CouponApp;
beforeEach(async () => {
  t = await startCouponApp({
    journeys: { list: () => [BIRTHDAY], get: (id) => (id === BIRTHDAY.id ? BIRTHDAY : undefined) },
  });
});
afterEach(() => t.close());

describe('POST /v1/coupons/redeem', () => {
  test('redeems: 200 with the coupon, and a coupon_redeemed event for its customer on the events queue', async () => {
    const { code } = await t.store.issueOnce(couponRequest({ customerId: '会员 42' }));
    const res = await t.redeem({
      code: code.toLowerCase(),
      userId: 'pos-member-7',
      orderId: 'o-77',
      amount: 1299,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      code,
      campaign: 'dormant-reactivation',
      value: 50,
      currency: 'CNY',
      status: 'redeemed',
      issuedAt: expect.any(String),
      expiresAt: expect.any(String),
      customerId: '会员 42',
      journey: { id: 'dormant-reactivation', version: 1, stepId: 'exclusive-coupon' },
      redemption: {
        at: expect.any(String),
        via: 'api',
        id: redemptionMessageId(code),
        userId: 'pos-member-7',
        orderId: 'o-77',
        amount: 1299,
      },
    });

    const jobs = await t.jobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.id).toBe(eventJobId(redemptionMessageId(code)));
    expect(jobs[0]!.data).toEqual({
      type: 'track',
      userId: '会员 42',
      event: 'coupon_redeemed',
      messageId: `coupon-redeemed:${code}`,
      properties: {
        code,
        campaign: 'dormant-reactivation',
        journeyId: 'dormant-reactivation',
        stepId: 'exclusive-coupon',
        value: 50,
        currency: 'CNY',
        orderId: 'o-77',
        amount: 1299,
      },
      timestamp: res.body.redemption.at,
      receivedAt: expect.any(String),
      context: { library: { name: 'touchpoint-coupons' } },
    });
  });

  test('an anonymous customer’s coupon emits the event with the anonymousId', async () => {
    const { code } = await t.store.issueOnce(couponRequest({ customerId: 'anon:device-9' }));
    expect((await t.redeem({ code })).status).toBe(200);
    const [job] = await t.jobs();
    expect(job!.data).toMatchObject({ anonymousId: 'device-9', event: 'coupon_redeemed' });
    expect(job!.data.userId).toBeUndefined();
    expect((job!.data as { properties: object }).properties).not.toHaveProperty('orderId');
  });

  test('concurrent redeems of one code: exactly one 200, the rest 409 with redeemedAt; one event', async () => {
    const { code } = await t.store.issueOnce(couponRequest());
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => t.redeem({ code, orderId: `o-${i}` })),
    );
    const ok = answers.filter((r) => r.status === 200);
    const conflicts = answers.filter((r) => r.status === 409);
    expect(ok).toHaveLength(1);
    expect(conflicts).toHaveLength(11);
    for (const res of conflicts) {
      expect(res.body).toEqual({
        error: 'already_redeemed',
        message: expect.stringContaining('redeemed at'),
        redeemedAt: ok[0]!.body.redemption.at,
        orderId: ok[0]!.body.redemption.orderId,
      });
    }
    expect(await t.jobs()).toHaveLength(1);
    expect(await t.store.campaignStats('dormant-reactivation')).toMatchObject({ issued: 1, redeemed: 1 });
  });

  test('a repeat re-queues the API redemption’s event when it was lost (same messageId, no double)', async () => {
    const { code } = await t.store.issueOnce(couponRequest());
    expect((await t.redeem({ code })).status).toBe(200);
    // As if Redis lost the job, or the app died between redeeming and queueing.
    await (await t.job(redemptionMessageId(code)))!.remove();
    expect(await t.jobs()).toHaveLength(0);
    expect((await t.redeem({ code })).status).toBe(409);
    expect((await t.jobs()).map((j) => j.data.messageId)).toEqual([redemptionMessageId(code)]);
    expect((await t.redeem({ code })).status).toBe(409);
    expect(await t.jobs()).toHaveLength(1);
  });

  test('a coupon redeemed by a coupon_redeemed event: 409, and the API emits nothing', async () => {
    const { code } = await t.store.issueOnce(couponRequest());
    await t.store.redeem({ code, via: 'event', redemptionId: 'pos-1' });
    expect((await t.redeem({ code })).status).toBe(409);
    expect(await t.jobs()).toHaveLength(0);
  });

  test('expired → 410, unknown → 404; neither queues anything', async () => {
    const expiresAt = new Date(Date.now() - 60_000).toISOString();
    const { code } = await t.store.issueOnce(couponRequest({ expiresAt }));
    const expired = await t.redeem({ code });
    expect(expired.status).toBe(410);
    expect(expired.body).toEqual({
      error: 'expired',
      message: `the coupon expired at ${expiresAt}`,
      expiresAt,
    });
    const unknown = await t.redeem({ code: '0000-0000-0000' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'not_found', message: 'no coupon with this code' });
    expect(await t.jobs()).toHaveLength(0);
    expect((await t.store.describe(code))!.status).toBe('expired');
  });

  test('bad input → 400 with the path of every bad field; nothing redeemed', async () => {
    const { code } = await t.store.issueOnce(couponRequest());
    const res = await t.redeem({ userId: 42, orderId: '', amount: -5, orderID: 'o-1' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      message: '5 invalid fields',
      issues: [
        { path: 'orderID', message: 'unknown field: expected code, userId, orderId, amount' },
        { path: 'code', message: 'is required' },
        { path: 'userId', message: 'must be a string' },
        { path: 'orderId', message: 'must not be empty' },
        { path: 'amount', message: 'must not be negative' },
      ],
    });
    expect((await t.redeem([code])).body.issues).toEqual([
      { path: '', message: 'request body must be a JSON object' },
    ]);
    expect((await t.redeem({ code, amount: '12' })).body.issues).toEqual([
      { path: 'amount', message: 'must be a number' },
    ]);
    expect((await t.store.describe(code))!.status).toBe('issued');
  });

  test('needs the write (or admin) key', async () => {
    const { code } = await t.store.issueOnce(couponRequest());
    expect((await t.redeem({ code }, basic('wrong'))).status).toBe(401);
    expect((await t.redeem({ code }, bearer(KEYS.adminKey))).status).toBe(200);
  });
});

describe('admin reads', () => {
  test('GET /v1/coupons/:code: the coupon, its status, customer and journey step', async () => {
    const { code } = await t.store.issueOnce(couponRequest({ customerId: 'c-9' }));
    const issued = await t.admin(`/v1/coupons/${code.toLowerCase()}`);
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({
      code,
      status: 'issued',
      customerId: 'c-9',
      journey: { id: 'dormant-reactivation', version: 1, stepId: 'exclusive-coupon' },
      redemption: null,
    });
    await t.redeem({ code, orderId: 'o-1' });
    expect((await t.admin(`/v1/coupons/${code}`)).body).toMatchObject({
      status: 'redeemed',
      redemption: { via: 'api', orderId: 'o-1' },
    });
    expect((await t.admin('/v1/coupons/0000-0000-0000')).status).toBe(404);
    expect((await t.admin(`/v1/coupons/${code}`, KEYS.writeKey)).status).toBe(403);
  });

  test('GET /v1/coupons/campaigns/:campaign: issued, redeemed, rate and value, overall and per step', async () => {
    const coupons = await issueCoupons(t.store, 4, {
      journeyId: 'birthday',
      stepId: 'birthday-coupon',
      campaign: 'birthday-2026',
      value: 30,
    });
    await t.redeem({ code: coupons[0]!.code });
    const res = await t.admin('/v1/coupons/campaigns/birthday-2026');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      campaign: 'birthday-2026',
      issued: 4,
      redeemed: 1,
      redemptionRate: 0.25,
      valueIssued: { CNY: 120 },
      valueRedeemed: { CNY: 30 },
      steps: [
        {
          journeyId: 'birthday',
          stepId: 'birthday-coupon',
          issued: 4,
          redeemed: 1,
          redemptionRate: 0.25,
          valueIssued: { CNY: 120 },
          valueRedeemed: { CNY: 30 },
        },
      ],
    });
    // A campaign a loaded journey names but has not issued yet: zeros; anything else: 404.
    expect((await t.admin('/v1/coupons/campaigns/classes')).body).toEqual({
      campaign: 'classes',
      issued: 0,
      redeemed: 0,
      redemptionRate: null,
      valueIssued: {},
      valueRedeemed: {},
      steps: [],
    });
    expect((await t.admin('/v1/coupons/campaigns/nope')).status).toBe(404);
    expect((await t.admin('/v1/coupons/campaigns/classes', KEYS.writeKey)).status).toBe(403);
  });

  test('GET /v1/journeys/:id/coupons: per issueCoupon step, earlier versions’ steps included', async () => {
    const [a] = await issueCoupons(t.store, 2, {
      journeyId: 'birthday',
      stepId: 'birthday-coupon',
      campaign: 'birthday-2026',
      value: 30,
    });
    const [old] = await issueCoupons(t.store, 1, {
      journeyId: 'birthday',
      stepId: 'gift-card', // a step of version 1
      campaign: 'birthday-2025',
      value: 20,
    });
    await t.redeem({ code: a!.code });
    await t.redeem({ code: old!.code });

    const res = await t.admin('/v1/journeys/birthday/coupons');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      journeyId: 'birthday',
      issued: 3,
      redeemed: 2,
      redemptionRate: 2 / 3,
      valueIssued: { CNY: 80 },
      valueRedeemed: { CNY: 50 },
      steps: [
        {
          stepId: 'birthday-coupon',
          campaign: 'birthday-2026',
          issued: 2,
          redeemed: 1,
          redemptionRate: 0.5,
          valueIssued: { CNY: 60 },
          valueRedeemed: { CNY: 30 },
        },
        {
          stepId: 'class-voucher',
          campaign: 'classes',
          issued: 0,
          redeemed: 0,
          redemptionRate: null,
          valueIssued: {},
          valueRedeemed: {},
        },
        {
          stepId: 'gift-card',
          campaign: 'birthday-2025',
          issued: 1,
          redeemed: 1,
          redemptionRate: 1,
          valueIssued: { CNY: 20 },
          valueRedeemed: { CNY: 20 },
        },
      ],
    });
    expect((await t.admin('/v1/journeys/nope/coupons')).status).toBe(404);
    expect((await t.admin('/v1/journeys/birthday/coupons', KEYS.writeKey)).status).toBe(403);
  });
});

test('without a coupon store the coupon routes do not exist', async () => {
  const bare = await startTestApp();
  try {
    const res = await request(bare.app)
      .post('/v1/coupons/redeem')
      .set('Authorization', basic(KEYS.writeKey))
      .send({ code: 'X' });
    expect(res.status).toBe(404);
  } finally {
    await bare.close();
  }
});
