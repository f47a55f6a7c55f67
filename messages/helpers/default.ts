import { splitArgs } from './render-settings';

/** Missing for `default`: absent, null, or text that is empty or only spaces. */
export function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * `{{default customer.name "朋友"}}`: the first argument that is not missing, else empty text.
 * Takes any number of candidates: `{{default customer.nickname customer.name "friend"}}`.
 * `0` and `false` are values, not missing.
 */
export function defaultHelper(...args: unknown[]): unknown {
  const { values } = splitArgs(args);
  return values.find((value) => !isMissing(value)) ?? '';
}
