import type { Redis } from 'ioredis';
import type { CouponRequest, IssuedCoupon } from '../activities/types';
import { newCouponCode } from './codes';

/**
 * Claims the idempotency key for a code and writes the coupon, atomically. Returns the code
 * already issued under the key, the new code, or nil when the code collides with another coupon
 * (the caller draws a new one).
 */
const ISSUE_ONCE = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'issued', 1)
return ARGV[1]`;

/** Coupons in Redis: one hash per code, one key per idempotency key pointing at its code. */
export class CouponStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private codeKey(code: string): string {
    return `${this.prefix}:coupon:${code}`;
  }

  private issuedKey(idempotencyKey: string): string {
    return `${this.prefix}:coupon-issued:${idempotencyKey}`;
  }

  campaignStatsKey(campaign: string): string {
    return `${this.prefix}:coupon-stats:${campaign}`;
  }

  /** Issues a coupon once per idempotency key; a retry gets the same coupon back. */
  async issueOnce(request: CouponRequest): Promise<IssuedCoupon> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const code = newCouponCode();
      const fields = {
        code,
        campaign: request.campaign,
        value: String(request.value),
        currency: request.currency,
        expiresAt: request.expiresAt,
        customerId: request.customerId,
        journeyId: request.journeyId,
        journeyVersion: String(request.journeyVersion),
        stepId: request.stepId,
        status: 'issued',
        issuedAt: new Date().toISOString(),
      };
      const result = (await this.redis.eval(
        ISSUE_ONCE,
        3,
        this.issuedKey(request.idempotencyKey),
        this.codeKey(code),
        this.campaignStatsKey(request.campaign),
        code,
        ...Object.entries(fields).flat(),
      )) as string | null;
      if (result) return (await this.get(result))!;
    }
    throw new Error('could not draw an unused coupon code in 5 tries');
  }

  async get(code: string): Promise<(IssuedCoupon & Record<string, string | number>) | null> {
    const raw = await this.redis.hgetall(this.codeKey(code));
    if (!raw.code) return null;
    return {
      ...raw,
      code: raw.code,
      campaign: raw.campaign!,
      value: Number(raw.value),
      currency: raw.currency!,
      expiresAt: raw.expiresAt!,
    };
  }
}
