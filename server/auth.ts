import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
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
