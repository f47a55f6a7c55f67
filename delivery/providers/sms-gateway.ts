import { createHash } from 'node:crypto';
import type { DeliveryMessage } from '../message';
import { excerpt, httpCall, isRetryableStatus, parseJson } from './http';
import { PermanentDeliveryError, type Provider, type SentMessage } from './provider';

/** A request body field: text with `{{placeholders}}`, or any JSON value around such texts. */
export type BodyTemplate =
  string | number | boolean | null | BodyTemplate[] | { [key: string]: BodyTemplate };

export interface SmsGatewayOptions {
  /** May hold `{{placeholders}}`; their values are URL-encoded. */
  url: string;
  method?: 'GET' | 'POST' | 'PUT';
  /** Header values may hold `{{placeholders}}`. */
  headers?: Record<string, string>;
  auth?: { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };
  /** `json` (default) or `form`; with GET the fields go into the query string instead. */
  body?: { format?: 'json' | 'form'; fields: Record<string, BodyTemplate> };
  /** Header carrying the idempotency key for gateways that dedupe by it; `false`: none. */
  idempotencyHeader?: string | false;
  timeoutMs?: number;
  /** A success is a status in `status` (inclusive) and, when `field` is set, its value among `equals`. */
  success?: { status?: [number, number]; field?: string; equals?: string[] };
  /** Gateway error codes (at `field`, else success.field) and what they mean. */
  errorCodes?: {
    field?: string;
    permanent?: string[];
    retryable?: string[];
    /** An answer in the status range whose code is in neither list: `retryable` (default) or `permanent`. */
    otherwise?: 'retryable' | 'permanent';
  };
  /** Where the gateway's message id is in a successful answer, for delivery receipts. */
  messageIdField?: string;
}

/** What `{{name}}` may name, in the url, headers and body fields. */
export const SMS_PLACEHOLDERS = [
  'to',
  'toDigits',
  'toLocal',
  'body',
  'subject',
  'idempotencyKey',
  'messageId',
  'customerId',
  'journeyId',
  'stepId',
  'template',
  'locale',
  'timestamp',
] as const;
export type SmsPlaceholder = (typeof SMS_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** The placeholder names a text uses that are not in SMS_PLACEHOLDERS (a typo, for config checks). */
export function unknownPlaceholders(text: string): string[] {
  const known: readonly string[] = SMS_PLACEHOLDERS;
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((name) => !known.includes(name));
}

/**
 * A generic HTTP SMS gateway, configured rather than coded: URL, method, auth, a body template
 * and the rule that tells success from a gateway error code, and which codes are permanent
 * (invalid number, blacklisted, content rejected) rather than worth a retry.
 *
 * A timeout or a lost answer leaves it unknown whether the gateway took the message; the retry
 * then sends it again with the same `Idempotency-Key` header and `{{messageId}}`, so a gateway
 * that dedupes by either drops the copy. There is no generic way to ask a gateway whether it
 * has a message, hence no wasDelivered.
 */
export class SmsGatewayProvider implements Provider {
  readonly name = 'sms-gateway';

  constructor(private readonly options: SmsGatewayOptions) {}

  async send(message: DeliveryMessage): Promise<SentMessage> {
    const vars = placeholderValues(message);
    const method = this.options.method ?? 'POST';
    const headers: Record<string, string> = {};
    for (const [name, template] of Object.entries(this.options.headers ?? {})) {
      const value = render(template, vars);
      // A customer's text must never be able to add a header line.
      if (/[\r\n]/.test(value))
        throw new PermanentDeliveryError(`sms-gateway: header ${name} would span lines`);
      headers[name.toLowerCase()] = value;
    }
    const auth = this.options.auth;
    if (auth?.type === 'basic') {
      headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    } else if (auth?.type === 'bearer') {
      headers.authorization = `Bearer ${auth.token}`;
    }
    const idempotencyHeader = this.options.idempotencyHeader ?? 'Idempotency-Key';
    if (idempotencyHeader) headers[idempotencyHeader.toLowerCase()] = message.idempotencyKey;

    let url = render(this.options.url, vars, encodeURIComponent);
    let body: string | undefined;
    const fields = this.options.body?.fields;
    if (fields && (method === 'GET' || this.options.body?.format === 'form')) {
      const form = formFields(fields, vars);
      if (method === 'GET') url += (url.includes('?') ? '&' : '?') + form;
      else {
        body = form;
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
      }
    } else if (fields) {
      body = JSON.stringify(renderJson(fields, vars));
      headers['content-type'] ??= 'application/json';
    }

    const answer = await httpCall('sms gateway', url, {
      method,
      headers,
      body,
      timeoutMs: this.options.timeoutMs ?? 10_000,
    });
    return this.judge(answer.status, answer.text);
  }

  /** Success, a retryable error or a permanent one, by the configured rule; see docs/providers.md. */
  private judge(status: number, text: string): SentMessage {
    const json = parseJson(text);
    const success = this.options.success ?? {};
    const [low, high] = success.status ?? [200, 299];
    const inRange = status >= low && status <= high;
    const successValue = success.field === undefined ? undefined : textAt(json, success.field);
    const fieldSaysOk = successValue !== undefined && (success.equals ?? []).includes(successValue);
    if (inRange && (success.field === undefined || fieldSaysOk)) {
      const id = this.options.messageIdField ? textAt(json, this.options.messageIdField) : undefined;
      return { providerMessageId: id };
    }

    const errors = this.options.errorCodes ?? {};
    const codeField = errors.field ?? success.field;
    const code = codeField === undefined ? undefined : textAt(json, codeField);
    const detail = `sms gateway answered ${status}${code === undefined ? '' : ` with code ${code}`}: ${excerpt(text)}`;
    if (code !== undefined && errors.permanent?.includes(code)) throw new PermanentDeliveryError(detail);
    if (code !== undefined && errors.retryable?.includes(code)) throw new Error(detail);
    if (inRange) {
      if (errors.otherwise === 'permanent') throw new PermanentDeliveryError(detail);
      throw new Error(detail);
    }
    // By status, as for webhooks: 408, 429 and 5xx retryable; other statuses (4xx, an unfollowed redirect) permanent.
    if (isRetryableStatus(status)) throw new Error(detail);
    throw new PermanentDeliveryError(detail);
  }
}

function placeholderValues(message: DeliveryMessage): Record<SmsPlaceholder, string> {
  const digits = message.to.replace(/[^\d]/g, '');
  return {
    to: message.to,
    toDigits: digits,
    // Mainland gateways often want the 11-digit number, without +86.
    toLocal: /^(\+|00)?86\d{11}$/.test(message.to.replace(/[\s-]/g, '')) ? digits.slice(-11) : message.to,
    body: message.body,
    subject: message.subject ?? '',
    idempotencyKey: message.idempotencyKey,
    // Short enough for gateways' "client message id" fields (often 32 or 64 characters at most).
    messageId: createHash('sha256').update(message.idempotencyKey).digest('hex').slice(0, 32),
    customerId: message.customerId,
    journeyId: message.journeyId,
    stepId: message.stepId,
    template: message.template,
    locale: message.locale,
    timestamp: String(Math.floor(Date.now() / 1000)),
  };
}

function render(
  template: string,
  vars: Record<SmsPlaceholder, string>,
  encode: (value: string) => string = (v) => v,
): string {
  return template.replace(PLACEHOLDER, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? encode(vars[name as SmsPlaceholder]) : whole,
  );
}

function renderJson(template: BodyTemplate, vars: Record<SmsPlaceholder, string>): unknown {
  if (typeof template === 'string') return render(template, vars);
  if (Array.isArray(template)) return template.map((item) => renderJson(item, vars));
  if (template !== null && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderJson(v, vars)]));
  }
  return template;
}

function formFields(fields: Record<string, BodyTemplate>, vars: Record<SmsPlaceholder, string>): string {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    const rendered = renderJson(value, vars);
    form.append(
      name,
      typeof rendered === 'string' ? rendered : rendered === null ? '' : JSON.stringify(rendered),
    );
  }
  return form.toString();
}

/** The value at a dot path (`code`, `result.status`, `data.0.msgId`) as text, when it is a scalar. */
function textAt(json: unknown, path: string): string | undefined {
  let value: unknown = json;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
}
