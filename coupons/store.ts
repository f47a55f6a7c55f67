import type { Redis } from 'ioredis';
import type { CouponRequest, IssuedCoupon } from '../activities/types';
import { newCouponCode, normaliseCouponCode, redemptionMessageId } from './codes';
import type { CouponStatus, CouponView, Redemption, RedemptionVia } from './types';

// Declared in types.ts, which the console imports.
export type { CouponStatus, CouponView, Redemption, RedemptionVia };

/**
 * Claims the idempotency key for a code and writes the coupon, atomically, with the counters of
 * its campaign and of its journey step. Returns the code already issued under the key, the new
 * code, or nil when the code collides with another coupon (the caller draws a new one).
 *
 * KEYS: issued-key, coupon, campaign stats, step stats, journey's steps, campaign's steps.
 * ARGV: code, currency, value in hundredths, step id, campaign, `journeyId/stepId`, fields...
 */
const ISSUE_ONCE = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
redis.call('HSET', KEYS[2], unpack(ARGV, 7))
redis.call('SET', KEYS[1], ARGV[1])
for i = 3, 4 do
  redis.call('HINCRBY', KEYS[i], 'issued', 1)
  redis.call('HINCRBY', KEYS[i], 'issuedValue:' .. ARGV[2], ARGV[3])
end
redis.call('HSET', KEYS[5], ARGV[4], ARGV[5])
redis.call('SADD', KEYS[6], ARGV[6])
return ARGV[1]`;

/**
 * Marks a coupon redeemed unless it already is, and counts it for its campaign and its step, in
 * one step: of any number of concurrent redeems exactly one gets `redeemed`.
 *
 * KEYS: coupon, campaign stats, step stats. ARGV: currency, value in hundredths, then the
 * redemption's fields (redeemedAt, redeemedVia, redemptionId, ...).
 */
const REDEEM_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'not_found'} end
if redis.call('HGET', KEYS[1], 'status') == 'redeemed' then
  return {'already_redeemed', unpack(redis.call('HGETALL', KEYS[1]))}
end
redis.call('HSET', KEYS[1], 'status', 'redeemed', unpack(ARGV, 3))
for i = 2, 3 do
  redis.call('HINCRBY', KEYS[i], 'redeemed', 1)
  redis.call('HINCRBY', KEYS[i], 'redeemedValue:' .. ARGV[1], ARGV[2])
end
return {'redeemed', unpack(redis.call('HGETALL', KEYS[1]))}`;

/** A coupon with its redemption. */
export type RedeemedCoupon = CouponView & { redemption: Redemption };

export interface RedeemRequest {
  code: string;
  via: RedemptionVia;
  /**
   * Identifies this redemption (the messageId of its `coupon_redeemed` event): a repeat with the
   * same id is recognised as the same one. Default: `coupon-redeemed:<code>`, the id of the event
   * the API emits.
   */
  redemptionId?: string;
  userId?: string;
  orderId?: string;
  amount?: number;
}

export type RedeemResult =
  | { outcome: 'redeemed'; coupon: RedeemedCoupon }
  | { outcome: 'already_redeemed'; coupon: RedeemedCoupon }
  | { outcome: 'expired'; coupon: CouponView }
  | { outcome: 'not_found' };

/** Issued and redeemed counts with the value they stand for, per currency. */
export interface CouponCounts {
  issued: number;
  redeemed: number;
  /** redeemed / issued; null while nothing is issued. */
  redemptionRate: number | null;
  /** Face value issued and redeemed, per currency: `{ "CNY": 150 }`. */
  valueIssued: Record<string, number>;
  valueRedeemed: Record<string, number>;
}

export interface StepCouponCounts extends CouponCounts {
  journeyId: string;
  stepId: string;
}

export interface CampaignCouponStats extends CouponCounts {
  campaign: string;
  /** The journey steps that issued coupons of the campaign. */
  steps: StepCouponCounts[];
}

export interface JourneyStepCouponStats extends CouponCounts {
  stepId: string;
  /** The campaign the step issued under (last issue), when it issued any. */
  campaign: string | null;
}

export interface CouponStoreOptions {
  /** The clock redemption uses to tell expiry (tests). */
  now?: () => Date;
}

/** Values are counted in hundredths so that sums stay exact. */
const toHundredths = (value: number) => Math.round(value * 100);

/**
 * Coupons in Redis: one hash per code, one key per idempotency key pointing at its code, and
 * counters per campaign and per journey step. Coupons are records of money given away and are
 * kept without expiry.
 */
export class CouponStore {
  private readonly now: () => Date;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: CouponStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  private codeKey(code: string): string {
    return `${this.prefix}:coupon:${code}`;
  }

  private issuedKey(idempotencyKey: string): string {
    return `${this.prefix}:coupon-issued:${idempotencyKey}`;
  }

  /** Hash: issued, redeemed, issuedValue:<currency>, redeemedValue:<currency> (hundredths). */
  campaignStatsKey(campaign: string): string {
    return `${this.prefix}:coupon-stats:${campaign}`;
  }

  /** Hash: the same counters for one journey step (across the journey's versions). */
  stepStatsKey(journeyId: string, stepId: string): string {
    return `${this.prefix}:coupon-step-stats:${journeyId}:${stepId}`;
  }

  /** Hash: step id → campaign, for every step of the journey that issued a coupon. */
  private journeyStepsKey(journeyId: string): string {
    return `${this.prefix}:coupon-journey-steps:${journeyId}`;
  }

  /** Set of `journeyId/stepId` that issued coupons of the campaign. */
  private campaignStepsKey(campaign: string): string {
    return `${this.prefix}:coupon-campaign-steps:${campaign}`;
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
        issuedAt: this.now().toISOString(),
      };
      const result = (await this.redis.eval(
        ISSUE_ONCE,
        6,
        this.issuedKey(request.idempotencyKey),
        this.codeKey(code),
        this.campaignStatsKey(request.campaign),
        this.stepStatsKey(request.journeyId, request.stepId),
        this.journeyStepsKey(request.journeyId),
        this.campaignStepsKey(request.campaign),
        code,
        request.currency,
        toHundredths(request.value),
        request.stepId,
        request.campaign,
        `${request.journeyId}/${request.stepId}`,
        ...Object.entries(fields).flat(),
      )) as string | null;
      if (result) return (await this.get(result))!;
    }
    throw new Error('could not draw an unused coupon code in 5 tries');
  }

  /** The stored coupon as issued (what journeys and templates see); null for an unknown code. */
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

  /** The coupon with its status, customer, journey step and redemption; null for an unknown code. */
  async describe(code: string): Promise<CouponView | null> {
    const raw = await this.redis.hgetall(this.codeKey(normaliseCouponCode(code)));
    return raw.code ? this.view(raw) : null;
  }

  /**
   * Redeems a coupon at most once. Expiry is checked first against this store's clock (it never
   * changes once issued); the check-and-set of the status is one Lua script, so concurrent
   * redeems of one code give exactly one `redeemed`.
   */
  async redeem(request: RedeemRequest): Promise<RedeemResult> {
    const key = this.codeKey(normaliseCouponCode(request.code));
    const raw = await this.redis.hgetall(key);
    if (!raw.code) return { outcome: 'not_found' };
    const current = this.view(raw);
    if (current.status === 'redeemed')
      return { outcome: 'already_redeemed', coupon: withRedemption(current) };
    if (current.status === 'expired') return { outcome: 'expired', coupon: current };

    const fields: Record<string, string> = {
      redeemedAt: this.now().toISOString(),
      redeemedVia: request.via,
      redemptionId: request.redemptionId ?? redemptionMessageId(current.code),
      ...(request.userId !== undefined && { redeemedBy: request.userId }),
      ...(request.orderId !== undefined && { orderId: request.orderId }),
      ...(request.amount !== undefined && { amount: String(request.amount) }),
    };
    const reply = (await this.redis.eval(
      REDEEM_ONCE,
      3,
      key,
      this.campaignStatsKey(current.campaign),
      this.stepStatsKey(current.journey.id, current.journey.stepId),
      current.currency,
      toHundredths(current.value),
      ...Object.entries(fields).flat(),
    )) as string[];
    const [outcome, ...flat] = reply;
    if (outcome === 'not_found') return { outcome };
    const coupon = withRedemption(this.view(pairs(flat)));
    return outcome === 'redeemed' ? { outcome, coupon } : { outcome: 'already_redeemed', coupon };
  }

  /** Counters of one campaign, overall and per journey step that issued it. */
  async campaignStats(campaign: string): Promise<CampaignCouponStats | null> {
    const [totals, members] = await Promise.all([
      this.redis.hgetall(this.campaignStatsKey(campaign)),
      this.redis.smembers(this.campaignStepsKey(campaign)),
    ]);
    if (Object.keys(totals).length === 0 && members.length === 0) return null;
    const steps = await Promise.all(
      members.sort().map(async (member) => {
        const [journeyId, stepId] = member.split('/') as [string, string];
        const raw = await this.redis.hgetall(this.stepStatsKey(journeyId, stepId));
        return { journeyId, stepId, ...counts(raw) };
      }),
    );
    return { campaign, ...counts(totals), steps };
  }

  /** Counters of every step of a journey that issued coupons (any version), by step id. */
  async journeyStats(journeyId: string): Promise<Map<string, JourneyStepCouponStats>> {
    const steps = await this.redis.hgetall(this.journeyStepsKey(journeyId));
    const out = new Map<string, JourneyStepCouponStats>();
    for (const [stepId, campaign] of Object.entries(steps).sort(([a], [b]) => a.localeCompare(b))) {
      const raw = await this.redis.hgetall(this.stepStatsKey(journeyId, stepId));
      out.set(stepId, { stepId, campaign, ...counts(raw) });
    }
    return out;
  }

  private view(raw: Record<string, string>): CouponView {
    const redeemed = raw.status === 'redeemed';
    const expired = !redeemed && this.now().getTime() >= Date.parse(raw.expiresAt!);
    return {
      code: raw.code!,
      campaign: raw.campaign!,
      value: Number(raw.value),
      currency: raw.currency!,
      status: redeemed ? 'redeemed' : expired ? 'expired' : 'issued',
      issuedAt: raw.issuedAt!,
      expiresAt: raw.expiresAt!,
      customerId: raw.customerId!,
      journey: { id: raw.journeyId!, version: Number(raw.journeyVersion), stepId: raw.stepId! },
      redemption: redeemed
        ? {
            at: raw.redeemedAt!,
            via: raw.redeemedVia as RedemptionVia,
            id: raw.redemptionId!,
            ...(raw.redeemedBy !== undefined && { userId: raw.redeemedBy }),
            ...(raw.orderId !== undefined && { orderId: raw.orderId }),
            ...(raw.amount !== undefined && { amount: Number(raw.amount) }),
          }
        : null,
    };
  }
}

function withRedemption(coupon: CouponView): RedeemedCoupon {
  if (!coupon.redemption) throw new Error(`coupon ${coupon.code} is not redeemed`);
  return coupon as RedeemedCoupon;
}

/** HGETALL as a Lua script returns it (a flat list) → an object. */
function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** A stats hash → counts, values back from hundredths. */
export function counts(raw: Record<string, string>): CouponCounts {
  const issued = Number(raw.issued ?? 0);
  const redeemed = Number(raw.redeemed ?? 0);
  const valueIssued: Record<string, number> = {};
  const valueRedeemed: Record<string, number> = {};
  for (const [field, value] of Object.entries(raw)) {
    const [kind, currency] = field.split(':');
    if (!currency) continue;
    if (kind === 'issuedValue') valueIssued[currency] = Number(value) / 100;
    if (kind === 'redeemedValue') valueRedeemed[currency] = Number(value) / 100;
  }
  return {
    issued,
    redeemed,
    redemptionRate: issued > 0 ? redeemed / issued : null,
    valueIssued,
    valueRedeemed,
  };
}
