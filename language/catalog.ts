import type { Channel } from './types';

/**
 * What the journey loader needs to know about templates: whether one exists. Implemented by the
 * template store in messages/; kept here so the language does not depend on Handlebars.
 */
export interface TemplateCatalog {
  has(channel: Channel, name: string, locale: string): boolean;
  /** The file that holds (or would hold) a template, for error messages. */
  fileFor?(channel: Channel, name: string, locale: string): string;
}

/** The layout of the templates directory: `<channel>/<name>.<locale>.hbs`. */
export function templateFileName(channel: Channel, name: string, locale: string): string {
  return `${channel}/${name}.${locale}.hbs`;
}

/** A template name: also a file name part, so no dots, slashes or upper case. */
export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A locale tag such as `zh-CN`, `en` or `zh-Hans-CN`. */
export const LOCALE_TAG = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/;

/** The fallback locale every template must exist in, whatever the journey's default. */
export const FALLBACK_LOCALE = 'en';
