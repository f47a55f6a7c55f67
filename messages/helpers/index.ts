import type Handlebars from 'handlebars';
import { dateHelper } from './date';
import { defaultHelper } from './default';
import { moneyHelper } from './money';

/** Touchpoint's own helpers, on top of Handlebars' built-in if, unless, each, with and lookup. */
const HELPERS: Record<string, Handlebars.HelperDelegate> = {
  /** JSON-quotes a value for webhook bodies (which are not escaped); missing → `null`. */
  json: (value: unknown) => JSON.stringify(value ?? null),
  money: moneyHelper,
  date: dateHelper,
  default: defaultHelper,
};

/** Every helper a template may call; anything else is an error at load time. */
export const HELPER_NAMES = ['if', 'unless', 'each', 'with', 'lookup', ...Object.keys(HELPERS)];

/**
 * Compile option `knownHelpers`: our helpers are known (so `knownHelpersOnly` accepts them and
 * refuses anything else), and `log` is not (templates must not write customer data to the log).
 */
export const KNOWN_HELPERS: Record<string, boolean> = {
  log: false,
  ...Object.fromEntries(Object.keys(HELPERS).map((name) => [name, true])),
};

export function registerHelpers(hb: typeof Handlebars): void {
  hb.unregisterHelper('log');
  for (const [name, helper] of Object.entries(HELPERS)) hb.registerHelper(name, helper);
}
