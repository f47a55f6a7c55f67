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
 * A channel's check of a rendered message. The hook for limits that depend on a provider's
 * format (e.g. mini-program subscription fields: `thing` ≤ 20 characters, `phrase` ≤ 5): pass
 * `checks: { miniprogram: … }` to loadTemplates.
 */
export type ContentCheck = (content: RenderedContent, limits: ContentLimits) => LimitExceeded | undefined;

export const DEFAULT_CONTENT_CHECKS: Partial<Record<Channel, ContentCheck>> = {
  sms: checkSms,
  wecom: checkWecom,
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
