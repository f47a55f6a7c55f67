import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { DeliveryMessage } from '../message';
import { PermanentDeliveryError, type Provider, type SentMessage } from './provider';

export interface SmtpOptions {
  host: string;
  /** Default 465 when `secure`, else 587. */
  port?: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. Default: port is 465. */
  secure?: boolean;
  /** Refuse to send over a connection that could not be upgraded with STARTTLS. */
  requireTLS?: boolean;
  auth?: { user: string; pass: string };
  /** The From header, e.g. `Qimu Home <hello@qimu.example.com>`. */
  from: string;
  replyTo?: string;
  /** Right-hand side of Message-ID; default: the domain of `from`. */
  messageIdDomain?: string;
  /** Add `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058) to https unsubscribe URLs. Default true. */
  oneClickUnsubscribe?: boolean;
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
}

/**
 * Email over SMTP with nodemailer, one connection per message (nothing stays open between
 * sends). The body is the rendered HTML; a plain-text alternative is derived from it.
 *
 * The Message-ID is derived from the idempotency key, so a message sent again after a lost
 * answer carries the same Message-ID and mailbox providers that dedupe by it show it once.
 * Replies 4xx (and 503, a session out of step) are retryable; other 5xx (550 mailbox
 * unavailable, 553 bad address, 554 rejected) are permanent. Connection failures and timeouts
 * are retryable.
 */
export class SmtpProvider implements Provider {
  readonly name = 'smtp';
  private readonly transport: ReturnType<typeof nodemailer.createTransport>;
  private readonly port: number;
  private readonly messageIdDomain: string;

  constructor(private readonly options: SmtpOptions) {
    const secure = options.secure ?? options.port === 465;
    this.port = options.port ?? (secure ? 465 : 587);
    this.messageIdDomain = options.messageIdDomain ?? domainOf(options.from);
    this.transport = nodemailer.createTransport({
      host: options.host,
      port: this.port,
      secure,
      requireTLS: options.requireTLS,
      auth: options.auth,
      // Well under deliverOnce's 2-minute lease (nodemailer's own defaults go up to 10 minutes).
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      greetingTimeout: options.greetingTimeoutMs ?? 10_000,
      socketTimeout: options.socketTimeoutMs ?? 30_000,
      // A template must never make the mailer read a local file or fetch a URL.
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(message: DeliveryMessage): Promise<SentMessage> {
    const url = message.unsubscribeUrl;
    const oneClick = (this.options.oneClickUnsubscribe ?? true) && url !== undefined && /^https:/i.test(url);
    let info: { messageId?: string; rejected?: unknown[] };
    try {
      info = await this.transport.sendMail({
        from: this.options.from,
        to: message.to,
        replyTo: this.options.replyTo,
        subject: message.subject ?? '',
        html: message.body,
        text: htmlToText(message.body),
        messageId: messageIdFor(message.idempotencyKey, this.messageIdDomain),
        list: url ? { unsubscribe: url } : undefined,
        headers: oneClick ? { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : undefined,
      });
    } catch (err) {
      const e = err as Error & { responseCode?: number; code?: string };
      const detail = `smtp ${this.options.host}:${this.port}: ${e.message}`;
      if (e.responseCode !== undefined) {
        // RFC 5321: 5yz is permanent, 4yz transient; 503 only says the session was out of step.
        if (e.responseCode >= 500 && e.responseCode !== 503) throw new PermanentDeliveryError(detail);
        throw new Error(detail);
      }
      // Refused by nodemailer itself before any server saw it: an address it cannot use.
      if (e.code === 'EENVELOPE' || e.code === 'ECONFIG') throw new PermanentDeliveryError(detail);
      throw new Error(detail);
    }
    if (info.rejected?.length) {
      throw new PermanentDeliveryError(
        `smtp ${this.options.host}:${this.port}: recipient ${message.to} rejected`,
      );
    }
    return { providerMessageId: info.messageId };
  }
}

/** `<hash@domain>`: stable per idempotency key, without showing the key (journey and customer ids) to the receiver. */
export function messageIdFor(idempotencyKey: string, domain: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${domain}>`;
}

function domainOf(from: string): string {
  const match = /@([^\s>]+)>?\s*$/.exec(from);
  return match?.[1] ?? 'touchpoint.invalid';
}

/**
 * A readable plain-text version of an HTML email: block ends become line breaks, links show
 * their URL, tags and head go away, entities are decoded.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<(head|style|script|title)\b[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!doctype[^>]*>/gi, '')
    // Whitespace in HTML source is one space; line breaks come from the markup below.
    .replace(/\s+/g, ' ')
    .replace(
      /<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1[^>]*>([\s\S]*?)<\/a\s*>/gi,
      (_, _q, href: string, inner: string) => {
        const label = inner.replace(/<[^>]+>/g, '').trim();
        return /^https?:/i.test(href) && decodeEntities(href) !== decodeEntities(label)
          ? `${label} (${href})`
          : label;
      },
    )
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n- ')
    .replace(/<\/(p|div|h[1-6]|ul|ol|table|tr|blockquote|section|header|footer)\s*>/gi, '\n\n')
    .replace(/<[^>]+>/g, '');
  return decodeEntities(text)
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  copy: '©',
  reg: '®',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  yen: '¥',
};

/** One pass, so `&amp;lt;` stays `&lt;`. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code =
        entity[1] === 'x' || entity[1] === 'X'
          ? parseInt(entity.slice(2), 16)
          : parseInt(entity.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[entity.toLowerCase()] ?? whole;
  });
}
