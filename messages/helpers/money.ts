import { renderSettings, splitArgs } from './render-settings';

export const DEFAULT_CURRENCY = 'CNY';

/** Codes people write that ISO 4217 spells differently. */
const CURRENCY_ALIASES: Record<string, string> = { RMB: 'CNY' };

/**
 * `{{money amount}}`, `{{money amount "USD"}}`, `{{money coupon.value coupon.currency decimals=0}}`.
 *
 * The amount is in major units (yuan, not fen): a number or numeric text (`299`, `"299.5"`). It is
 * formatted with Intl.NumberFormat in the locale of the template used, so CNY shows as `¥299.00`
 * in zh-CN and `CN¥299.00` in en (Intl's symbol there, which tells yuan from yen); USD as
 * `US$1,299.50` / `$1,299.50`. Currency default CNY; `RMB` is read as CNY. `decimals=N` fixes
 * the number of decimals (e.g. `decimals=0` → `¥50`). A missing or non-numeric amount renders as
 * empty text, like any missing value; a currency Intl does not know is written after the number.
 */
export function moneyHelper(...args: unknown[]): string {
  const { values, options } = splitArgs(args);
  const [amount, currencyArg] = values;
  const value = toAmount(amount);
  if (value === undefined) return '';
  const currency = currencyCode(currencyArg);
  const { locale } = renderSettings(options);
  const decimals = fractionDigits(options.hash?.decimals);
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency, ...decimals }).format(value);
  } catch {
    // Not a well-formed currency code: the number, then the code as given.
    const number = new Intl.NumberFormat(locale, {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
      ...decimals,
    }).format(value);
    return `${number} ${currency}`;
  }
}

function toAmount(amount: unknown): number | undefined {
  if (typeof amount === 'number') return Number.isFinite(amount) ? amount : undefined;
  if (typeof amount === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(amount)) return Number(amount);
  return undefined;
}

function currencyCode(currency: unknown): string {
  if (typeof currency !== 'string' || currency.trim() === '') return DEFAULT_CURRENCY;
  const code = currency.trim().toUpperCase();
  return CURRENCY_ALIASES[code] ?? code;
}

function fractionDigits(decimals: unknown): Intl.NumberFormatOptions {
  const n = typeof decimals === 'string' ? Number(decimals) : decimals;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 6) return {};
  return { minimumFractionDigits: n, maximumFractionDigits: n };
}
