/*
 * A coupon as the API shows it: types only and no imports, so the console (console/src/types.ts)
 * shares them. coupons/store.ts re-exports them.
 */

export type CouponStatus = 'issued' | 'redeemed' | 'expired';

/** How a redemption reached Touchpoint: `POST /v1/coupons/redeem`, or a `coupon_redeemed` event. */
export type RedemptionVia = 'api' | 'event';

export interface Redemption {
  at: string;
  via: RedemptionVia;
  /** The messageId of the `coupon_redeemed` event that stands for this redemption. */
  id: string;
  /** Who presented the code (the API's `userId`, the event's customer), when known. */
  userId?: string;
  orderId?: string;
  amount?: number;
}

/** A coupon as the admin API shows it. */
export interface CouponView {
  code: string;
  campaign: string;
  value: number;
  currency: string;
  /** `expired`: issued, not redeemed, and past `expiresAt`. */
  status: CouponStatus;
  issuedAt: string;
  expiresAt: string;
  /** The customer it was issued to. */
  customerId: string;
  journey: { id: string; version: number; stepId: string };
  redemption: Redemption | null;
}
