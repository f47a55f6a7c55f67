import { randomInt } from 'node:crypto';

/** Crockford's base32 without I, L, O, U: nothing a customer can misread when typing it in. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * An unguessable coupon code: 12 symbols from a CSPRNG (60 bits), shown in groups of four
 * (e.g. `7KQ2-M9XD-4HTB`) so a cashier can read it out.
 */
export function newCouponCode(): string {
  let raw = '';
  for (let i = 0; i < 12; i++) raw += ALPHABET[randomInt(ALPHABET.length)];
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
}

/** Codes typed by people: case and separators do not matter. */
export function normaliseCouponCode(input: string): string {
  const raw = input.toUpperCase().replace(/[^0-9A-Z]/g, '');
  return raw.length === 12
    ? `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`
    : input.trim().toUpperCase();
}

/**
 * The messageId of the `coupon_redeemed` event that `POST /v1/coupons/redeem` emits. A code is
 * redeemed at most once, so the id derived from it names that one redemption: re-emitting it is
 * a no-op (BullMQ job id, the router's processed marker, the runs' seen ids), and the router
 * recognises the event as the redemption the API already counted.
 */
export function redemptionMessageId(code: string): string {
  return `coupon-redeemed:${code}`;
}
