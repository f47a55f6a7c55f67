import { createHash } from 'node:crypto';

/*
 * The runs listing's cursor: Temporal's next-page token, opaque to clients (base64url), prefixed
 * with a short hash of the query it belongs to, so a cursor replayed with other filters is
 * refused instead of paging through the wrong list.
 */

const TAG_BYTES = 6;

/** A cursor that is not one of ours, or belongs to another query (the API answers 400). */
export class InvalidCursor extends Error {
  override name = 'InvalidCursor';
}

function tag(query: string): Buffer {
  return createHash('sha256').update(query).digest().subarray(0, TAG_BYTES);
}

export function encodeCursor(token: Uint8Array, query: string): string {
  return Buffer.concat([tag(query), Buffer.from(token)]).toString('base64url');
}

export function decodeCursor(cursor: string, query: string): Uint8Array {
  const bytes = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url') : Buffer.alloc(0);
  if (bytes.length <= TAG_BYTES) throw new InvalidCursor('is not a cursor this API returned');
  if (!bytes.subarray(0, TAG_BYTES).equals(tag(query)))
    throw new InvalidCursor('belongs to a listing with other filters: start again without a cursor');
  return bytes.subarray(TAG_BYTES);
}
