import type { HelperOptions } from 'handlebars';
import { FALLBACK_LOCALE } from '../../language/catalog';
import { DEFAULT_TIME_ZONE } from '../time-zone';

/**
 * The locale and time zone a helper formats for: the render context's `locale` (the locale of
 * the template actually used) and `timezone` (the customer's), read from the root context so that
 * they hold inside `{{#each}}`, `{{#with}}`, partials and layouts alike.
 */
export function renderSettings(options: HelperOptions): { locale: string; timeZone: string } {
  const root = (options.data as { root?: { locale?: unknown; timezone?: unknown } } | undefined)?.root;
  return {
    locale: typeof root?.locale === 'string' ? root.locale : FALLBACK_LOCALE,
    timeZone: typeof root?.timezone === 'string' ? root.timezone : DEFAULT_TIME_ZONE,
  };
}

/** Helpers get their arguments followed by Handlebars' options object. */
export function splitArgs(args: unknown[]): { values: unknown[]; options: HelperOptions } {
  return { values: args.slice(0, -1), options: args[args.length - 1] as HelperOptions };
}
