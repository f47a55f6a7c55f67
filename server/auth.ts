import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { roleCan, type Permission } from '../access/permissions';
import type { KeyResolver, Principal } from '../access/principal';
import type { ApiKeys } from '../config/keys';
import { ApiError } from './errors';

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

const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * Middleware that lets a request through only with one of `acceptedKeys`. Keys are compared as
 * SHA-256 digests with timingSafeEqual, so neither content nor length leaks through timing; every
 * accepted key is checked so the time does not depend on which one matched.
 */
export function requireKey(
  acceptedKeys: readonly string[],
  { challenge, hint }: { challenge: string; hint: string },
): RequestHandler {
  const accepted = acceptedKeys.map(digest);
  const unauthorized = (message: string) =>
    new ApiError(401, 'unauthorized', message, { headers: { 'WWW-Authenticate': challenge } });

  return (req, _res, next) => {
    const key = presentedKey(req.get('authorization'));
    if (key === undefined) return next(unauthorized(`missing API key: ${hint}`));
    const given = digest(key);
    let ok = false;
    for (const expected of accepted) ok = timingSafeEqual(given, expected) || ok;
    next(ok ? undefined : unauthorized('invalid API key'));
  };
}

/** Ingestion takes the write key, Segment style; the admin key is a superset and may ingest too. */
export function ingestAuth(keys: ApiKeys): RequestHandler {
  return requireKey([keys.writeKey, keys.adminKey], {
    challenge: 'Basic realm="touchpoint", Bearer realm="touchpoint"',
    hint: 'send the write key as the HTTP Basic username or as a Bearer token',
  });
}

/** Everything else (journeys, runs) needs the admin key. */
export function adminAuth(keys: ApiKeys): RequestHandler {
  return requireKey([keys.adminKey], {
    challenge: 'Bearer realm="touchpoint-admin"',
    hint: 'send the admin key as a Bearer token',
  });
}

/** The bootstrap keys (env or data/keys.json): the write key ingests, the admin key is admin. */
export class BootstrapKeys implements KeyResolver {
  private readonly entries: { digest: Buffer; principal: Principal }[];

  constructor(keys: ApiKeys) {
    this.entries = [
      {
        digest: digest(keys.adminKey),
        principal: { keyId: 'bootstrap-admin', name: 'admin', role: 'admin' },
      },
      {
        digest: digest(keys.writeKey),
        principal: { keyId: 'bootstrap-write', name: 'write-key', role: 'ingest' },
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
}

/** The principal `Access.require` put on the response; throws if a route forgot to require one. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('route has no Access.require(...) in front of it');
  return principal;
}

/**
 * Authentication and permission checks for routes: `router.post('/x', access.require('runs:operate'), …)`.
 * Resolvers are asked in order; the first that knows the key decides.
 */
export class Access {
  constructor(private readonly resolvers: readonly KeyResolver[]) {}

  /** 401 without a known key, 403 when the key's role lacks `permission`; else `res.locals.principal`. */
  require(permission: Permission): RequestHandler {
    return async (req, res, next) => {
      try {
        const principal = await this.authenticate(req);
        if (!roleCan(principal.role, permission)) {
          throw new ApiError(403, 'forbidden', `role ${principal.role} may not ${permission}`);
        }
        res.locals.principal = principal;
        next();
      } catch (err) {
        next(err);
      }
    };
  }

  private async authenticate(req: Request): Promise<Principal> {
    const key = presentedKey(req.get('authorization'));
    if (key === undefined) {
      throw new ApiError(
        401,
        'unauthorized',
        'missing API key: send it as a Bearer token (or as the HTTP Basic username)',
        {
          headers: { 'WWW-Authenticate': 'Basic realm="touchpoint", Bearer realm="touchpoint"' },
        },
      );
    }
    for (const resolver of this.resolvers) {
      const principal = await resolver.resolve(key);
      if (principal) return principal;
    }
    throw new ApiError(401, 'unauthorized', 'invalid API key', {
      headers: { 'WWW-Authenticate': 'Basic realm="touchpoint", Bearer realm="touchpoint"' },
    });
  }
}
