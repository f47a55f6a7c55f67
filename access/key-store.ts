import { createHash, randomBytes } from 'node:crypto';
import { isRole, type Role } from './permissions';
import type { KeyResolver, Principal } from './principal';
import { AccessStore, newRecordId } from './keys';

/** An API key as stored: who holds it and what it may do; never the secret. */
export interface ApiKeyRecord {
  /** `k_…`: names the key in the API, the audit log and console sessions. */
  id: string;
  /** The person or system holding it; recorded as "who" in histories and the audit log. */
  name: string;
  role: Role;
  createdAt: string;
  /** The name of whoever created it. */
  createdBy: string;
  expiresAt?: string;
  /** When the last rotation made the current secret. */
  rotatedAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  revokeReason?: string;
}

export interface ApiKeyView extends ApiKeyRecord {
  status: 'active' | 'expired' | 'revoked';
  /** After a rotation: until when the previous secret still works. */
  previousSecretValidUntil?: string;
}

/** A request the store refuses: no such key (404), or not in a state for it (409). */
export class KeyStoreError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'KeyStoreError';
  }
}

/** How long an old secret keeps working after a rotation, unless asked otherwise: one day. */
export const DEFAULT_GRACE_SECONDS = 86_400;
export const MAX_GRACE_SECONDS = 30 * 86_400;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `tp_<role>_<32 random bytes, base64url>`: the prefix says what a leaked key is. */
export function newSecret(role: Role): string {
  return `tp_${role}_${randomBytes(32).toString('base64url')}`;
}

/**
 * API keys in Redis. Only the SHA-256 of each secret is stored, as the name of a small hash that
 * points at the key's record, so a presented key is found with one lookup and nothing in Redis
 * lets anyone authenticate. Authentication only reads: a refused (or accepted) request writes
 * nothing. A rotation adds a secret and gives the old ones a grace period, so clients can switch
 * without downtime; a revocation takes effect at once.
 */
export class KeyStore extends AccessStore implements KeyResolver {
  async create(input: {
    name: string;
    role: Role;
    createdBy: string;
    expiresAt?: string;
  }): Promise<{ key: ApiKeyView; secret: string }> {
    const id = newRecordId('k');
    const now = this.now();
    const record: ApiKeyRecord = {
      id,
      name: input.name,
      role: input.role,
      createdAt: now.toISOString(),
      createdBy: input.createdBy,
      ...(input.expiresAt !== undefined ? { expiresAt: new Date(input.expiresAt).toISOString() } : {}),
    };
    const secret = newSecret(input.role);
    const hash = sha256Hex(secret);
    await this.redis
      .multi()
      .hset(this.keys.apiKey(id), record as unknown as Record<string, string>)
      .zadd(this.keys.apiKeys(), now.getTime(), id)
      .hset(this.keys.secret(hash), { keyId: id, createdAt: record.createdAt })
      .sadd(this.keys.apiKeySecrets(id), hash)
      .exec();
    return { key: this.view(record, []), secret };
  }

  /**
   * A new secret for the key; every older secret keeps working for `graceSeconds` more (0: stops
   * at once), so the holder can deploy the new one first. 404 unknown, 409 revoked or expired.
   */
  async rotate(
    id: string,
    { graceSeconds = DEFAULT_GRACE_SECONDS }: { graceSeconds?: number } = {},
  ): Promise<{ key: ApiKeyView; secret: string }> {
    const record = await this.record(id);
    if (!record) throw new KeyStoreError('not_found', `no API key ${JSON.stringify(id)}`);
    const status = this.statusOf(record);
    if (status !== 'active') throw new KeyStoreError('conflict', `API key ${id} is ${status}`);

    const now = this.now();
    const graceEnd = now.getTime() + graceSeconds * 1000;
    const old = await this.secrets(id);
    const secret = newSecret(record.role);
    const hash = sha256Hex(secret);
    const tx = this.redis.multi();
    for (const { hash: oldHash, validUntil } of old) {
      // A secret already in an earlier grace keeps the earlier end; none gets longer.
      const until = validUntil === undefined ? graceEnd : Math.min(validUntil, graceEnd);
      if (until <= now.getTime()) {
        tx.del(this.keys.secret(oldHash)).srem(this.keys.apiKeySecrets(id), oldHash);
      } else {
        tx.hset(this.keys.secret(oldHash), 'validUntil', new Date(until).toISOString());
        // Redis drops it when the grace ends; `validUntil` is what authentication goes by.
        tx.pexpire(this.keys.secret(oldHash), until - now.getTime());
      }
    }
    tx.hset(this.keys.secret(hash), { keyId: id, createdAt: now.toISOString() })
      .sadd(this.keys.apiKeySecrets(id), hash)
      .hset(this.keys.apiKey(id), 'rotatedAt', now.toISOString());
    await tx.exec();
    const rotated = { ...record, rotatedAt: now.toISOString() };
    return { key: this.view(rotated, await this.secrets(id)), secret };
  }

  /** Every secret of the key stops working now; the record stays (who, when, why). 409 when revoked already. */
  async revoke(id: string, { by, reason }: { by: string; reason: string }): Promise<ApiKeyView> {
    const record = await this.record(id);
    if (!record) throw new KeyStoreError('not_found', `no API key ${JSON.stringify(id)}`);
    if (record.revokedAt)
      throw new KeyStoreError('conflict', `API key ${id} was revoked at ${record.revokedAt}`);
    const revoked: ApiKeyRecord = {
      ...record,
      revokedAt: this.now().toISOString(),
      revokedBy: by,
      revokeReason: reason,
    };
    const hashes = await this.redis.smembers(this.keys.apiKeySecrets(id));
    const tx = this.redis.multi().hset(this.keys.apiKey(id), {
      revokedAt: revoked.revokedAt!,
      revokedBy: by,
      revokeReason: reason,
    });
    for (const hash of hashes) tx.del(this.keys.secret(hash));
    tx.del(this.keys.apiKeySecrets(id));
    await tx.exec();
    return this.view(revoked, []);
  }

  /** Every key, oldest first, revoked and expired ones included. */
  async list(): Promise<ApiKeyView[]> {
    const ids = await this.redis.zrange(this.keys.apiKeys(), 0, -1);
    const views = await Promise.all(ids.map((id) => this.get(id)));
    return views.filter((v): v is ApiKeyView => v !== undefined);
  }

  async get(id: string): Promise<ApiKeyView | undefined> {
    const record = await this.record(id);
    return record && this.view(record, await this.secrets(id));
  }

  async resolve(presented: string): Promise<Principal | undefined> {
    // Keys this store makes all start so; anything else (a bootstrap key from the env) is not ours.
    if (!presented.startsWith('tp_')) return undefined;
    const secret = await this.redis.hgetall(this.keys.secret(sha256Hex(presented)));
    if (!secret.keyId) return undefined;
    if (secret.validUntil && Date.parse(secret.validUntil) <= this.now().getTime()) return undefined;
    return this.byId(secret.keyId);
  }

  async byId(keyId: string): Promise<Principal | undefined> {
    if (!keyId.startsWith('k_')) return undefined;
    const record = await this.record(keyId);
    if (!record || this.statusOf(record) !== 'active') return undefined;
    return { keyId: record.id, name: record.name, role: record.role };
  }

  private async record(id: string): Promise<ApiKeyRecord | undefined> {
    const stored = await this.redis.hgetall(this.keys.apiKey(id));
    if (!stored.id || !isRole(stored.role)) return undefined;
    return stored as unknown as ApiKeyRecord;
  }

  /** The key's secrets still stored, with the end of their grace if they were rotated out. */
  private async secrets(id: string): Promise<{ hash: string; validUntil?: number }[]> {
    const hashes = await this.redis.smembers(this.keys.apiKeySecrets(id));
    const found = await Promise.all(
      hashes.map(async (hash) => {
        const until = await this.redis.hget(this.keys.secret(hash), 'validUntil');
        const exists = until !== null || (await this.redis.exists(this.keys.secret(hash))) === 1;
        return exists ? { hash, ...(until ? { validUntil: Date.parse(until) } : {}) } : undefined;
      }),
    );
    return found.filter((s): s is { hash: string; validUntil?: number } => s !== undefined);
  }

  private statusOf(record: ApiKeyRecord): ApiKeyView['status'] {
    if (record.revokedAt) return 'revoked';
    if (record.expiresAt && Date.parse(record.expiresAt) <= this.now().getTime()) return 'expired';
    return 'active';
  }

  private view(record: ApiKeyRecord, secrets: { validUntil?: number }[]): ApiKeyView {
    const now = this.now().getTime();
    const graces = secrets.map((s) => s.validUntil).filter((t): t is number => t !== undefined && t > now);
    const status = this.statusOf(record);
    return {
      ...record,
      status,
      ...(graces.length > 0 && status === 'active'
        ? { previousSecretValidUntil: new Date(Math.max(...graces)).toISOString() }
        : {}),
    };
  }
}
