import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_CALL_TIMEOUT_MS, type WebhookTarget } from '../config/integrations';
import { excerpt, httpCall, isRetryableStatus } from '../delivery/providers/http';
import type { WebhookOutcome, WebhookRequest } from './types';

/** The User-Agent of every call Touchpoint makes to an outside system for a journey. */
export const USER_AGENT = 'touchpoint';

/**
 * What a `webhook` step POSTs: who and where in which journey, and the step's resolved `body`
 * under `data`, untouched. The envelope is the same on every retry of the step, so a receiver
 * can compare or simply drop a repeat by `idempotencyKey` (also the `Idempotency-Key` header).
 */
export interface WebhookEnvelope {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  stepId: string;
  idempotencyKey: string;
  data: Record<string, unknown>;
}

/** One POST, resolved from a step and the config file's `webhooks:` section. */
export interface WebhookCall {
  /** The configured target's name; undefined for a step's literal `url`. */
  target?: string;
  url: string;
  headers: Record<string, string>;
  body: WebhookEnvelope;
  timeoutMs: number;
}

/**
 * Sends a `webhook` step's POST. Resolves on a 2xx; throws a retryable error (Temporal retries
 * the activity) on 408, 429, 5xx, a timeout or a connection error; throws a non-retryable
 * ApplicationFailure on any other answer and on an unknown target.
 */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookOutcome>;
  /** The configured target names (what journeys may name in `target:`). */
  targets(): string[];
}

/** ApplicationFailure types, for the workflow and for tests. */
export const WEBHOOK_FAILURES = {
  unknownTarget: 'WebhookUnknownTarget',
  rejected: 'WebhookRejected',
  unavailable: 'WebhookUnavailable',
} as const;

export function webhookEnvelope(request: WebhookRequest): WebhookEnvelope {
  return {
    journeyId: request.journeyId,
    journeyVersion: request.journeyVersion,
    customerId: request.customerId,
    stepId: request.stepId,
    idempotencyKey: request.idempotencyKey,
    data: request.body ?? {},
  };
}

/**
 * The call a step asks for: its named target (URL, headers, timeout from the config file), else
 * its literal `url` (no extra headers, the default timeout). Non-retryable when neither resolves:
 * another attempt would not find the target either.
 */
export function resolveWebhookCall(
  targets: Readonly<Record<string, WebhookTarget>>,
  request: WebhookRequest,
): WebhookCall {
  const body = webhookEnvelope(request);
  if (request.target !== undefined) {
    const target = Object.prototype.hasOwnProperty.call(targets, request.target)
      ? targets[request.target]
      : undefined;
    if (!target) {
      const known = Object.keys(targets);
      throw ApplicationFailure.nonRetryable(
        `webhook target \`${request.target}\` is not configured (the config file's \`webhooks:\` section has ${
          known.length ? known.map((k) => `\`${k}\``).join(', ') : 'none'
        })`,
        WEBHOOK_FAILURES.unknownTarget,
      );
    }
    return {
      target: request.target,
      url: target.url,
      headers: standardHeaders(request.idempotencyKey, target.headers),
      body,
      timeoutMs: target.timeoutMs,
    };
  }
  if (request.url === undefined || !isHttpUrl(request.url)) {
    throw ApplicationFailure.nonRetryable(
      request.url === undefined
        ? 'webhook step has neither `target` nor `url`'
        : `webhook url ${JSON.stringify(request.url)} is not an http(s) URL`,
      WEBHOOK_FAILURES.unknownTarget,
    );
  }
  return {
    url: request.url,
    headers: standardHeaders(request.idempotencyKey, {}),
    body,
    timeoutMs: DEFAULT_CALL_TIMEOUT_MS,
  };
}

/**
 * Configured headers, then the ones Touchpoint always sets (they win: a config cannot turn off
 * the idempotency key). Names as the config wrote them, so `Authorization` stays `Authorization`.
 */
export function standardHeaders(
  idempotencyKey: string,
  configured: Readonly<Record<string, string>>,
): Record<string, string> {
  const own = new Set(['content-type', 'idempotency-key', 'user-agent']);
  const headers = Object.fromEntries(
    Object.entries(configured).filter(([name]) => !own.has(name.toLowerCase())),
  );
  return {
    ...headers,
    'Content-Type': 'application/json',
    'Idempotency-Key': idempotencyKey,
    'User-Agent': USER_AGENT,
  };
}

/**
 * The outcome of an HTTP answer, by the rules of WebhookSender. `what` names the call in errors
 * (`webhook target \`supply-chain\``): a configured URL may carry a secret and is not repeated.
 */
export function webhookAnswer(
  what: string,
  url: string,
  answer: { status: number; text: string; retryAfter?: string | null },
): WebhookOutcome {
  const { status, text } = answer;
  if (status >= 200 && status < 300) return { status, url: publicUrl(url) };
  const detail = `${what} answered ${status}${text ? `: ${excerpt(text)}` : ''}`;
  if (isRetryableStatus(status)) {
    throw ApplicationFailure.create({
      message: detail,
      type: WEBHOOK_FAILURES.unavailable,
      details: [{ status, body: excerpt(text) }],
      nextRetryDelay: retryAfterMs(answer.retryAfter),
    });
  }
  // Other 4xx: the receiver refuses this request, and would refuse it again. A redirect is not
  // followed (it would turn the POST into a GET without body) and is as permanent.
  throw ApplicationFailure.create({
    message: status >= 300 && status < 400 ? `${detail} (redirects are not followed)` : detail,
    type: WEBHOOK_FAILURES.rejected,
    nonRetryable: true,
    details: [{ status, body: excerpt(text) }],
  });
}

/** `Retry-After: <seconds>` of a 429 / 503, at most 10 minutes; else the workflow's backoff. */
function retryAfterMs(header: string | null | undefined): number | undefined {
  if (!header || !/^\d+$/.test(header.trim())) return undefined;
  return Math.min(Number(header.trim()) * 1000, 10 * 60_000) || undefined;
}

/** The URL without query, fragment and credentials: safe for the run's path and logs. */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return url;
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function describe(call: WebhookCall): string {
  return call.target !== undefined ? `webhook target \`${call.target}\`` : `webhook ${publicUrl(call.url)}`;
}

/** The real thing: POSTs over HTTP(S) with fetch, no redirects followed. */
export class HttpWebhookSender implements WebhookSender {
  constructor(private readonly configured: Readonly<Record<string, WebhookTarget>> = {}) {}

  targets(): string[] {
    return Object.keys(this.configured).sort();
  }

  async send(request: WebhookRequest): Promise<WebhookOutcome> {
    const call = resolveWebhookCall(this.configured, request);
    const what = describe(call);
    let answer;
    try {
      answer = await httpCall(what, call.url, {
        method: 'POST',
        headers: call.headers,
        body: JSON.stringify(call.body),
        timeoutMs: call.timeoutMs,
      });
    } catch (err) {
      // Timeout or connection error: retryable, with the reason (ECONNREFUSED, TimeoutError...).
      throw ApplicationFailure.create({
        message: (err as Error).message,
        type: WEBHOOK_FAILURES.unavailable,
      });
    }
    return webhookAnswer(what, call.url, { ...answer, retryAfter: answer.headers.get('retry-after') });
  }
}

/** What a dry run would have sent. Configured header values are redacted (they hold secrets). */
export interface RecordedWebhook {
  target?: string;
  url: string;
  headers: Record<string, string>;
  body: WebhookEnvelope;
  /** The answer the recording sender made up (200 unless `respond` says otherwise). */
  status: number;
}

export interface RecordingWebhookSenderOptions {
  /**
   * The configured targets. Given: an unknown target fails as in production. Absent: any target
   * name is accepted (a dry run without a config file) and recorded with url `webhook-target:<name>`.
   */
  targets?: Readonly<Record<string, WebhookTarget>>;
  /** The answer to make up per call (default 200), judged by the same rules as a real one. */
  respond?: (call: RecordedWebhook) => number | { status: number; body?: string };
}

/**
 * The simulator's sender: records each call it would make, sends nothing. With `respond` a
 * scenario can play a failing receiver (5xx: retried; 4xx: the step's `onFailure`).
 */
export class RecordingWebhookSender implements WebhookSender {
  readonly calls: RecordedWebhook[] = [];

  constructor(private readonly options: RecordingWebhookSenderOptions = {}) {}

  targets(): string[] {
    return Object.keys(this.options.targets ?? {}).sort();
  }

  async send(request: WebhookRequest): Promise<WebhookOutcome> {
    const lenient = this.options.targets === undefined && request.target !== undefined;
    const call: WebhookCall = lenient
      ? {
          target: request.target,
          url: `webhook-target:${request.target}`,
          headers: standardHeaders(request.idempotencyKey, {}),
          body: webhookEnvelope(request),
          timeoutMs: DEFAULT_CALL_TIMEOUT_MS,
        }
      : resolveWebhookCall(this.options.targets ?? {}, request);
    const configured = new Set(
      Object.keys(call.target !== undefined ? (this.options.targets?.[call.target]?.headers ?? {}) : {}),
    );
    const recorded: RecordedWebhook = {
      ...(call.target !== undefined ? { target: call.target } : {}),
      url: publicUrl(call.url),
      headers: Object.fromEntries(
        Object.entries(call.headers).map(([name, value]) => [
          name,
          configured.has(name) ? '<redacted>' : value,
        ]),
      ),
      body: call.body,
      status: 200,
    };
    const made = this.options.respond?.(recorded) ?? 200;
    const answer = typeof made === 'number' ? { status: made, body: '' } : { body: '', ...made };
    recorded.status = answer.status;
    this.calls.push(recorded);
    return webhookAnswer(describe(call), call.url, { status: answer.status, text: answer.body });
  }
}
