import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readOrCreateKeyFile } from './key-files';

/**
 * Tokens in links sent to customers (unsubscribe, tracked links): a JSON payload, base64url,
 * with an HMAC-SHA256 over it. Not encrypted — carry ids, never personal data — but unforgeable,
 * so a link cannot be edited to unsubscribe or click for someone else.
 */
export class SignedTokens {
  constructor(private readonly secret: Buffer) {}

  sign(payload: Record<string, unknown>): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The payload, or null when the token was not made by us (or was altered). */
  verify<T extends Record<string, unknown>>(token: string): T | null {
    const [body, mac] = token.split('.');
    if (!body || !mac) return null;
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
      return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
        ? (payload as T)
        : null;
    } catch {
      return null;
    }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}

/** TOUCHPOINT_SECRET, else `<dataDir>/secret.key`, created (mode 0600) on first use. */
export function loadOrCreateSecret(dataDir: string, fromEnv?: string): Buffer {
  if (fromEnv) return Buffer.from(fromEnv, 'utf8');
  const text = readOrCreateKeyFile(dataDir, 'secret.key', () => randomBytes(32).toString('base64url'));
  return Buffer.from(text.trim(), 'base64url');
}
