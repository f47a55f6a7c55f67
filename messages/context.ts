import { customerTimeZone } from './time-zone';

/**
 * What a template sees. `customer` is the profile's traits plus the customer id; `traits` is the
 * same traits unmerged; `event` is the event's properties plus its name (for a journey: the event
 * that started it); `journey` identifies the journey. The system fields (`customer.id`,
 * `event.name`) win over a trait or property of the same name. `locale` and `timezone` are what
 * the money and date helpers format for.
 */
export interface RenderContext {
  customer: { id: string } & Record<string, unknown>;
  traits: Record<string, unknown>;
  event: { name: string } & Record<string, unknown>;
  journey: { id: string; name: string; version: number };
  /** Coupons issued earlier in the run, by issueCoupon step id. */
  coupons: Record<string, unknown>;
  /** The most recently issued of them (what a template usually means by "the coupon"). */
  coupon?: unknown;
  /** The customer's IANA time zone: the `timezone` trait, else the default (Asia/Shanghai). */
  timezone: string;
  /** The locale of the template actually used (after fallback); set by TemplateStore.render. */
  locale?: string;
  /** Marketing email: the customer's unsubscribe link, added by the send activity (rules/). */
  unsubscribeUrl?: string;
}

export interface RenderContextInput {
  customerId: string;
  traits: Record<string, unknown>;
  event?: { event: string; properties: Record<string, unknown> };
  journey: { id: string; name: string; version: number };
  coupons?: Record<string, unknown>;
  /** The zone for customers without a valid `timezone` trait; default Asia/Shanghai. */
  defaultTimeZone?: string;
}

export function buildRenderContext(input: RenderContextInput): RenderContext {
  const { customerId, traits, event, journey, coupons = {}, defaultTimeZone } = input;
  const issued = Object.values(coupons);
  return {
    customer: { ...traits, id: customerId },
    traits: { ...traits },
    event: { ...(event?.properties ?? {}), name: event?.event ?? '' },
    journey: { id: journey.id, name: journey.name, version: journey.version },
    coupons: { ...coupons },
    ...(issued.length ? { coupon: issued[issued.length - 1] } : {}),
    timezone: customerTimeZone(traits, defaultTimeZone),
  };
}
