import { ActivityFailure, condition } from '@temporalio/workflow';
import type { SendRequest } from '../../activities/types';
import type { IssueCouponStep, NotifyStep, SendStep, Step, WebhookStep } from '../../language/types';
import { issueCoupon, notify, sendMessage, webhookCaller } from '../activities';
import type { PathEntry } from '../definitions';
import { resolveAll, type Run } from '../run';
import type { StepCall } from './call';

/*
 * Steps that reach the customer or the outside world. A holdback (control) run passes them by:
 * it must receive nothing, so its conversions measure what the journey's touches are worth.
 */

export async function send(run: Run, step: SendStep, { entry, key }: StepCall): Promise<string | undefined> {
  if (run.control) return heldBack(run, step, entry);
  const { journey, customerId, state } = run;
  const request: SendRequest = {
    journeyId: journey.id,
    journeyVersion: journey.version,
    journeyName: journey.name,
    customerId,
    stepId: step.id,
    channel: step.channel,
    template: step.template,
    locale: step.locale,
    defaultLocale: journey.defaultLocale,
    event: run.lastEvent,
    idempotencyKey: key,
    transactional: step.transactional,
    topic: step.topic,
    quietHours: { ...journey.quietHours, ...(step.quietHours ? { action: step.quietHours } : {}) },
    coupons: run.coupons,
  };
  let outcome = await sendMessage(request);
  // Quiet hours: sleep until the window ends (a goal or a stop still ends the run), then ask again.
  while (outcome.status === 'deferred' && run.running) {
    state.wakeAt = outcome.until;
    entry.detail = { deferredUntil: outcome.until, reason: outcome.reason };
    await condition(() => !run.running, Math.max(0, Date.parse(outcome.until) - run.clock.nowMs()));
    if (!run.running) break;
    outcome = await sendMessage(request);
  }
  if (outcome.status === 'deferred') {
    entry.outcome = state.status;
    return undefined;
  }
  entry.outcome = outcome.status === 'skipped' ? `skipped:${outcome.reason}` : 'sent';
  entry.detail = { ...entry.detail, channel: step.channel, template: step.template, idempotencyKey: key };
  return run.next(step);
}

export async function coupon(
  run: Run,
  step: IssueCouponStep,
  { entry, key }: StepCall,
): Promise<string | undefined> {
  if (run.control) return heldBack(run, step, entry);
  const expiresAt = step.expiresAt ?? run.clock.iso(run.clock.nowMs() + (step.expiresInMs ?? 0));
  const issued = await issueCoupon({
    journeyId: run.journey.id,
    journeyVersion: run.journey.version,
    customerId: run.customerId,
    stepId: step.id,
    campaign: step.campaign,
    value: step.value,
    currency: step.currency,
    expiresAt,
    idempotencyKey: key,
  });
  run.coupons[step.id] = issued;
  entry.outcome = 'issued';
  entry.detail = { campaign: issued.campaign, code: issued.code, expiresAt: issued.expiresAt };
  return run.next(step);
}

export async function alert(
  run: Run,
  step: NotifyStep,
  { entry, key }: StepCall,
): Promise<string | undefined> {
  if (run.control) return heldBack(run, step, entry);
  const { journey } = run;
  // Retried while the target may recover; a permanent refusal (unknown target, bad template) is
  // an operator's problem and must not end the customer's journey: recorded, and the run goes on.
  try {
    const outcome = await notify({
      journeyId: journey.id,
      journeyVersion: journey.version,
      journeyName: journey.name,
      customerId: run.customerId,
      stepId: step.id,
      target: step.target,
      template: step.template,
      defaultLocale: journey.defaultLocale,
      event: run.lastEvent,
      coupons: run.coupons,
      idempotencyKey: key,
    });
    entry.outcome = 'sent';
    entry.detail = { target: outcome.target, template: step.template, text: outcome.text };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    entry.outcome = 'failed';
    entry.detail = { target: step.target, template: step.template, error: err.cause?.message ?? err.message };
  }
  return run.next(step);
}

/** POSTs to an outside system, retried with backoff `attempts` times; then `onFailure` (else next). */
export async function webhook(
  run: Run,
  step: WebhookStep,
  { entry, key }: StepCall,
): Promise<string | undefined> {
  if (run.control) return heldBack(run, step, entry);
  const ctx = { traits: run.traits, properties: run.lastEvent.properties, nowMs: run.clock.nowMs() };
  const body = resolveAll(step.body ?? {}, ctx);
  const target = step.target !== undefined ? { target: step.target } : { url: step.url };
  try {
    const outcome = await webhookCaller(step.attempts).callWebhook({
      journeyId: run.journey.id,
      journeyVersion: run.journey.version,
      customerId: run.customerId,
      stepId: step.id,
      ...target,
      body,
      idempotencyKey: key,
    });
    entry.outcome = 'sent';
    entry.detail = { ...target, url: outcome.url, status: outcome.status, body };
    return run.next(step);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    entry.outcome = 'failed';
    entry.detail = { ...target, body, attempts: step.attempts, error: err.cause?.message ?? err.message };
    return step.onFailure ?? run.next(step);
  }
}

function heldBack(run: Run, step: Step, entry: PathEntry): string | undefined {
  entry.outcome = 'skipped:holdback';
  return run.next(step);
}
