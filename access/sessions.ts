import { createHmac, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SignedTokens } from '../config/signed-tokens';
import { AccessKeys } from './keys';

/** The console's session cookie. */
export const SESSION_COOKIE = 'tp_session';
/** A console session lasts a working day; signing in again makes a new one. */
export const SESSION_TTL_MS = 12 * 3600_000;

interface SessionPayload extends Record<string, unknown> {
  kind: 'console-session';
  /** Random id: signing out records it as ended. */
  sid: string;
  keyId: string;
  /** Expiry, ms since 1970. */
  exp: number;
}

export interface ConsoleSession {
  sessionId: string;
  keyId: string;
  expiresAt: Date;
}

/**
 * Console sessions: a signed cookie holding the key's id (never its secret) and an expiry. The
 * request is then checked against the key as it is now, so a revoked key's sessions stop at once.
 * Signing out records the session id as ended until it would have expired anyway.
 *
 * Signed with a key derived from the installation secret for this purpose only, so a session
 * token is never accepted as an unsubscribe or tracked-link token (or the reverse).
 */
export class ConsoleSessions {
  private readonly tokens: SignedTokens;
  private readonly keys: AccessKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    secret: Buffer,
    private readonly options: { ttlMs?: number; now?: () => Date } = {},
  ) {
    this.tokens = new SignedTokens(
      createHmac('sha256', secret).update('touchpoint console session').digest(),
    );
    this.keys = new AccessKeys(prefix);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  issue(keyId: string): { token: string; expiresAt: Date } {
    const expiresAt = new Date(this.now().getTime() + (this.options.ttlMs ?? SESSION_TTL_MS));
    const payload: SessionPayload = {
      kind: 'console-session',
      sid: randomBytes(12).toString('base64url'),
      keyId,
      exp: expiresAt.getTime(),
    };
    return { token: this.tokens.sign(payload), expiresAt };
  }

  /** The session a cookie holds; undefined when forged, expired or signed out. Reads only. */
  async read(token: string): Promise<ConsoleSession | undefined> {
    const payload = this.tokens.verify<SessionPayload>(token);
    if (
      !payload ||
      payload.kind !== 'console-session' ||
      typeof payload.sid !== 'string' ||
      typeof payload.keyId !== 'string' ||
      typeof payload.exp !== 'number' ||
      payload.exp <= this.now().getTime()
    ) {
      return undefined;
    }
    if ((await this.redis.exists(this.keys.endedSession(payload.sid))) === 1) return undefined;
    return { sessionId: payload.sid, keyId: payload.keyId, expiresAt: new Date(payload.exp) };
  }

  /** Signs the session out: its cookie no longer works, even if someone kept a copy. */
  async end(session: ConsoleSession): Promise<void> {
    const ttl = session.expiresAt.getTime() - this.now().getTime();
    if (ttl > 0) await this.redis.set(this.keys.endedSession(session.sessionId), '1', 'PX', ttl);
  }
}

/** The value of one cookie in a `Cookie` header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}
