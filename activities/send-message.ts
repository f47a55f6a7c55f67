import { addressFor } from '../customers/addresses';
import type { ProfileStore } from '../customers/profiles';
import type { TouchLog, TouchRecord } from '../customers/touches';
import type { ChannelConfig } from '../delivery/channel-config';
import type { DeliveryMessage } from '../delivery/message';
import { enqueueDelivery, type DeliveryQueues } from '../delivery/queues';
import type { Channel } from '../language/types';
import { buildRenderContext } from '../messages/context';
import { ContentTooLongError } from '../messages/errors';
import type { RenderedMessage, TemplateStore } from '../messages/templates';
import type { TouchRules } from '../rules/touch-rules';
import type { SendOutcome, SendRequest } from './types';

export interface SendDeps {
  profiles: ProfileStore;
  touches: TouchLog;
  templates: TemplateStore;
  queues: DeliveryQueues;
  channels: Record<Channel, ChannelConfig>;
  /** Consent, quiet hours and frequency caps for marketing touches (rules/). */
  rules: TouchRules;
}

/**
 * Renders a send step's template for the customer and queues it on the channel's delivery
 * queue under the step's idempotency key. Safe to retry and to run twice at once: the touch is
 * recorded once per key (first writer wins), and the queue and the delivery worker dedupe by
 * the same key.
 *
 * A marketing touch (not `transactional`) first passes the rules (rules/touch-rules.ts): it may be
 * skipped and recorded with the reason, or deferred (quiet hours, nothing recorded: the workflow
 * asks again when the window ends). `now` is the time the rules judge by.
 */
export async function sendMessage(
  deps: SendDeps,
  request: SendRequest,
  now: Date = new Date(),
): Promise<SendOutcome> {
  const existing = await deps.touches.get(request.idempotencyKey);
  if (existing) return resume(deps, request, existing);

  const traits = await deps.profiles.get(request.customerId);
  const to = addressFor(request.channel, request.customerId, traits);
  // The step, as the touch record and the queued message both name it.
  const step = {
    journeyId: request.journeyId,
    journeyVersion: request.journeyVersion,
    customerId: request.customerId,
    stepId: request.stepId,
    channel: request.channel,
    template: request.template,
  };
  const touch: TouchRecord = {
    ...step,
    status: 'queued',
    at: new Date().toISOString(),
    correlationId: request.event.messageId,
  };
  const skip = async (reason: string): Promise<SendOutcome> => {
    const skipped = { ...touch, status: `skipped:${reason}` };
    if (!(await deps.touches.recordOnce(request.idempotencyKey, skipped, `step:${request.stepId}:skipped`))) {
      return resume(deps, request, (await deps.touches.get(request.idempotencyKey))!);
    }
    return { status: 'skipped', reason };
  };
  if (!to) return skip('no_address');
  const unsubscribeUrl = deps.rules.unsubscribeUrl(request);

  const requested =
    request.locale ?? (typeof traits.locale === 'string' ? traits.locale : request.defaultLocale);
  const context = buildRenderContext({
    customerId: request.customerId,
    traits,
    event: request.event,
    journey: { id: request.journeyId, name: request.journeyName, version: request.journeyVersion },
    coupons: request.coupons,
    defaultTimeZone: deps.rules.config.timezone,
  });
  // Marketing email: `{{unsubscribeUrl}}` for the footer link (also the List-Unsubscribe header).
  const withLinks = unsubscribeUrl ? { ...context, unsubscribeUrl } : context;
  let rendered: RenderedMessage;
  try {
    rendered = deps.templates.render(request.channel, request.template, requested, withLinks, {
      defaultLocale: request.defaultLocale,
    });
  } catch (err) {
    // Too long for the channel (SMS parts, WeCom bytes): a retry would render the same text.
    if (err instanceof ContentTooLongError) return skip('content_too_long');
    throw err;
  }
  // Rules after rendering: checking the caps consumes them, so only a touch that can go may ask.
  if (!request.transactional) {
    const decision = await deps.rules.admit(request, traits, now);
    if (decision.action === 'defer') {
      return { status: 'deferred', until: decision.until, reason: decision.reason };
    }
    if (decision.action === 'skip') return skip(decision.reason);
  }
  const message: DeliveryMessage = {
    ...step,
    locale: rendered.locale,
    to,
    subject: rendered.subject ?? null,
    body: rendered.body,
    idempotencyKey: request.idempotencyKey,
    queuedAt: touch.at,
    ...(unsubscribeUrl ? { unsubscribeUrl } : {}),
    correlationId: touch.correlationId,
  };
  // Record before queueing: a crash in between is repaired by the retry (resume re-queues).
  const first = await deps.touches.recordOnce(
    request.idempotencyKey,
    { ...touch, message: JSON.stringify(message) },
    `step:${request.stepId}:sent`,
  );
  if (!first) return resume(deps, request, (await deps.touches.get(request.idempotencyKey))!);
  await enqueueDelivery(deps.queues[request.channel], message, deps.channels[request.channel]);
  return { status: 'queued', locale: message.locale, to };
}

/** A retry of a step already recorded: re-queue the very same message (a no-op if queued), nothing new. */
async function resume(deps: SendDeps, request: SendRequest, existing: TouchRecord): Promise<SendOutcome> {
  if (existing.status.startsWith('skipped:'))
    return { status: 'skipped', reason: existing.status.slice('skipped:'.length) };
  if (existing.message) {
    await enqueueDelivery(
      deps.queues[request.channel],
      JSON.parse(existing.message),
      deps.channels[request.channel],
    );
  }
  return { status: 'duplicate' };
}
