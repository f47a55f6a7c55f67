import { IANAZone } from 'luxon';

/** The time zone dates are shown in when a customer has no (valid) `timezone` trait. */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

/**
 * The customer's `timezone` trait when it names an IANA zone (`Europe/Berlin`), else `fallback`
 * (the same rule quiet hours and frequency caps use: rules/quiet-hours.ts).
 */
export function customerTimeZone(traits: Record<string, unknown>, fallback = DEFAULT_TIME_ZONE): string {
  const trait = Object.prototype.hasOwnProperty.call(traits, 'timezone') ? traits.timezone : undefined;
  const zone = typeof trait === 'string' ? trait.trim() : '';
  return zone !== '' && IANAZone.isValidZone(zone) ? zone : fallback;
}
