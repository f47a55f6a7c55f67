import { createHash } from 'node:crypto';

/** What `touchpoint import` loads: members (identify), orders (order_completed) or any events. */
export const IMPORT_KINDS = ['members', 'orders', 'events'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

export const IMPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** One message of a `/v1/batch` body, as a Segment client sends it. */
export type BatchMessage =
  | {
      type: 'identify';
      messageId: string;
      userId?: string;
      anonymousId?: string;
      timestamp?: string;
      traits: Record<string, unknown>;
      context?: Record<string, unknown>;
    }
  | {
      type: 'track';
      messageId: string;
      userId?: string;
      anonymousId?: string;
      timestamp?: string;
      event: string;
      properties: Record<string, unknown>;
      context?: Record<string, unknown>;
    };

/** A row of the input: its first line in the file, and its fields (CSV: by header; JSONL: the object). */
export interface InputRow {
  line: number;
  fields: Record<string, unknown>;
}

/** What every row mapping needs besides the row. */
export interface MappingContext {
  /** Where times without an offset are (IANA zone). */
  timeZone: string;
  /** `<sha256 of the file's first MiB, 16 hex>`: messageIds of rows without a natural key. */
  fileKey: string;
  /** Keys the HMAC that stands for a phone or email in an anonymousId (bulk/identifiers.ts subjectOf). */
  pseudonymKey: string;
}

/**
 * The messageId of a row with a natural key (order id, member id, the source's messageId). A key
 * too long for the API's 256-character ids is replaced by its hash.
 */
export function naturalMessageId(kind: ImportKind, key: string): string {
  const bounded = key.length > 200 ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
  return `import:${kind}:${bounded}`;
}

/**
 * The messageId of a row without one: its line in the file. The file key is a hash of the file's
 * head, not of all of it, so that it is known before the first batch (no extra pass over a
 * 10-million-row file) and stays the same when an export is appended to and imported again.
 */
export function lineMessageId(kind: ImportKind, ctx: MappingContext, line: number): string {
  return `import:${kind}:${ctx.fileKey}:${line}`;
}

/** A short stable hash of a JSON value (member rows: a changed row is a new message). */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}
