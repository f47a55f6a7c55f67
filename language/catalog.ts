import type { Channel } from './types';

/** What a template is for: a channel's messages, or `notify` for the internal alerts of `notify` steps. */
export type TemplateKind = Channel | 'notify';

/**
 * What the journey loader needs to know about templates: whether one exists, and which context
 * variables it reads. Implemented by the template store in messages/; kept here so the language
 * does not depend on Handlebars.
 */
export interface TemplateCatalog {
  has(kind: TemplateKind, name: string, locale: string): boolean;
  /** The file that holds (or would hold) a template, for error messages. */
  fileFor?(kind: TemplateKind, name: string, locale: string): string;
  /**
   * The render-context variables the template reads (subject, body, its layout and partials), as
   * dotted paths from the context's root (`customer.name`, `coupons.welcome.code`); a trailing
   * `?` marks a path the template only uses where it handles its absence (`{{#if coupon}}`).
   * Undefined when the template does not exist.
   */
  variables?(kind: TemplateKind, name: string, locale: string): string[] | undefined;
}

/** The layout of the templates directory: `<kind>/<name>.<locale>.hbs`. */
export function templateFileName(kind: TemplateKind, name: string, locale: string): string {
  return `${kind}/${name}.${locale}.hbs`;
}

/** A template name: also a file name part, so no dots, slashes or upper case. */
export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A locale tag such as `zh-CN`, `en` or `zh-Hans-CN`. */
export const LOCALE_TAG = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/;

/** The fallback locale every template must exist in, whatever the journey's default. */
export const FALLBACK_LOCALE = 'en';
