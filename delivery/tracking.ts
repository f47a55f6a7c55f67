import type { SignedTokens } from '../config/signed-tokens';
import type { Channel } from '../language/types';
import type { DeliveryMessage } from './message';

/** Channels whose text carries links a customer can click. */
export const TRACKABLE_CHANNELS: readonly Channel[] = ['email', 'sms', 'wecom'];

/**
 * TOUCHPOINT_TRACK_LINKS: `true` (the default: email, sms and wecom), `false`, or a list of
 * channels such as `email,wecom` (a tracked link is long, and SMS is billed by length).
 */
export function trackedChannelsFrom(value: string | undefined): Channel[] {
  const raw = (value ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'true') return [...TRACKABLE_CHANNELS];
  if (raw === 'false') return [];
  const channels = raw.split(',').map((c) => c.trim());
  for (const channel of channels) {
    if (!TRACKABLE_CHANNELS.includes(channel as Channel))
      throw new Error(
        `TOUCHPOINT_TRACK_LINKS: "${channel}" is not one of true, false, ${TRACKABLE_CHANNELS.join(', ')}`,
      );
  }
  return channels as Channel[];
}

/** A tracked link's token: the message it was in and where it leads. */
interface ClickToken extends Record<string, unknown> {
  k: string;
  u: string;
}

/** The open pixel's token: the message it was in. */
interface OpenToken extends Record<string, unknown> {
  k: string;
  o: 1;
}

/**
 * An http(s) URL as it appears in text or HTML: RFC 3986 characters, minus the quote and angle
 * brackets that end an HTML attribute, so it also stops at CJK text that follows it directly.
 */
const URL_IN_TEXT = /https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]+/g;

/** Punctuation that ends a sentence rather than the URL before it. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]]+$/;

/** Escaped characters that cannot be part of a URL: a quote or bracket written as an entity. */
const ENDING_ENTITY = /&(quot|lt|gt|#x27|#39|#x60);/;

const HTML = /<(html|body|p|a|div|table|br|img)\b/i;

/** Entities for URL characters: Handlebars writes `&` and `=` so in `{{url}}`, authors `&amp;` in an href. */
const ENTITIES: Record<string, string> = { '&amp;': '&', '&#x3D;': '=', '&#61;': '=' };

/**
 * Tracked links and open pixels. At delivery time every http(s) URL in the body of a message on
 * a tracked channel becomes `<publicUrl>/r/<token>`, the token signed over the message's
 * idempotency key and the original URL: the redirect leads only where the message led, and a
 * token cannot be edited to click for another message. HTML email also gets a 1×1 pixel
 * `<publicUrl>/o/<token>.gif`. The rewrite is deterministic, so a retried send is identical.
 */
export class LinkTracker {
  private readonly channels: ReadonlySet<Channel>;

  constructor(
    private readonly tokens: SignedTokens,
    private readonly publicUrl: string,
    channels: readonly Channel[] = TRACKABLE_CHANNELS,
  ) {
    this.channels = new Set(channels);
  }

  /** The message as it is sent: links tracked, pixel added; unchanged on untracked channels. */
  rewrite(message: DeliveryMessage): DeliveryMessage {
    if (!this.channels.has(message.channel)) return message;
    const html = message.channel === 'email' && HTML.test(message.body);
    let body = message.body.replace(URL_IN_TEXT, (match) => this.trackedLink(message, match));
    if (html) body = withPixel(body, this.openPixelUrl(message.idempotencyKey));
    return body === message.body ? message : { ...message, body };
  }

  /** The message and URL of a tracked link's token; null for a token we did not make. */
  click(token: string): { idempotencyKey: string; url: string } | null {
    const payload = this.tokens.verify<ClickToken>(token);
    if (!payload || typeof payload.k !== 'string' || typeof payload.u !== 'string') return null;
    if (!/^https?:\/\//i.test(payload.u)) return null;
    return { idempotencyKey: payload.k, url: payload.u };
  }

  /** The message of an open pixel's token; null for a token we did not make. */
  open(token: string): { idempotencyKey: string } | null {
    const payload = this.tokens.verify<OpenToken>(token);
    if (!payload || typeof payload.k !== 'string' || payload.o !== 1) return null;
    return { idempotencyKey: payload.k };
  }

  private trackedLink(message: DeliveryMessage, match: string): string {
    const entity = match.search(ENDING_ENTITY);
    const candidate = entity >= 0 ? match.slice(0, entity) : match;
    let trailing = TRAILING_PUNCTUATION.exec(candidate)?.[0] ?? '';
    // A closing parenthesis belongs to the URL when the URL opened one: /wiki/Foo_(bar)
    if (trailing.startsWith(')') && candidate.includes('(')) trailing = trailing.slice(1);
    const written = candidate.slice(0, candidate.length - trailing.length);
    trailing += match.slice(candidate.length);
    // Our own links (unsubscribe, links tracked already) stay as they are.
    if (written.startsWith(`${this.publicUrl}/`)) return match;
    const url = decodeEntities(written);
    const token = this.tokens.sign({ k: message.idempotencyKey, u: url } satisfies ClickToken);
    return `${this.publicUrl}/r/${token}${trailing}`;
  }

  private openPixelUrl(idempotencyKey: string): string {
    return `${this.publicUrl}/o/${this.tokens.sign({ k: idempotencyKey, o: 1 } satisfies OpenToken)}.gif`;
  }
}

function decodeEntities(url: string): string {
  return url.replace(/&(amp|#x3D|#61);/g, (entity) => ENTITIES[entity] ?? entity);
}

function withPixel(html: string, pixelUrl: string): string {
  const img = `<img src="${pixelUrl}" width="1" height="1" alt="" style="display:none">`;
  const close = html.search(/<\/body>/i);
  return close >= 0 ? `${html.slice(0, close)}${img}${html.slice(close)}` : `${html}${img}`;
}
