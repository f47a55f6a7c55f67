import type { TouchRecord } from '../customers/touches';
import type { DeliveryMessage } from '../delivery/message';
import { maskAddress } from '../delivery/mask-address';
import type { PathEntry } from '../workflows/definitions';
import { ContentMasker } from './masked-content';
import type { RunMessage } from './run-types';

/*
 * What a run sent, from the touch records of its send steps, and the personal data in it and in
 * its path masked for answers without `?reveal=true` (audit/masked-content.ts).
 */

// Declared in run-types.ts, which the console imports.
export type { RunMessage };

/**
 * The idempotency keys of the run's send steps: recorded on the entry once the step is done,
 * else (a send in progress) derived as the workflow derives it: `<runKey>/<stepId>/<visit>`.
 */
export function sendKeys(runKey: string, path: readonly PathEntry[]): string[] {
  const visits = new Map<string, number>();
  const keys: string[] = [];
  for (const entry of path) {
    if (entry.type === 'stop' || entry.type === 'migrate') continue;
    const visit = visits.get(entry.stepId) ?? 0;
    visits.set(entry.stepId, visit + 1);
    if (entry.type !== 'send') continue;
    const recorded = entry.detail?.idempotencyKey;
    keys.push(typeof recorded === 'string' ? recorded : `${runKey}/${entry.stepId}/${visit}`);
  }
  return keys;
}

/** The customer's sensitive values by trait name (ContentMasker's input). */
export type Secrets = { name: string; value: unknown }[];

/** Values a step wrote or sent that may be personal (setTrait traits, webhook body, alert text), masked. */
export function maskEntry(entry: PathEntry, secrets: Secrets): PathEntry {
  if (!entry.detail) return entry;
  const masker = new ContentMasker(secrets);
  const detail: Record<string, unknown> = { ...entry.detail };
  for (const field of ['traits', 'body', 'text'])
    if (field in detail) detail[field] = masker.deep(detail[field]);
  return { ...entry, detail };
}

/** A touch record as the run view shows it: the queued message's address and content, masked with `secrets`. */
export function messageView(key: string, touch: TouchRecord, secrets: Secrets | undefined): RunMessage {
  const message = touch.message ? (JSON.parse(touch.message) as Partial<DeliveryMessage>) : undefined;
  const to = message?.to ?? null;
  const masker = secrets && new ContentMasker(secrets, to ? [to] : []);
  const mask = (text: string | null | undefined) => (text == null ? null : masker ? masker.text(text) : text);
  return {
    stepId: touch.stepId,
    idempotencyKey: key,
    channel: touch.channel,
    template: touch.template,
    status: touch.status,
    at: touch.at,
    sentAt: touch.sentAt ?? null,
    deliveredAt: touch.deliveredAt ?? null,
    openedAt: touch.openedAt ?? null,
    clickedAt: touch.clickedAt ?? null,
    failedAt: touch.failedAt ?? null,
    error: touch.error ?? null,
    locale: message?.locale ?? null,
    to: to === null ? null : secrets ? maskAddress(to) : to,
    subject: mask(message?.subject),
    body: mask(message?.body),
    masked: secrets !== undefined,
  };
}
