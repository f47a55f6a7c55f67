import type { Logger } from 'pino';
import { DEFAULT_SENSITIVE_TRAITS, normalisePhone } from './profiles';

/**
 * Sensitive traits as API answers show them (docs/profiles.md): enough to recognise a customer on
 * the phone, not enough to contact them. `reveal` (the admin asked for `?reveal=true`) returns the
 * values as they are; the caller logs the reveal (logReveal).
 *
 * - phone: country code, first 3 and last 4 digits: `+86 138****8000`;
 * - email: first character and the domain: `w***@example.com`;
 * - idNumber: the last 4 characters: `**************1234`;
 * - any other sensitive trait: `***`.
 */
export interface MaskOptions {
  reveal?: boolean;
  /** The sensitive trait names (config `profiles.sensitive`); default phone, email, idNumber. */
  sensitive?: readonly string[];
}

export const FULL_MASK = '***';

export function maskTraits<T extends Record<string, unknown>>(traits: T, options: MaskOptions = {}): T {
  const copy = { ...traits };
  if (options.reveal) return copy;
  for (const name of options.sensitive ?? DEFAULT_SENSITIVE_TRAITS) {
    if (!Object.prototype.hasOwnProperty.call(copy, name)) continue;
    const value = copy[name];
    if (value === null || value === undefined) continue;
    Object.defineProperty(copy, name, { value: maskValue(name, value), enumerable: true, writable: true });
  }
  return copy;
}

/** One sensitive value masked as its trait name says. */
export function maskValue(name: string, value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return FULL_MASK;
  const text = String(value).trim();
  switch (name) {
    case 'phone':
      return maskPhone(text);
    case 'email':
      return maskEmail(text);
    case 'idNumber':
      return text.length <= 4 ? FULL_MASK : `${'*'.repeat(text.length - 4)}${text.slice(-4)}`;
    default:
      return FULL_MASK;
  }
}

export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return FULL_MASK;
  return `${email[0]}***${email.slice(at)}`;
}

/** ITU country codes of one and two digits; the rest have three. */
const ONE_DIGIT = new Set(['1', '7']);
const TWO_DIGITS = new Set(
  '20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98'.split(
    ' ',
  ),
);

export function maskPhone(phone: string): string {
  const e164 = normalisePhone(phone);
  if (!e164) return maskDigits(phone.replace(/\D/g, ''));
  if (!e164.startsWith('+')) return maskDigits(e164);
  const digits = e164.slice(1);
  const cc = ONE_DIGIT.has(digits[0]!) ? 1 : TWO_DIGITS.has(digits.slice(0, 2)) ? 2 : 3;
  return `+${digits.slice(0, cc)} ${maskDigits(digits.slice(cc))}`;
}

/** A national number: long ones keep the first 3 and last 4 digits, shorter the last 4 or 2. */
function maskDigits(digits: string): string {
  if (digits.length === 0) return FULL_MASK;
  if (digits.length >= 10) return `${digits.slice(0, 3)}${'*'.repeat(digits.length - 7)}${digits.slice(-4)}`;
  const keep = digits.length >= 7 ? 4 : 2;
  return `${'*'.repeat(Math.max(2, digits.length - keep))}${digits.slice(-keep)}`;
}

/** Logs a reveal of personal data at info: who asked, whose and which traits (never the values). */
export function logReveal(
  logger: Pick<Logger, 'info'>,
  reveal: { who: string; customerId: string; traits: string[]; where: string },
): void {
  if (reveal.traits.length === 0) return;
  logger.info(reveal, 'personal data revealed');
}
