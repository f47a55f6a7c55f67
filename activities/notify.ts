import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Redis } from 'ioredis';
import type { NotifyTarget, WecomRobotTarget } from '../config/integrations';
import type { RedisKeys } from '../customers/keys';
import type { ProfileStore } from '../customers/profiles';
import { excerpt, httpCall, parseJson } from '../delivery/providers/http';
import { buildRenderContext } from '../messages/context';
import { NOTIFY_FOLDER, type TemplateStore } from '../messages/templates';
import type { NotifyOutcome, NotifyRequest } from './types';
import { publicUrl, standardHeaders, USER_AGENT, webhookAnswer } from './webhooks';

/** One internal alert, rendered: what a NotifySender sends to a target. */
export interface NotifyMessage {
  target: string;
  text: string;
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  stepId: string;
  idempotencyKey: string;
}

/**
 * Sends an alert to a target of the config file's `notify:` section. Resolves when the target
 * took it; throws a retryable error on a timeout, a connection error, 408/429/5xx or WeCom's rate
 * limit; a non-retryable ApplicationFailure on an unknown target or a refusal.
 */
export interface NotifySender {
  send(message: NotifyMessage): Promise<void>;
  /** The configured target names (what journeys may name in `target:`). */
  targets(): string[];
}

export const NOTIFY_FAILURES = {
  unknownTarget: 'NotifyUnknownTarget',
  rejected: 'NotifyRejected',
  unavailable: 'NotifyUnavailable',
  template: 'NotifyTemplateFailed',
  inProgress: 'NotifyInProgress',
} as const;

/** A WeCom group robot's `text.content` is at most 2048 bytes of UTF-8. */
export const WECOM_ROBOT_MAX_BYTES = 2048;

/**
 * WeCom robot errcodes worth another attempt: -1 (system busy) and 45009 (the robot's limit of
 * 20 messages a minute). Any other non-zero errcode (bad key 93000, bad content...) is permanent.
 */
const WECOM_RETRYABLE = new Set([-1, 45009]);

function unknownTarget(name: string, known: string[]): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `notify target \`${name}\` is not configured (the config file's \`notify:\` section has ${
      known.length ? known.map((k) => `\`${k}\``).join(', ') : 'none'
    })`,
    NOTIFY_FAILURES.unknownTarget,
  );
}

function targetOf(targets: Readonly<Record<string, NotifyTarget>>, name: string): NotifyTarget | undefined {
  return Object.prototype.hasOwnProperty.call(targets, name) ? targets[name] : undefined;
}

/** The body a target of `type: webhook` receives. */
export function notifyWebhookBody(message: NotifyMessage): Record<string, unknown> {
  return {
    text: message.text,
    journeyId: message.journeyId,
    customerId: message.customerId,
    stepId: message.stepId,
  };
}

/** The body a WeCom group robot receives: a text message, cut to the robot's 2048 bytes. */
export function wecomRobotBody(target: WecomRobotTarget, text: string): Record<string, unknown> {
  return {
    msgtype: 'text',
    text: {
      content: truncateUtf8(text, WECOM_ROBOT_MAX_BYTES),
      ...(target.mentionedList ? { mentioned_list: target.mentionedList } : {}),
      ...(target.mentionedMobileList ? { mentioned_mobile_list: target.mentionedMobileList } : {}),
    },
  };
}

/** At most `max` bytes of UTF-8, cut between characters and ending in `…` when cut. */
export function truncateUtf8(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const ellipsis = '…';
  let out = '';
  let bytes = Buffer.byteLength(ellipsis, 'utf8');
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > max) break;
    out += char;
    bytes += size;
  }
  return out + ellipsis;
}

/** The real thing: WeCom group robots and plain webhooks over HTTP(S). */
export class HttpNotifySender implements NotifySender {
  constructor(private readonly configured: Readonly<Record<string, NotifyTarget>> = {}) {}

  targets(): string[] {
    return Object.keys(this.configured).sort();
  }

  async send(message: NotifyMessage): Promise<void> {
    const target = targetOf(this.configured, message.target);
    if (!target) throw unknownTarget(message.target, this.targets());
    const what = `notify target \`${message.target}\``;
    const body =
      target.type === 'wecom-robot' ? wecomRobotBody(target, message.text) : notifyWebhookBody(message);
    const headers =
      target.type === 'wecom-robot'
        ? { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT }
        : standardHeaders(message.idempotencyKey, target.headers);
    let answer;
    try {
      answer = await httpCall(what, target.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        timeoutMs: target.timeoutMs,
      });
    } catch (err) {
      throw ApplicationFailure.create({ message: (err as Error).message, type: NOTIFY_FAILURES.unavailable });
    }
    // HTTP status first (5xx retried, 4xx refused), the same rules as a webhook step.
    webhookAnswer(what, target.url, { ...answer, retryAfter: answer.headers.get('retry-after') });
    if (target.type === 'wecom-robot') checkWecomAnswer(what, answer.text);
  }
}

/** A robot answers HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`; any other errcode is a failure. */
function checkWecomAnswer(what: string, text: string): void {
  const json = parseJson(text) as { errcode?: unknown; errmsg?: unknown } | undefined;
  if (typeof json !== 'object' || json === null || typeof json.errcode !== 'number') {
    throw ApplicationFailure.nonRetryable(
      `${what} answered without a WeCom errcode (is its url a group robot's webhook?): ${excerpt(text)}`,
      NOTIFY_FAILURES.rejected,
    );
  }
  if (json.errcode === 0) return;
  const detail = `${what}: WeCom errcode ${json.errcode} ${String(json.errmsg ?? '')}`.trim();
  const details = [{ errcode: json.errcode, errmsg: json.errmsg }];
  if (WECOM_RETRYABLE.has(json.errcode)) {
    throw ApplicationFailure.create({ message: detail, type: NOTIFY_FAILURES.unavailable, details });
  }
  throw ApplicationFailure.create({
    message: detail,
    type: NOTIFY_FAILURES.rejected,
    nonRetryable: true,
    details,
  });
}

/** What a dry run would have sent to a notify target. */
export interface RecordedNotify extends NotifyMessage {
  /** `wecom-robot` / `webhook` when the target is configured; undefined in a lenient dry run. */
  type?: NotifyTarget['type'];
  url?: string;
  /** The JSON the target would have received. */
  body: Record<string, unknown>;
}

/**
 * The simulator's sender: records each alert, sends nothing. With `targets` an unknown target
 * fails as in production; without, any name is accepted (a dry run without a config file).
 */
export class RecordingNotifySender implements NotifySender {
  readonly sent: RecordedNotify[] = [];

  constructor(private readonly options: { targets?: Readonly<Record<string, NotifyTarget>> } = {}) {}

  targets(): string[] {
    return Object.keys(this.options.targets ?? {}).sort();
  }

  async send(message: NotifyMessage): Promise<void> {
    const target = this.options.targets ? targetOf(this.options.targets, message.target) : undefined;
    if (this.options.targets && !target) throw unknownTarget(message.target, this.targets());
    this.sent.push({
      ...message,
      ...(target ? { type: target.type, url: publicUrl(target.url) } : {}),
      body:
        target?.type === 'wecom-robot' ? wecomRobotBody(target, message.text) : notifyWebhookBody(message),
    });
  }
}

/** How long a sent alert's marker is kept: longer than any retry of its step. */
const SENT_TTL_SECONDS = 30 * 24 * 3600;
/** How long an attempt holds the marker while sending: past the sender's 30 s timeout. */
const SENDING_LEASE_MS = 60_000;

interface NotifyMarker {
  state: 'sending' | 'sent';
  text: string;
  /** The attempt holding a `sending` marker. */
  owner?: string;
  at: string;
}

const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Once per idempotency key: an attempt claims the key (`sending`, with a lease) before it sends
 * and marks it `sent` after; a failed send gives the claim back so the retry sends. A crash
 * mid-send leaves the lease to expire, after which a retry sends again (at least once).
 */
export class NotifyLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Claims the key: null when claimed, else the marker someone else holds or left. */
  async claim(
    idempotencyKey: string,
    text: string,
    now: Date,
  ): Promise<{ marker: NotifyMarker | null; token: string }> {
    const token = JSON.stringify({ state: 'sending', text, owner: randomUUID(), at: now.toISOString() });
    const current = (await this.redis.eval(
      CLAIM,
      1,
      this.keys.notified(idempotencyKey),
      token,
      SENDING_LEASE_MS,
    )) as string | null;
    return { marker: current ? (JSON.parse(current) as NotifyMarker) : null, token };
  }

  async sent(idempotencyKey: string, text: string, now: Date): Promise<void> {
    const marker: NotifyMarker = { state: 'sent', text, at: now.toISOString() };
    await this.redis.set(this.keys.notified(idempotencyKey), JSON.stringify(marker), 'EX', SENT_TTL_SECONDS);
  }

  async release(idempotencyKey: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys.notified(idempotencyKey), token);
  }

  async get(idempotencyKey: string): Promise<NotifyMarker | null> {
    const raw = await this.redis.get(this.keys.notified(idempotencyKey));
    return raw ? (JSON.parse(raw) as NotifyMarker) : null;
  }
}

export interface NotifyDeps {
  profiles: ProfileStore;
  templates: TemplateStore;
  notifier: NotifySender;
  log: NotifyLog;
  /** The zone for customers without a valid `timezone` trait (date helpers). */
  defaultTimeZone?: string;
}

/**
 * A `notify` step: renders `templates/notify/<template>.<locale>.hbs` with the same context as a
 * send (customer, event, journey, coupons) and sends it to the target, once per idempotency key
 * (a later call answers `duplicate` with the text sent). Alerts are read by staff, so they are
 * rendered in the journey's default locale, not the customer's.
 */
export async function notify(
  deps: NotifyDeps,
  request: NotifyRequest,
  now: Date = new Date(),
): Promise<NotifyOutcome> {
  const done = await deps.log.get(request.idempotencyKey);
  if (done?.state === 'sent') return { status: 'duplicate', target: request.target, text: done.text };

  const text = await render(deps, request);
  const { marker, token } = await deps.log.claim(request.idempotencyKey, text, now);
  if (marker?.state === 'sent') return { status: 'duplicate', target: request.target, text: marker.text };
  if (marker) {
    throw ApplicationFailure.create({
      message: `notify ${request.idempotencyKey} is being sent by another attempt`,
      type: NOTIFY_FAILURES.inProgress,
    });
  }
  try {
    await deps.notifier.send({
      target: request.target,
      text,
      journeyId: request.journeyId,
      journeyVersion: request.journeyVersion,
      customerId: request.customerId,
      stepId: request.stepId,
      idempotencyKey: request.idempotencyKey,
    });
  } catch (err) {
    await deps.log.release(request.idempotencyKey, token);
    throw err;
  }
  await deps.log.sent(request.idempotencyKey, text, now);
  return { status: 'sent', target: request.target, text };
}

/** The alert's text: the subject (if the template has one) on its own line, then the body. */
async function render(deps: NotifyDeps, request: NotifyRequest): Promise<string> {
  const traits = await deps.profiles.getWithTags(request.customerId);
  const context = buildRenderContext({
    customerId: request.customerId,
    traits,
    event: request.event,
    journey: { id: request.journeyId, name: request.journeyName, version: request.journeyVersion },
    coupons: request.coupons,
    defaultTimeZone: deps.defaultTimeZone,
  });
  try {
    const rendered = deps.templates.render(NOTIFY_FOLDER, request.template, request.defaultLocale, context, {
      defaultLocale: request.defaultLocale,
    });
    return (rendered.subject ? `${rendered.subject}\n${rendered.body}` : rendered.body).trim();
  } catch (err) {
    // Templates are loaded at start-up: rendering again would fail the same way.
    throw ApplicationFailure.nonRetryable(
      `notify template ${request.template}: ${(err as Error).message}`,
      NOTIFY_FAILURES.template,
    );
  }
}
