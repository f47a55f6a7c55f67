import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { roleCan, type Permission } from '../access/permissions';
import type { KeyResolver, Principal } from '../access/principal';
import { cookieValue, SESSION_COOKIE, type ConsoleSession, type ConsoleSessions } from '../access/sessions';
import { keyDigests, type BootstrapKeySet } from '../config/keys';
import { ApiError } from './errors';
import { CLIENT_HEADER } from './request-origin';

/**
 * The key a request presents: `Authorization: Bearer <key>`, or HTTP Basic with the key as the
 * username and an empty password (Segment's HTTP API; a missing colon is tolerated as Segment does).
 */
export function presentedKey(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  const credentials = match[2]!;
  if (scheme === 'bearer') return credentials;
  if (scheme === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const username = decoded.split(':', 1)[0];
    return username || undefined;
  }
  return undefined;
}

export const BOOTSTRAP_ADMIN_KEY_ID = 'bootstrap-admin';
export const BOOTSTRAP_WRITE_KEY_ID = 'bootstrap-write';

const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * The bootstrap keys (env, or the SHA-256 hashes in data/keys.json): the write key ingests as
 * `write-key`, the admin key is `admin`. They work beside the keys in the key store and cannot be
 * revoked through the API (change the env or delete keys.json and restart).
 */
export class BootstrapKeys implements KeyResolver {
  private readonly entries: { digest: Buffer; principal: Principal }[];

  constructor(keys: BootstrapKeySet) {
    const hashes = keyDigests(keys);
    this.entries = [
      {
        digest: Buffer.from(hashes.adminKeySha256, 'hex'),
        principal: { keyId: BOOTSTRAP_ADMIN_KEY_ID, name: 'admin', role: 'admin' },
      },
      {
        digest: Buffer.from(hashes.writeKeySha256, 'hex'),
        principal: { keyId: BOOTSTRAP_WRITE_KEY_ID, name: 'write-key', role: 'ingest' },
      },
    ];
  }

  async resolve(presented: string): Promise<Principal | undefined> {
    const given = digest(presented);
    let found: Principal | undefined;
    // Every entry is compared so the time does not depend on which one matched.
    for (const entry of this.entries) if (timingSafeEqual(given, entry.digest)) found = entry.principal;
    return found;
  }

  async byId(keyId: string): Promise<Principal | undefined> {
    return this.entries.find((e) => e.principal.keyId === keyId)?.principal;
  }
}

/** The principal `Access.require` put on the response; throws if a route forgot to require one. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('route has no Access.require(...) in front of it');
  return principal;
}

/** The 401 challenge: ingestion also takes HTTP Basic (Segment's HTTP API). */
function unauthorized(permission: Permission | undefined, message: string): ApiError {
  const challenge =
    permission === 'events:write'
      ? 'Basic realm="touchpoint", Bearer realm="touchpoint"'
      : 'Bearer realm="touchpoint"';
  return new ApiError(401, 'unauthorized', message, { headers: { 'WWW-Authenticate': challenge } });
}

function missingKey(permission: Permission | undefined): string {
  return permission === 'events:write'
    ? 'missing API key: send the write key as the HTTP Basic username or as a Bearer token'
    : 'missing API key: send an API key as a Bearer token (or sign in to the console)';
}

/** Methods that change nothing: a session cookie needs no CSRF header for them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Who a request acts as, and the console session it came with (if it came with one). */
export interface Authenticated {
  principal: Principal;
  session?: ConsoleSession;
}

/**
 * Authentication and permission checks for routes: `router.post('/x', access.require('runs:operate'), …)`.
 * A request presents an API key (`Authorization`), or else the console's session cookie. Resolvers
 * are asked in order; the first that knows the key decides. Checking writes nothing.
 */
export class Access {
  constructor(
    private readonly resolvers: readonly KeyResolver[],
    private readonly sessions?: ConsoleSessions,
  ) {}

  /**
   * 401 without a known key or live session, 403 when the role lacks `permission` (or asks
   * `?reveal=true` without `personal-data:reveal`, or a cookie-authenticated change comes without
   * `X-Touchpoint-Client: console`); else `res.locals.principal` is set.
   */
  require(permission: Permission): RequestHandler {
    return async (req, res, next) => {
      try {
        const { principal } = await this.authenticate(req, permission);
        if (!roleCan(principal.role, permission)) {
          throw new ApiError(403, 'forbidden', `role ${principal.role} may not ${permission}`);
        }
        if (req.query.reveal === 'true' && !roleCan(principal.role, 'personal-data:reveal')) {
          throw new ApiError(
            403,
            'forbidden',
            `role ${principal.role} may not personal-data:reveal; ask without ?reveal=true for masked data`,
          );
        }
        res.locals.principal = principal;
        next();
      } catch (err) {
        next(err);
      }
    };
  }

  /** The principal a presented key belongs to, or undefined. */
  async resolve(key: string): Promise<Principal | undefined> {
    for (const resolver of this.resolvers) {
      const principal = await resolver.resolve(key);
      if (principal) return principal;
    }
    return undefined;
  }

  /** The principal of a key by its id (a session's key), or undefined when revoked / expired / unknown. */
  async byId(keyId: string): Promise<Principal | undefined> {
    for (const resolver of this.resolvers) {
      const principal = await resolver.byId(keyId);
      if (principal) return principal;
    }
    return undefined;
  }

  /** Who the request is: by its API key, else by its session cookie; 401 (and the CSRF 403) as `require`. */
  async authenticate(req: Request, permission?: Permission): Promise<Authenticated> {
    const authorization = req.get('authorization');
    const cookie = this.sessions && cookieValue(req.get('cookie'), SESSION_COOKIE);
    if (authorization === undefined && cookie) return this.bySession(req, cookie);
    const key = presentedKey(authorization);
    if (key === undefined) throw unauthorized(permission, missingKey(permission));
    const principal = await this.resolve(key);
    if (!principal) throw unauthorized(permission, 'invalid API key');
    return { principal };
  }

  private async bySession(req: Request, cookie: string): Promise<Authenticated> {
    const session = await this.sessions!.read(cookie);
    const principal = session && (await this.byId(session.keyId));
    if (!session || !principal) {
      throw unauthorized(undefined, 'the console session has expired or its key was revoked: sign in again');
    }
    // A browser sends cookies along with requests other sites make it send; only the console
    // sets this header (a cross-site form cannot), so a change must carry it.
    if (!SAFE_METHODS.has(req.method) && req.get(CLIENT_HEADER)?.trim().toLowerCase() !== 'console') {
      throw new ApiError(
        403,
        'forbidden',
        `a change made with the console session must carry ${CLIENT_HEADER}: console`,
      );
    }
    return { principal, session };
  }
}
