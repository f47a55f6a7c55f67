import { maskAddress } from '../delivery/mask-address';
import { maskEmail, maskValue } from '../customers/masking';
import { normalisePhone } from '../customers/profiles';

/**
 * Rendered content (message bodies and subjects, event properties, step details) as a masked
 * answer shows it. The text was rendered with the customer's real data, so masking happens on
 * the text at read time:
 * - the customer's own sensitive values (traits named in `profiles.sensitive`, the address a
 *   message went to) wherever they appear, each masked as its trait would be (customers/masking.ts);
 *   a phone number is recognised in any spelling that ends with its last 7 digits;
 * - then anything that looks like personal data whoever's it is: email addresses, phone numbers
 *   (+country code, or 11–15 digits in a row) and id numbers (15–18 characters, digits and a
 *   final X);
 * - the tokens of unsubscribe and tracked links (`/u/…`, `/r/…`, `/o/…`), which act for the customer.
 * Masking errs on the side of hiding: an order number of 11+ digits is masked too.
 */
export class ContentMasker {
  private readonly rules: { pattern: RegExp; replace: (found: string) => string }[] = [];

  /**
   * `values`: the customer's sensitive values by trait name; `addresses`: addresses messages went
   * to (phone numbers, emails, WeCom ids…).
   */
  constructor(values: { name: string; value: unknown }[] = [], addresses: string[] = []) {
    const known = [
      ...values.flatMap(({ name, value }) =>
        typeof value === 'string' || typeof value === 'number' ? [{ name, text: String(value).trim() }] : [],
      ),
      ...addresses.map((text) => ({ name: '', text: text.trim() })),
    ];
    // Longest first, so a value containing another is masked whole.
    for (const { name, text } of known.sort((a, b) => b.text.length - a.text.length)) {
      const phone =
        name === 'phone' || (name === '' && /^\+?[\d\s-]{7,}$/.test(text)) ? phonePattern(text) : undefined;
      if (phone) {
        this.rules.push({ pattern: phone, replace: (found) => maskValue('phone', found) });
      } else if (text.length >= 2) {
        const mask = (found: string) => (name === '' ? maskAddress(found) : maskValue(name, found));
        this.rules.push({ pattern: new RegExp(escape(text), 'giu'), replace: mask });
      }
    }
    this.rules.push(...GENERIC);
  }

  text(text: string): string {
    let out = text;
    for (const { pattern, replace } of this.rules) out = out.replace(pattern, replace);
    return out;
  }

  /** Every string inside `value` (objects, arrays) masked; keys and other values as they are. */
  deep<T>(value: T): T {
    if (typeof value === 'string') return this.text(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.deep(v)) as T;
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        Object.defineProperty(out, key, { value: this.deep(v), enumerable: true, writable: true });
      }
      return out as T;
    }
    return value;
  }
}

const DIGIT_BEFORE = '(?<![\\d+])';
const DIGIT_AFTER = '(?!\\d)';

/** What looks like personal data whoever's it is. */
const GENERIC: { pattern: RegExp; replace: (found: string) => string }[] = [
  { pattern: /[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/giu, replace: maskEmail },
  // Id numbers (e.g. mainland resident id: 17 digits and a digit or X) before phone numbers.
  {
    pattern: new RegExp(`${DIGIT_BEFORE}(?:\\d{17}[\\dXx]|\\d{15})${DIGIT_AFTER}`, 'g'),
    replace: (found) => maskValue('idNumber', found),
  },
  {
    pattern: new RegExp(`${DIGIT_BEFORE}(?:\\+\\d{1,3}(?:[\\s-]?\\d){6,14}|\\d{11,14})${DIGIT_AFTER}`, 'g'),
    replace: (found) => maskValue('phone', found),
  },
  { pattern: /(\/[uro]\/)[\w.~-]{16,}/g, replace: (found) => `${found.slice(0, 3)}***` },
];

/**
 * The phone number in any spelling ending in its last 7 digits (separators allowed between
 * digits, with or without the country code or a trunk prefix before them).
 */
function phonePattern(value: string): RegExp | undefined {
  const digits = (normalisePhone(value) ?? value).replace(/\D/g, '');
  if (digits.length < 7) return undefined;
  const tail = digits.slice(-7).split('').join('[\\s-]?');
  return new RegExp(`${DIGIT_BEFORE}\\+?(?:\\d[\\s-]?){0,12}${tail}${DIGIT_AFTER}`, 'g');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
