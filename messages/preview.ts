import { DEFAULT_LOCALE } from '../language/schema';
import type { Channel } from '../language/types';
import { buildRenderContext } from './context';
import { ContentTooLongError } from './errors';
import type { ContentLength, LimitExceeded } from './limits';
import type { RenderedMessage, TemplateStore } from './templates';

export interface PreviewRequest {
  channel: Channel;
  template: string;
  /** Else the customer's `locale` trait, else the journey's default locale (zh-CN). */
  locale?: string;
  customerId: string;
  traits: Record<string, unknown>;
  event?: { name: string; properties: Record<string, unknown> };
  /** The journey the message is sent from; a stand-in when previewing outside a journey. */
  journey?: { id: string; name: string; version: number; defaultLocale: string };
  coupons?: Record<string, unknown>;
  /** The zone for customers without a valid `timezone` trait. */
  defaultTimeZone?: string;
}

export interface Preview {
  message: RenderedMessage;
  length: ContentLength;
  /** Set when the message breaks a channel limit: a send would be skipped as content_too_long. */
  exceeded?: LimitExceeded;
}

const PREVIEW_JOURNEY = { id: 'preview', name: 'Preview', version: 0, defaultLocale: DEFAULT_LOCALE };

/**
 * Renders a template exactly as a send step would for this customer, and measures it. An
 * over-long message is returned with `exceeded` rather than thrown, so it can still be shown.
 * Throws TemplateNotFoundError when no locale of the fallback chain has the template.
 */
export function previewTemplate(store: TemplateStore, request: PreviewRequest): Preview {
  const journey = request.journey ?? PREVIEW_JOURNEY;
  const { traits } = request;
  const requested = request.locale ?? (typeof traits.locale === 'string' ? traits.locale : undefined);
  const context = buildRenderContext({
    customerId: request.customerId,
    traits,
    ...(request.event ? { event: { event: request.event.name, properties: request.event.properties } } : {}),
    journey,
    coupons: request.coupons,
    defaultTimeZone: request.defaultTimeZone,
  });
  try {
    const message = store.render(request.channel, request.template, requested, context, {
      defaultLocale: journey.defaultLocale,
    });
    return { message, length: store.measure(request.channel, message) };
  } catch (err) {
    if (!(err instanceof ContentTooLongError)) throw err;
    return {
      message: err.rendered,
      length: store.measure(request.channel, err.rendered),
      exceeded: err.exceeded,
    };
  }
}
