import { checkSubscriptionData, parseSubscriptionData } from '../delivery/providers/miniprogram';
import type { Channel } from '../language/types';
import { smsLength, type SmsEncoding } from './sms-length';

/**
 * Length limits checked on every rendered message (TemplateStore.render throws
 * ContentTooLongError), so an over-long message is caught before it costs anything.
 */
export interface ContentLimits {
  /** Most parts an SMS may be split into (each part is billed); default 3. */
  smsMaxParts: number;
  /** Most UTF-8 bytes of a WeCom text message (WeCom truncates beyond 2048); default 2048. */
  wecomMaxBytes: number;
}

export const DEFAULT_CONTENT_LIMITS: ContentLimits = { smsMaxParts: 3, wecomMaxBytes: 2048 };

/** What a rendered message measures (the preview shows it). */
export interface ContentLength {
  /** SMS: characters as the carrier counts them; other channels: Unicode characters. */
  chars: number;
  /** SMS: messages sent and billed; other channels: 1 (0 when empty). */
  parts: number;
  /** SMS only. */
  encoding?: SmsEncoding;
  /** WeCom only: UTF-8 bytes, what its limit counts. */
  bytes?: number;
}

/** One limit a message breaks. */
export interface LimitExceeded {
  /** What is too long: `body`, `subject`, or a field name. */
  field: string;
  unit: 'parts' | 'bytes' | 'chars';
  limit: number;
  actual: number;
  message: string;
}

export interface RenderedContent {
  subject?: string;
  body: string;
}

/**
 * A channel's check of a rendered message: the hook for other limits (pass `checks` to
 * loadTemplates to replace or add one).
 */
export type ContentCheck = (content: RenderedContent, limits: ContentLimits) => LimitExceeded | undefined;

export const DEFAULT_CONTENT_CHECKS: Partial<Record<Channel, ContentCheck>> = {
  sms: checkSms,
  wecom: checkWecom,
  miniprogram: checkMiniProgramFields,
};

export function measureContent(channel: Channel, content: RenderedContent): ContentLength {
  if (channel === 'sms') return smsLength(content.body);
  const chars = [...content.body].length;
  const measured: ContentLength = { chars, parts: chars === 0 ? 0 : 1 };
  return channel === 'wecom' ? { ...measured, bytes: Buffer.byteLength(content.body, 'utf8') } : measured;
}

function checkSms(content: RenderedContent, limits: ContentLimits): LimitExceeded | undefined {
  const { encoding, chars, parts } = smsLength(content.body);
  if (parts <= limits.smsMaxParts) return undefined;
  return {
    field: 'body',
    unit: 'parts',
    limit: limits.smsMaxParts,
    actual: parts,
    message: `${chars} ${encoding} characters make ${parts} SMS parts; at most ${limits.smsMaxParts} are allowed`,
  };
}

function checkWecom(content: RenderedContent, limits: ContentLimits): LimitExceeded | undefined {
  const bytes = Buffer.byteLength(content.body, 'utf8');
  if (bytes <= limits.wecomMaxBytes) return undefined;
  return {
    field: 'body',
    unit: 'bytes',
    limit: limits.wecomMaxBytes,
    actual: bytes,
    message: `the text is ${bytes} bytes (UTF-8); WeCom takes at most ${limits.wecomMaxBytes}`,
  };
}

/**
 * A mini-program subscription message is rendered as `field: value` lines (thing1: …, time2: …;
 * delivery/providers/miniprogram.ts reads them) and WeChat limits each field by its type:
 * `thing` 20 characters, `phrase` 5, `character_string` 32... A body that is not field lines
 * (plain text for the outbox or a webhook) is not checked; empty fields are the provider's concern.
 */
function checkMiniProgramFields(content: RenderedContent): LimitExceeded | undefined {
  const fields = parseSubscriptionData(content.body);
  if (!Array.isArray(fields)) return undefined;
  for (const [name, value] of fields) {
    const problem = checkSubscriptionData([[name, value]])[0];
    const limit = problem && /over (\d+)$/.exec(problem)?.[1];
    if (!problem || !limit) continue;
    const actual = [...value].length;
    return {
      field: name,
      unit: 'chars',
      limit: Number(limit),
      actual,
      message: `mini-program field ${name} has ${actual} characters; its type takes at most ${limit}`,
    };
  }
  return undefined;
}
