/**
 * How carriers count an SMS. Text made only of GSM 03.38 characters is sent in GSM-7: 160
 * characters in one message, 153 per part once it is split (each part carries a header); the
 * extension characters (`^ { } \ [ ] ~ | €`) take two. Anything else (Chinese, emoji, curly
 * quotes) sends the whole message as UCS-2: 70 characters in one message, 67 per part, where a
 * character outside the BMP (most emoji) takes two. A character is never split across parts.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsLength {
  encoding: SmsEncoding;
  /** Characters as the carrier counts them: GSM-7 septets or UCS-2 (UTF-16) code units. */
  chars: number;
  /** Messages the carrier sends (and bills): 0 for empty text. */
  parts: number;
}

const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

const SIZES: Record<SmsEncoding, { single: number; perPart: number }> = {
  'GSM-7': { single: 160, perPart: 153 },
  'UCS-2': { single: 70, perPart: 67 },
};

export function smsLength(text: string): SmsLength {
  const characters = [...text];
  const gsm = characters.every((c) => GSM_BASIC.has(c) || GSM_EXTENSION.has(c));
  const encoding: SmsEncoding = gsm ? 'GSM-7' : 'UCS-2';
  const units = characters.map((c) => (gsm ? (GSM_EXTENSION.has(c) ? 2 : 1) : c.length));
  const chars = units.reduce((sum, n) => sum + n, 0);
  return { encoding, chars, parts: countParts(units, SIZES[encoding]) };
}

function countParts(units: number[], { single, perPart }: { single: number; perPart: number }): number {
  const total = units.reduce((sum, n) => sum + n, 0);
  if (total === 0) return 0;
  if (total <= single) return 1;
  let parts = 1;
  let used = 0;
  for (const n of units) {
    if (used + n > perPart) {
      parts += 1;
      used = 0;
    }
    used += n;
  }
  return parts;
}
