import { createHash } from 'node:crypto';
import type { AuditEntry } from './types';

/** The prevHash of entry 1. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with every object's keys sorted, so the same entry always hashes the same whatever order
 * its fields were written in. `undefined` fields are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const fields = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${fields.join(',')}}`;
}

/** SHA-256 (hex) of the entry's prevHash followed by the canonical JSON of every field but `hash`. */
export function entryHash(entry: Omit<AuditEntry, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...content } = entry;
  return createHash('sha256').update(entry.prevHash).update(canonicalJson(content)).digest('hex');
}
