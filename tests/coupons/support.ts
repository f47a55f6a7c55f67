import type { Redis } from 'ioredis';
import request from 'supertest';
import type { CouponRequest } from '../../activities/types';
import { CouponStore, type CouponStoreOptions } from '../../coupons/store';
import type { AppDeps } from '../../server/app';
import { basic, bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

export const DAY = 86_400_000;

/** A CouponStore on the test Redis under a prefix of its own, and a sweep of its keys. */
export function testCouponStore(options: CouponStoreOptions = {}) {
  const redis: Redis = testRedis();
  const prefix = uniquePrefix('cpn');
  const store = new CouponStore(redis, prefix, options);
  return {
    redis,
    prefix,
    store,
    async close() {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}

export interface CouponApp extends TestApp {
  store: CouponStore;
  /** POST /v1/coupons/redeem with `body` as JSON, with the write key unless `auth` is given. */
  redeem(body: unknown, auth?: string): request.Test;
  /** GET `path` with the admin key unless another `key` is given. */
  admin(path: string, key?: string): request.Test;
}

/** The app on a coupon store of its own, with the calls the coupon suites make to it. */
export async function startCouponApp(overrides: Partial<AppDeps> = {}): Promise<CouponApp> {
  const coupons = testCouponStore();
  const app = await startTestApp({ coupons: coupons.store, ...overrides });
  return {
    ...app,
    store: coupons.store,
    redeem: (body, auth = basic(KEYS.writeKey)) =>
      request(app.app)
        .post('/v1/coupons/redeem')
        .set('Authorization', auth)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(body)),
    admin: (path, key = KEYS.adminKey) => request(app.app).get(path).set('Authorization', bearer(key)),
    async close() {
      await app.close();
      await coupons.close();
    },
  };
}

/** What the workflow's issueCoupon step asks for, with test defaults. */
export function couponRequest(overrides: Partial<CouponRequest> = {}): CouponRequest {
  return {
    journeyId: 'dormant-reactivation',
    journeyVersion: 1,
    customerId: 'c-1',
    stepId: 'exclusive-coupon',
    campaign: 'dormant-reactivation',
    value: 50,
    currency: 'CNY',
    expiresAt: new Date(Date.now() + 14 * DAY).toISOString(),
    idempotencyKey: `journey:dormant-reactivation:c-1/run-1/exclusive-coupon/0`,
    ...overrides,
  };
}

/** Issues `n` coupons of one journey step (`step` over the defaults), each under a key of its own. */
export function issueCoupons(
  store: CouponStore,
  n: number,
  step: Partial<CouponRequest> & { stepId: string },
) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      store.issueOnce(couponRequest({ ...step, idempotencyKey: `${step.stepId}-${i}` })),
    ),
  );
}

/** A code as Touchpoint draws them: 3 groups of 4 Crockford base-32 symbols. */
export const CODE_FORMAT = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
