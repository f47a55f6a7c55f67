import { blindIndexOf } from './encryption';
import type { Identifier } from './identifiers';
import { SENSITIVE_TYPES } from './identifiers';

/**
 * Blind index: how a sensitive identifier (phone, email) is found without storing it in clear.
 * The identity index key holds `hmac(type, value)`, so a Redis dump lists no phone numbers, yet
 * the same number always finds the same customer. customers/encryption.ts (profiles) may supply
 * its own implementation with its key; any implementation must stay stable for the life of the
 * data (a new key means re-indexing every identifier).
 */
export interface BlindIndex {
  /** A token of `[A-Za-z0-9_-]`, deterministic for (type, value). */
  hmac(type: string, value: string): string;
}

/**
 * HMAC-SHA256 over `<type>\0<value>`, its first 128 bits in base64url: the type is part of it, so
 * a phone never matches an email. The same construction and key file as TraitCipher.blindIndex
 * (customers/encryption.ts), so the index reads the same whichever of the two computes it.
 */
export class HmacBlindIndex implements BlindIndex {
  constructor(private readonly key: Buffer) {
    if (key.length < 16) throw new Error('blind index key: at least 16 bytes');
  }

  hmac(type: string, value: string): string {
    return blindIndexOf(this.key, type, value);
  }
}

/** How an identifier is written in the index: `<type>:<value>`, sensitive values as their blind index. */
export function indexedIdentifier(identifier: Identifier, blind: BlindIndex): string {
  const value = SENSITIVE_TYPES.has(identifier.type)
    ? blind.hmac(identifier.type, identifier.value)
    : identifier.value;
  return `${identifier.type}:${value}`;
}

/**
 * Keeps the plaintext of a sensitive identifier readable for the admin API (masked, or revealed),
 * encrypted at rest: customers/encryption.ts (profiles) implements it. Without one, only the blind
 * index of a phone or email is stored and the API shows the identifier without its value.
 */
export interface IdentifierSealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/** What identity needs of the profiles' cipher (customers/encryption.ts TraitCipher). */
export interface IdentityCipher {
  blindIndex(kind: string, value: string): string;
  encrypt(plaintext: string, context: string): string;
  decrypt(stored: string, context: string): string;
}

/** The additional data sealed identifiers are bound to (as trait values are to their trait name). */
const SEALED_CONTEXT = 'identity:identifier';

/** The profiles' cipher as identity's blind index: one key, one index for phone numbers everywhere. */
export function cipherBlindIndex(cipher: IdentityCipher): BlindIndex {
  return { hmac: (type, value) => cipher.blindIndex(type, value) };
}

/** The profiles' cipher sealing sensitive identifiers (AES-256-GCM under the current key). */
export function cipherSealer(cipher: IdentityCipher): IdentifierSealer {
  return {
    seal: (plaintext) => cipher.encrypt(plaintext, SEALED_CONTEXT),
    open: (sealed) => cipher.decrypt(sealed, SEALED_CONTEXT),
  };
}
