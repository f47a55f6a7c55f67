import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readOrCreateKeyFile } from '../config/key-files';

/**
 * Encryption at rest of sensitive traits (phone, email, id number…): AES-256-GCM, one random
 * 96-bit IV per value, the trait's name as additional authenticated data (a ciphertext moved to
 * another trait does not decrypt). A stored value reads `enc:v1:<keyId>:<base64url(iv|tag|data)>`;
 * JSON never starts with `e`, so plaintext values written before encryption was on stay readable
 * and are encrypted when next written (or by `touchpoint profiles reencrypt`).
 *
 * Keys form a ring: the first key encrypts, every key decrypts (by the id in the value), so a new
 * key can be put first while values under the old one are re-encrypted in the background.
 *
 * Lookups by a sensitive value (the phone index for SMS replies, identity's identifier index) use a
 * blind index: an HMAC-SHA256 of the normalised value under a separate key, so Redis key names
 * never hold the plaintext. The index key is not rotated with the ring (the index would have to be
 * rebuilt); keep it as long as the data.
 */

export const ENCRYPTED_PREFIX = 'enc:v1:';
/** The check value of the blind index key, beside the ring's key ids (verifyKeyRing). */
export const INDEX_CHECK_ID = '#index';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** A value that cannot be decrypted: unknown key id, wrong key material, or tampered data. */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

export class TraitCipher {
  private readonly byId: Map<string, Buffer>;

  constructor(
    private readonly ring: readonly EncryptionKey[],
    private readonly indexKey: Buffer,
  ) {
    if (ring.length === 0) throw new Error('the encryption key ring is empty');
    if (indexKey.length < 16) throw new Error('the blind index key must be at least 16 bytes');
    this.byId = new Map();
    for (const { id, key } of ring) {
      if (!KEY_ID.test(id)) throw new Error(`encryption key id "${id}": use letters, digits, - and _ (≤ 32)`);
      if (key.length !== KEY_BYTES)
        throw new Error(`encryption key "${id}": expected ${KEY_BYTES} bytes (base64), got ${key.length}`);
      if (this.byId.has(id)) throw new Error(`encryption key id "${id}" appears twice`);
      this.byId.set(id, key);
    }
  }

  /** The id of the key new values are encrypted with (the ring's first). */
  get currentKeyId(): string {
    return this.ring[0]!.id;
  }

  get keyIds(): string[] {
    return this.ring.map((k) => k.id);
  }

  /** `plaintext` encrypted under the current key, bound to `context` (the trait name). */
  encrypt(plaintext: string, context: string): string {
    const { id, key } = this.ring[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${ENCRYPTED_PREFIX}${id}:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url')}`;
  }

  /** The plaintext of a value `encrypt` made; throws DecryptionError saying why it cannot. */
  decrypt(stored: string, context: string): string {
    const keyId = keyIdOf(stored);
    if (keyId === undefined) throw new DecryptionError(`${context}: not an encrypted value`);
    const key = this.byId.get(keyId);
    if (!key)
      throw new DecryptionError(
        `${context}: encrypted with key "${keyId}", which is not in the key ring (${this.keyIds.join(', ')}); ` +
          'add it to TOUCHPOINT_ENCRYPTION_KEYS (after the current key) until `touchpoint profiles reencrypt` has run',
      );
    const raw = Buffer.from(stored.slice(ENCRYPTED_PREFIX.length + keyId.length + 1), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new DecryptionError(`${context}: truncated encrypted value`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new DecryptionError(
        `${context}: cannot decrypt with key "${keyId}": the key's bytes are not the ones it was encrypted with, or the value was altered`,
      );
    }
  }

  /** Whether the value is encrypted under a key other than the current one (reencrypt's work). */
  isStale(stored: string): boolean {
    const id = keyIdOf(stored);
    return id !== undefined && id !== this.currentKeyId;
  }

  /** Per key id (and `#index` for the blind index key): an HMAC of a constant, to spot a wrong key. */
  checkValues(): [string, string][] {
    const check = (key: Buffer) =>
      createHmac('sha256', key).update('touchpoint key check').digest().subarray(0, 12).toString('base64url');
    return [
      ...this.ring.map(({ id, key }): [string, string] => [id, check(key)]),
      [INDEX_CHECK_ID, check(this.indexKey)],
    ];
  }

  /**
   * The blind index of a (normalised) value of one kind (`phone`, `email`…): HMAC-SHA256 under
   * the index key, base64url, 128 bits. Equal values of one kind meet; nothing else is learnt.
   */
  blindIndex(kind: string, value: string): string {
    return blindIndexOf(this.indexKey, kind, value);
  }
}

/**
 * HMAC-SHA256 over `<kind>\0<value>`, its first 128 bits in base64url: the kind is part of it,
 * so a phone never matches an email with the same text.
 */
export function blindIndexOf(key: Buffer, kind: string, value: string): string {
  return createHmac('sha256', key)
    .update(`${kind}\u0000${value}`, 'utf8')
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

/** Whether a stored hash field holds an encrypted value. */
export function isEncrypted(stored: string): boolean {
  return stored.startsWith(ENCRYPTED_PREFIX);
}

/** The key id of an encrypted value; undefined for anything else. */
export function keyIdOf(stored: string): string | undefined {
  if (!isEncrypted(stored)) return undefined;
  const end = stored.indexOf(':', ENCRYPTED_PREFIX.length);
  return end < 0 ? undefined : stored.slice(ENCRYPTED_PREFIX.length, end);
}

/** `id:base64key[,id:base64key…]` (commas or new lines; `#` comments in files); first = current. */
export function parseKeyRing(text: string, source = 'TOUCHPOINT_ENCRYPTION_KEYS'): EncryptionKey[] {
  const entries = text
    .split(/[,\n]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error(`${source}: no keys (expected id:base64key[,id:base64key…])`);
  return entries.map((entry) => {
    const at = entry.indexOf(':');
    if (at <= 0) throw new Error(`${source}: "${entry.slice(0, 8)}…" is not id:base64key`);
    const id = entry.slice(0, at);
    // Node's base64 decoder takes the URL-safe alphabet too.
    const key = Buffer.from(entry.slice(at + 1), 'base64');
    if (!KEY_ID.test(id)) throw new Error(`${source}: key id "${id}": use letters, digits, - and _ (≤ 32)`);
    if (key.length !== KEY_BYTES)
      throw new Error(
        `${source}: key "${id}" is ${key.length} bytes; AES-256 needs ${KEY_BYTES} (openssl rand -base64 32)`,
      );
    return { id, key };
  });
}

/** A fresh key line for the ring: `<id>:<base64 of 32 random bytes>`; id `k<yyyymmdd>` by default. */
export function newKeyLine(id = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

export interface EncryptionEnv {
  /** TOUCHPOINT_ENCRYPTION_KEYS */
  keys?: string;
  /** TOUCHPOINT_BLIND_INDEX_KEY (base64, ≥ 16 bytes) */
  indexKey?: string;
}

/**
 * The installation's cipher: keys from TOUCHPOINT_ENCRYPTION_KEYS, else `<dataDir>/encryption.keys`
 * (created with one key, mode 0600, on first use); the blind index key from
 * TOUCHPOINT_BLIND_INDEX_KEY, else `<dataDir>/blind-index.key` (created likewise). Processes on
 * several hosts must share both (set the variables), as they share TOUCHPOINT_SECRET.
 */
export function loadOrCreateCipher(dataDir: string, env: EncryptionEnv = {}): TraitCipher {
  return cipherFrom(env, (name, make) => readOrCreateKeyFile(dataDir, name, make));
}

/** As loadOrCreateCipher, but a missing key file is an error (tools must not invent keys). */
export function loadCipher(dataDir: string, env: EncryptionEnv = {}): TraitCipher {
  return cipherFrom(env, (name) => {
    const file = path.join(dataDir, name);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new Error(
        `no encryption keys: set TOUCHPOINT_ENCRYPTION_KEYS and TOUCHPOINT_BLIND_INDEX_KEY as the server has them, or run where ${file} is`,
      );
    }
  });
}

function cipherFrom(env: EncryptionEnv, read: (name: string, make: () => string) => string): TraitCipher {
  const ring = env.keys
    ? parseKeyRing(env.keys)
    : parseKeyRing(
        read('encryption.keys', () => `${newKeyLine('k1')}\n`),
        'encryption.keys',
      );
  const indexText = env.indexKey ?? read('blind-index.key', () => randomBytes(32).toString('base64'));
  const indexKey = Buffer.from(indexText.trim(), 'base64');
  if (indexKey.length < 16)
    throw new Error(
      'TOUCHPOINT_BLIND_INDEX_KEY: expected at least 16 bytes, base64 (openssl rand -base64 32)',
    );
  return new TraitCipher(ring, indexKey);
}

/** The environment's encryption variables. */
export function encryptionEnv(env: NodeJS.ProcessEnv = process.env): EncryptionEnv {
  return {
    ...(env.TOUCHPOINT_ENCRYPTION_KEYS ? { keys: env.TOUCHPOINT_ENCRYPTION_KEYS } : {}),
    ...(env.TOUCHPOINT_BLIND_INDEX_KEY ? { indexKey: env.TOUCHPOINT_BLIND_INDEX_KEY } : {}),
  };
}

/**
 * Checks the ring against the check values stored by earlier processes (and stores those of new
 * key ids): a key id whose bytes differ from the ones data was written with is refused at once,
 * with a message naming it, instead of failing later on every read (or worse, writing values no
 * other process can read). Same for the blind index key (its check is stored under `#index`).
 */
export async function verifyKeyRing(
  redis: {
    hsetnx(key: string, field: string, value: string): Promise<number>;
    hget(key: string, field: string): Promise<string | null>;
  },
  checksKey: string,
  cipher: TraitCipher,
): Promise<void> {
  for (const [id, check] of cipher.checkValues()) {
    await redis.hsetnx(checksKey, id, check);
    const stored = await redis.hget(checksKey, id);
    if (stored !== check) {
      throw new Error(
        id === INDEX_CHECK_ID
          ? 'the blind index key (TOUCHPOINT_BLIND_INDEX_KEY or data/blind-index.key) is not the one this installation’s phone index was built with'
          : `encryption key "${id}" has other bytes than the key "${id}" this installation’s data was encrypted with; fix TOUCHPOINT_ENCRYPTION_KEYS (or data/encryption.keys)`,
      );
    }
  }
}
