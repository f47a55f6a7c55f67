import type { Redis } from 'ioredis';
import type { CouponRequest } from '../../activities/types';
import { CouponStore, type CouponStoreOptions } from '../../coupons/store';
import { testRedis, uniquePrefix } from '../support/redis';

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
      for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
        if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
      }
      await redis.quit();
    },
  };
}

const DAY = 86_400_000;

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

/** A code as Touchpoint draws them: 3 groups of 4 Crockford base-32 symbols. */
export const CODE_FORMAT = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
