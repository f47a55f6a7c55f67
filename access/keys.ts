import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The Redis keys of API keys, console sessions and publish approvals, under the installation prefix. */
export class AccessKeys {
  constructor(readonly prefix: string) {}

  /** Sorted set: key id → creation time (ms), for listing in order. */
  apiKeys(): string {
    return `${this.prefix}:access:keys`;
  }

  /** Hash: one API key's record (name, role, created, expiry, revocation); never its secret. */
  apiKey(keyId: string): string {
    return `${this.prefix}:access:key:${keyId}`;
  }

  /** Set: the SHA-256 (hex) of each secret the key has that may still be valid. */
  apiKeySecrets(keyId: string): string {
    return `${this.prefix}:access:key:${keyId}:secrets`;
  }

  /**
   * Hash {keyId, createdAt, validUntil?}: a secret, found by its SHA-256 (hex). `validUntil` is set
   * when the key is rotated (the old secret's grace); the key then also expires at that time.
   */
  secret(sha256: string): string {
    return `${this.prefix}:access:secret:${sha256}`;
  }

  /** String with a TTL until the session would have expired: the console session was signed out. */
  endedSession(sessionId: string): string {
    return `${this.prefix}:access:ended-session:${sessionId}`;
  }

  /** Sorted set: approval id → request time (ms). */
  approvals(): string {
    return `${this.prefix}:access:approvals`;
  }

  /** Hash: one publish approval (journey, exact source, who asked, status, who decided). */
  approval(approvalId: string): string {
    return `${this.prefix}:access:approval:${approvalId}`;
  }
}

/** What the API key store and the publish approvals share: Redis, their keys, a clock tests can set. */
export abstract class AccessStore {
  protected readonly keys: AccessKeys;

  constructor(
    protected readonly redis: Redis,
    prefix: string,
    protected readonly now: () => Date = () => new Date(),
  ) {
    this.keys = new AccessKeys(prefix);
  }
}

/** `<kind>_<9 random bytes, base64url>`: a new API key (`k`) or publish approval (`a`) id. */
export function newRecordId(kind: 'k' | 'a'): string {
  return `${kind}_${randomBytes(9).toString('base64url')}`;
}
