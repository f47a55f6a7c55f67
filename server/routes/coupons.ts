import express, { type Router } from 'express';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { redemptionEvent } from '../../coupons/events';
import type { CouponCounts, CouponStore, JourneyStepCouponStats, RedeemedCoupon } from '../../coupons/store';
import type { IngestEvent } from '../../queues/events';
import type { Access } from '../auth';
import { ApiError, formatPath, invalidRequest, type Issue } from '../errors';
import { enqueueEvents } from '../ingest/enqueue';
import { isJsonObject } from '../ingest/json-object';
import { jsonBody } from '../json-body';
import { withTimeout } from '../timeout';
import type { JourneyLookup } from './admin';

export interface CouponsRouterOptions {
  access: Access;
  coupons: CouponStore;
  journeys: JourneyLookup;
  /** Where a redemption's `coupon_redeemed` event goes (the ingestion queue). */
  eventsQueue: Queue<IngestEvent>;
  bodyLimit?: number | string;
  /** How long a call waits for Redis before answering 503. Default 10 s. */
  enqueueTimeoutMs?: number;
}

/** A redemption made through the API re-emits its event on a repeat within this time. */
const REEMIT_WINDOW_MS = 24 * 3600_000;

const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

const redeemSchema = z.object({
  code: text(64),
  userId: text(256).nullish(),
  orderId: text(256).nullish(),
  amount: z
    .number({ error: 'must be a number' })
    .nonnegative('must not be negative')
    .refine(Number.isFinite, 'must be a finite number')
    .nullish(),
});
const REDEEM_FIELDS = new Set(Object.keys(redeemSchema.shape));

/** The body of POST /coupons/redeem, every bad or unknown field reported. */
function validateRedeem(body: unknown): z.output<typeof redeemSchema> {
  if (!isJsonObject(body))
    throw invalidRequest([{ path: '', message: 'request body must be a JSON object' }]);
  const issues: Issue[] = Object.keys(body)
    .filter((key) => !REDEEM_FIELDS.has(key))
    .map((key) => ({
      path: formatPath([key]),
      message: 'unknown field: expected code, userId, orderId, amount',
    }));
  const parsed = redeemSchema.safeParse(body);
  if (!parsed.success)
    issues.push(...parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  if (issues.length > 0 || !parsed.success) throw invalidRequest(issues);
  return parsed.data;
}

/**
 * Coupons, mounted under /v1: `POST /coupons/redeem` (events:write) and the reads
 * `GET /coupons/:code` (runs:read), `GET /coupons/campaigns/:campaign` and
 * `GET /journeys/:id/coupons` (journeys:read).
 */
export function couponsRouter({
  access,
  coupons,
  journeys,
  eventsQueue,
  bodyLimit,
  enqueueTimeoutMs = 10_000,
}: CouponsRouterOptions): Router {
  const router = express.Router();

  /** A store call under the timeout; Redis trouble becomes a 503 the client may retry. */
  const store = async <T>(call: Promise<T>): Promise<T> => {
    try {
      return await withTimeout(call, enqueueTimeoutMs, 'coupon store');
    } catch (err) {
      throw new ApiError(503, 'unavailable', 'the coupon store is unavailable; retry', {
        headers: { 'Retry-After': '5' },
        cause: err,
      });
    }
  };

  /** Queues the redemption's event; its messageId derives from the code, so a repeat is a no-op. */
  const emit = async (coupon: RedeemedCoupon) => {
    try {
      await enqueueEvents(eventsQueue, [redemptionEvent(coupon, new Date())], enqueueTimeoutMs);
    } catch (err) {
      throw new ApiError(
        503,
        'unavailable',
        'the coupon is redeemed but its coupon_redeemed event could not be queued; retry the call: ' +
          'it answers 409 already_redeemed and queues the event',
        { headers: { 'Retry-After': '5' }, cause: err },
      );
    }
  };

  router.post('/coupons/redeem', access.require('events:write'), ...jsonBody(bodyLimit), async (req, res) => {
    const input = validateRedeem(req.body);
    const result = await store(
      coupons.redeem({
        code: input.code,
        via: 'api',
        ...(input.userId != null && { userId: input.userId }),
        ...(input.orderId != null && { orderId: input.orderId }),
        ...(input.amount != null && { amount: input.amount }),
      }),
    );
    switch (result.outcome) {
      case 'not_found':
        throw new ApiError(404, 'not_found', 'no coupon with this code');
      case 'expired':
        res.status(410).json({
          error: 'expired',
          message: `the coupon expired at ${result.coupon.expiresAt}`,
          expiresAt: result.coupon.expiresAt,
        });
        return;
      case 'already_redeemed': {
        const { redemption } = result.coupon;
        // The API's own redemption whose event may not have been queued (503, crash): queue it.
        if (redemption.via === 'api' && Date.now() - Date.parse(redemption.at) < REEMIT_WINDOW_MS)
          await emit(result.coupon);
        res.status(409).json({
          error: 'already_redeemed',
          message: `the coupon was redeemed at ${redemption.at}`,
          redeemedAt: redemption.at,
          ...(redemption.orderId !== undefined && { orderId: redemption.orderId }),
        });
        return;
      }
      case 'redeemed':
        await emit(result.coupon);
        res.status(200).json(result.coupon);
        return;
    }
  });

  router.get('/coupons/campaigns/:campaign', access.require('journeys:read'), async (req, res) => {
    const campaign = String(req.params.campaign);
    const stats = await store(coupons.campaignStats(campaign));
    if (stats) return void res.json(stats);
    const known = journeys
      .list()
      .some((j) => j.steps.some((s) => s.type === 'issueCoupon' && s.campaign === campaign));
    if (!known) throw new ApiError(404, 'not_found', `no coupon campaign ${JSON.stringify(campaign)}`);
    res.json({ campaign, ...zero(), steps: [] });
  });

  router.get('/coupons/:code', access.require('runs:read'), async (req, res) => {
    const coupon = await store(coupons.describe(String(req.params.code)));
    if (!coupon) throw new ApiError(404, 'not_found', 'no coupon with this code');
    res.json(coupon);
  });

  router.get('/journeys/:id/coupons', access.require('journeys:read'), async (req, res) => {
    const id = String(req.params.id);
    const journey = journeys.get(id);
    const counted = await store(coupons.journeyStats(id));
    if (!journey && counted.size === 0)
      throw new ApiError(404, 'not_found', `no journey ${JSON.stringify(id)}`);
    // The loaded version's issueCoupon steps in order (zeros until they issue), then steps of
    // earlier versions that issued coupons.
    const steps: JourneyStepCouponStats[] = [];
    for (const step of journey?.steps ?? []) {
      if (step.type !== 'issueCoupon') continue;
      steps.push(counted.get(step.id) ?? { stepId: step.id, campaign: step.campaign, ...zero() });
      counted.delete(step.id);
    }
    steps.push(...counted.values());
    res.json({ journeyId: id, ...total(steps), steps });
  });

  return router;
}

function zero(): CouponCounts {
  return { issued: 0, redeemed: 0, redemptionRate: null, valueIssued: {}, valueRedeemed: {} };
}

/** Sum of the steps' counts. */
function total(steps: CouponCounts[]): CouponCounts {
  const sum = zero();
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [currency, value] of Object.entries(from))
      into[currency] = Math.round(((into[currency] ?? 0) + value) * 100) / 100;
  };
  for (const step of steps) {
    sum.issued += step.issued;
    sum.redeemed += step.redeemed;
    add(sum.valueIssued, step.valueIssued);
    add(sum.valueRedeemed, step.valueRedeemed);
  }
  sum.redemptionRate = sum.issued > 0 ? sum.redeemed / sum.issued : null;
  return sum;
}
