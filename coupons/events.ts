import type { Logger } from 'pino';
import type { JourneyEvent } from '../language/types';
import type { TrackEvent } from '../queues/events';
import { normaliseCouponCode, redemptionMessageId } from './codes';

export { redemptionMessageId };
import type { CouponStore, CouponView, RedeemedCoupon, Redemption } from './store';

/** The track event that stands for a coupon redemption, whichever way it reached Touchpoint. */
export const COUPON_REDEEMED = 'coupon_redeemed';

/** What journeys see of a redemption: the coupon's identity, value and the order it went on. */
export function redemptionProperties(coupon: CouponView, redemption: Redemption): Record<string, unknown> {
  return {
    code: coupon.code,
    campaign: coupon.campaign,
    journeyId: coupon.journey.id,
    stepId: coupon.journey.stepId,
    value: coupon.value,
    currency: coupon.currency,
    ...(redemption.orderId !== undefined && { orderId: redemption.orderId }),
    ...(redemption.amount !== undefined && { amount: redemption.amount }),
  };
}

/**
 * The `coupon_redeemed` track event for a redemption made through the API: about the customer
 * the coupon was issued to (an `anon:` customer id becomes the anonymousId again).
 */
export function redemptionEvent(coupon: RedeemedCoupon, receivedAt: Date): TrackEvent {
  const who = coupon.customerId.startsWith('anon:')
    ? { anonymousId: coupon.customerId.slice('anon:'.length) }
    : { userId: coupon.customerId };
  return {
    type: 'track',
    ...who,
    event: COUPON_REDEEMED,
    properties: redemptionProperties(coupon, coupon.redemption),
    messageId: redemptionMessageId(coupon.code),
    timestamp: coupon.redemption.at,
    receivedAt: receivedAt.toISOString(),
    context: { library: { name: 'touchpoint-coupons' } },
  };
}

/** What the router did with a `coupon_redeemed` event. */
export type CouponEventOutcome =
  /** This event redeemed the coupon (counted now). */
  | 'redeemed'
  /** The coupon was redeemed by this very redemption already (the API's event, a retried job). */
  | 'same_redemption'
  /** Redeemed before by another redemption: a second report, not counted and not routed. */
  | 'already_redeemed'
  /** Not counted; the event goes on as it came. */
  | 'expired'
  | 'not_found'
  | 'no_code';

export interface AppliedCouponEvent {
  outcome: CouponEventOutcome;
  /** The event to route, with the coupon's fields added; null: drop it (a second report). */
  event: JourneyEvent | null;
}

/**
 * The router's side of redemption: a `coupon_redeemed` track event with `properties.code` (from a
 * POS, a mini-program, or the API itself) redeems the coupon unless that redemption is already
 * recorded. Returns undefined for any other event. Journeys get the event with the coupon's
 * `campaign`, `journeyId`, `stepId`, `value` and `currency` added (the event's own properties
 * win), so one redemption reaches them as one event whichever path reported it first.
 */
export async function applyCouponEvent(
  coupons: Pick<CouponStore, 'redeem'>,
  event: JourneyEvent,
  customerId: string,
  logger: Logger,
): Promise<AppliedCouponEvent | undefined> {
  if (event.event !== COUPON_REDEEMED) return undefined;
  const { code, orderId, amount } = event.properties;
  if (typeof code !== 'string' || code.trim() === '') return { outcome: 'no_code', event };

  const result = await coupons.redeem({
    code,
    via: 'event',
    redemptionId: event.messageId,
    userId: customerId,
    ...(typeof orderId === 'string' && { orderId }),
    ...(typeof orderId === 'number' && { orderId: String(orderId) }),
    ...(typeof amount === 'number' && Number.isFinite(amount) && { amount }),
  });
  const log = { messageId: event.messageId, code: normaliseCouponCode(code), customerId };
  switch (result.outcome) {
    case 'not_found':
      logger.info(log, 'coupon_redeemed event for a code Touchpoint did not issue');
      return { outcome: 'not_found', event };
    case 'expired':
      logger.warn(
        { ...log, expiresAt: result.coupon.expiresAt },
        'coupon_redeemed event for an expired coupon',
      );
      return { outcome: 'expired', event };
    case 'already_redeemed': {
      if (result.coupon.redemption.id !== event.messageId) {
        logger.warn(
          { ...log, redemption: result.coupon.redemption },
          'coupon_redeemed event for a coupon already redeemed: not counted, not routed',
        );
        return { outcome: 'already_redeemed', event: null };
      }
      return { outcome: 'same_redemption', event: enrich(event, result.coupon) };
    }
    case 'redeemed':
      return { outcome: 'redeemed', event: enrich(event, result.coupon) };
  }
}

function enrich(event: JourneyEvent, coupon: RedeemedCoupon): JourneyEvent {
  return {
    ...event,
    properties: {
      ...redemptionProperties(coupon, coupon.redemption),
      ...event.properties,
      code: coupon.code,
    },
  };
}
