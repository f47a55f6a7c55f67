import pino from 'pino';
import { newCouponCode, normaliseCouponCode, redemptionMessageId } from '../../coupons/codes';
import { applyCouponEvent } from '../../coupons/events';
import type { JourneyEvent } from '../../language/types';
import { CODE_FORMAT, couponRequest, DAY, issueCoupons, testCouponStore } from './support';

const logger = pino({ level: 'silent' });

describe('codes', () => {
  test('unguessable format: 12 CSPRNG symbols from Crockford base 32, in groups of four', () => {
    const codes = Array.from({ length: 20_000 }, () => newCouponCode());
    for (const code of codes.slice(0, 500)) expect(code).toMatch(CODE_FORMAT);
    expect(new Set(codes).size).toBe(codes.length);
    // Every symbol of the alphabet shows up in every position: nothing fixed, nothing sequential.
    for (let position = 0; position < 14; position++) {
      if (position === 4 || position === 9) continue;
      expect(new Set(codes.map((c) => c[position])).size).toBe(32);
    }
    expect(codes.join('')).not.toMatch(/[ILOU]/);
  });

  test('typed codes are normalised: case and separators do not matter', () => {
    expect(normaliseCouponCode('7kq2 m9xd 4htb')).toBe('7KQ2-M9XD-4HTB');
    expect(normaliseCouponCode('7KQ2M9XD4HTB')).toBe('7KQ2-M9XD-4HTB');
    expect(normaliseCouponCode(' back-8k2q ')).toBe('BACK-8K2Q');
  });
});

describe('CouponStore', () => {
  let t: ReturnType<typeof testCouponStore>;
  let clock: Date | undefined;
  beforeEach(() => {
    clock = undefined;
    t = testCouponStore({ now: () => clock ?? new Date() });
  });
  afterEach(() => t.close());

  test('issues once per idempotency key, however many calls race', async () => {
    const request = couponRequest();
    const issued = await Promise.all(Array.from({ length: 25 }, () => t.store.issueOnce(request)));
    expect(new Set(issued.map((c) => c.code)).size).toBe(1);
    const coupon = issued[0]!;
    expect(coupon).toMatchObject({
      campaign: 'dormant-reactivation',
      value: 50,
      currency: 'CNY',
      expiresAt: request.expiresAt,
      customerId: 'c-1',
      stepId: 'exclusive-coupon',
    });
    expect(coupon.code).toMatch(CODE_FORMAT);
    // A later retry (the activity retried after a crash) gets the same coupon back.
    expect((await t.store.issueOnce(request)).code).toBe(coupon.code);

    const stats = await t.store.campaignStats('dormant-reactivation');
    expect(stats).toMatchObject({ issued: 1, redeemed: 0, valueIssued: { CNY: 50 } });
    expect(stats!.steps).toEqual([
      {
        journeyId: 'dormant-reactivation',
        stepId: 'exclusive-coupon',
        issued: 1,
        redeemed: 0,
        redemptionRate: 0,
        valueIssued: { CNY: 50 },
        valueRedeemed: {},
      },
    ]);
  });

  test('different keys get different codes', async () => {
    const coupons = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        t.store.issueOnce(couponRequest({ customerId: `c-${i}`, idempotencyKey: `k-${i}` })),
      ),
    );
    expect(new Set(coupons.map((c) => c.code)).size).toBe(200);
    expect((await t.store.campaignStats('dormant-reactivation'))!.issued).toBe(200);
  });

  test('describe: status, customer and journey step; unknown → null; typed codes normalised', async () => {
    const request = couponRequest({ journeyVersion: 3 });
    const { code } = await t.store.issueOnce(request);
    const view = await t.store.describe(code.toLowerCase().replace(/-/g, ' '));
    expect(view).toEqual({
      code,
      campaign: 'dormant-reactivation',
      value: 50,
      currency: 'CNY',
      status: 'issued',
      issuedAt: expect.any(String),
      expiresAt: request.expiresAt,
      customerId: 'c-1',
      journey: { id: 'dormant-reactivation', version: 3, stepId: 'exclusive-coupon' },
      redemption: null,
    });
    clock = new Date(Date.parse(request.expiresAt) + 1);
    expect((await t.store.describe(code))!.status).toBe('expired');
    expect(await t.store.describe('0000-0000-0000')).toBeNull();
  });

  test('redeems once: of many concurrent redeems exactly one wins, counted once', async () => {
    const { code } = await t.store.issueOnce(couponRequest({ value: 49.9 }));
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        t.store.redeem({ code, via: 'api', orderId: `o-${i}`, userId: 'c-1', amount: 399 }),
      ),
    );
    const won = results.filter((r) => r.outcome === 'redeemed');
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'already_redeemed')).toHaveLength(24);
    const winner = won[0]!;
    if (winner.outcome !== 'redeemed') throw new Error('unreachable');
    // The losers see the winner's redemption.
    for (const r of results) {
      if (r.outcome === 'already_redeemed') expect(r.coupon.redemption).toEqual(winner.coupon.redemption);
    }
    expect(winner.coupon).toMatchObject({
      status: 'redeemed',
      redemption: {
        via: 'api',
        id: redemptionMessageId(code),
        userId: 'c-1',
        orderId: expect.stringMatching(/^o-\d+$/),
        amount: 399,
        at: expect.any(String),
      },
    });
    const stats = await t.store.campaignStats('dormant-reactivation');
    expect(stats).toMatchObject({
      issued: 1,
      redeemed: 1,
      redemptionRate: 1,
      valueIssued: { CNY: 49.9 },
      valueRedeemed: { CNY: 49.9 },
    });
  });

  test('expired coupons are not redeemed nor counted; a redeemed one stays redeemed after expiry', async () => {
    const stale = await t.store.issueOnce(
      couponRequest({ idempotencyKey: 'stale', expiresAt: new Date(Date.now() - 1000).toISOString() }),
    );
    const result = await t.store.redeem({ code: stale.code, via: 'api' });
    expect(result).toMatchObject({ outcome: 'expired', coupon: { status: 'expired', redemption: null } });

    const used = await t.store.issueOnce(couponRequest({ idempotencyKey: 'used' }));
    expect((await t.store.redeem({ code: used.code, via: 'api' })).outcome).toBe('redeemed');
    clock = new Date(Date.now() + 30 * DAY);
    expect((await t.store.redeem({ code: used.code, via: 'api' })).outcome).toBe('already_redeemed');
    expect((await t.store.describe(used.code))!.status).toBe('redeemed');
    expect(await t.store.redeem({ code: 'NOPE-NOPE-NOPE', via: 'api' })).toEqual({ outcome: 'not_found' });
    expect((await t.store.campaignStats('dormant-reactivation'))!).toMatchObject({ issued: 2, redeemed: 1 });
  });

  test('stats per campaign and per journey step, with the value issued and redeemed', async () => {
    const dormant = await issueCoupons(t.store, 4, {
      journeyId: 'dormant-reactivation',
      stepId: 'exclusive-coupon',
      campaign: 'winback',
    });
    const birthday = await issueCoupons(t.store, 2, {
      journeyId: 'birthday',
      stepId: 'birthday-coupon',
      campaign: 'winback',
      value: 20.5,
    });
    const other = await issueCoupons(t.store, 3, {
      journeyId: 'birthday',
      stepId: 'class-voucher',
      campaign: 'classes',
      value: 10,
      currency: 'USD',
    });
    for (const c of [dormant[0]!, dormant[1]!, dormant[2]!, birthday[0]!, other[0]!]) {
      expect(
        (await t.store.redeem({ code: c.code, via: 'event', redemptionId: `pos-${c.code}` })).outcome,
      ).toBe('redeemed');
    }

    expect(await t.store.campaignStats('winback')).toEqual({
      campaign: 'winback',
      issued: 6,
      redeemed: 4,
      redemptionRate: 4 / 6,
      valueIssued: { CNY: 241 },
      valueRedeemed: { CNY: 170.5 },
      steps: [
        {
          journeyId: 'birthday',
          stepId: 'birthday-coupon',
          issued: 2,
          redeemed: 1,
          redemptionRate: 0.5,
          valueIssued: { CNY: 41 },
          valueRedeemed: { CNY: 20.5 },
        },
        {
          journeyId: 'dormant-reactivation',
          stepId: 'exclusive-coupon',
          issued: 4,
          redeemed: 3,
          redemptionRate: 0.75,
          valueIssued: { CNY: 200 },
          valueRedeemed: { CNY: 150 },
        },
      ],
    });
    const birthdaySteps = await t.store.journeyStats('birthday');
    expect([...birthdaySteps.values()]).toEqual([
      {
        stepId: 'birthday-coupon',
        campaign: 'winback',
        issued: 2,
        redeemed: 1,
        redemptionRate: 0.5,
        valueIssued: { CNY: 41 },
        valueRedeemed: { CNY: 20.5 },
      },
      {
        stepId: 'class-voucher',
        campaign: 'classes',
        issued: 3,
        redeemed: 1,
        redemptionRate: 1 / 3,
        valueIssued: { USD: 30 },
        valueRedeemed: { USD: 10 },
      },
    ]);
    expect(await t.store.campaignStats('never-issued')).toBeNull();
    expect((await t.store.journeyStats('browse-intent')).size).toBe(0);
  });
});

describe('coupon_redeemed events (the router side)', () => {
  let t: ReturnType<typeof testCouponStore>;
  beforeEach(() => {
    t = testCouponStore();
  });
  afterEach(() => t.close());

  let seq = 0;
  const event = (properties: Record<string, unknown>, messageId = `pos-${++seq}`): JourneyEvent => ({
    messageId,
    event: 'coupon_redeemed',
    properties,
    timestamp: new Date().toISOString(),
  });

  test('an event from outside redeems the coupon and reaches journeys with the coupon’s fields', async () => {
    const { code } = await t.store.issueOnce(couponRequest());
    const pos = event({ code: code.toLowerCase(), orderId: 'pos-order-1', amount: 1299, store: 'SH-01' });
    const applied = await applyCouponEvent(t.store, pos, 'c-1', logger);
    expect(applied).toEqual({
      outcome: 'redeemed',
      event: {
        ...pos,
        properties: {
          code,
          campaign: 'dormant-reactivation',
          journeyId: 'dormant-reactivation',
          stepId: 'exclusive-coupon',
          value: 50,
          currency: 'CNY',
          orderId: 'pos-order-1',
          amount: 1299,
          store: 'SH-01',
        },
      },
    });
    expect((await t.store.describe(code))!.redemption).toMatchObject({
      via: 'event',
      id: pos.messageId,
      userId: 'c-1',
      orderId: 'pos-order-1',
      amount: 1299,
    });
    // The same event again (a retried router job): the same redemption, routed, not counted again.
    expect((await applyCouponEvent(t.store, pos, 'c-1', logger))!.outcome).toBe('same_redemption');
    // Another report of a redemption already made: not counted, not routed.
    expect(await applyCouponEvent(t.store, event({ code }), 'c-1', logger)).toEqual({
      outcome: 'already_redeemed',
      event: null,
    });
    expect(await t.store.campaignStats('dormant-reactivation')).toMatchObject({ issued: 1, redeemed: 1 });
  });

  test('the event the API emits is recognised as the redemption the API counted', async () => {
    const { code } = await t.store.issueOnce(couponRequest());
    expect((await t.store.redeem({ code, via: 'api', orderId: 'o-1' })).outcome).toBe('redeemed');
    const emitted = event(
      { code, campaign: 'dormant-reactivation', orderId: 'o-1' },
      redemptionMessageId(code),
    );
    const applied = await applyCouponEvent(t.store, emitted, 'c-1', logger);
    expect(applied!.outcome).toBe('same_redemption');
    expect(applied!.event).not.toBeNull();
    expect(await t.store.campaignStats('dormant-reactivation')).toMatchObject({ redeemed: 1 });
  });

  test('other events, unknown codes and expired coupons pass through unchanged and uncounted', async () => {
    expect(await applyCouponEvent(t.store, { ...event({}), event: 'order_completed' }, 'c-1', logger)).toBe(
      undefined,
    );
    const noCode = event({ orderId: 'o-2' });
    expect(await applyCouponEvent(t.store, noCode, 'c-1', logger)).toEqual({
      outcome: 'no_code',
      event: noCode,
    });
    const brandCode = event({ code: 'SUMMER-SALE' });
    expect(await applyCouponEvent(t.store, brandCode, 'c-1', logger)).toEqual({
      outcome: 'not_found',
      event: brandCode,
    });
    const { code } = await t.store.issueOnce(
      couponRequest({ expiresAt: new Date(Date.now() - 1000).toISOString() }),
    );
    const late = event({ code });
    expect(await applyCouponEvent(t.store, late, 'c-1', logger)).toEqual({ outcome: 'expired', event: late });
    expect(await t.store.campaignStats('dormant-reactivation')).toMatchObject({ issued: 1, redeemed: 0 });
  });
});
