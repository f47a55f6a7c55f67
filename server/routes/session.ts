import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ROLE_PERMISSIONS } from '../../access/permissions';
import type { Principal } from '../../access/principal';
import { cookieValue, SESSION_COOKIE, type ConsoleSessions } from '../../access/sessions';
import type { Access } from '../auth';
import { ApiError } from '../errors';
import { jsonBody } from '../json-body';
import { validateBody } from './validate-body';

const signInSchema = z.object({
  key: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, 'must not be empty')
    .max(500, 'must be at most 500 characters'),
});

function describe(principal: Principal) {
  return {
    keyId: principal.keyId,
    name: principal.name,
    role: principal.role,
    permissions: ROLE_PERMISSIONS[principal.role],
  };
}

/** HttpOnly (scripts cannot read it), SameSite=Strict (other sites cannot send it), Secure over HTTPS. */
function setCookie(req: Request, res: Response, value: string, maxAgeSeconds: number): void {
  const attributes = [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(req.secure ? ['Secure'] : []),
  ];
  res.append('Set-Cookie', attributes.join('; '));
}

/**
 * Console sessions (public: the key is the credential), docs/access.md:
 * - `POST /v1/session {key}`: signs in with an API key; the answer sets the `tp_session` cookie
 *   (12 h) and says who that is and what the role may do;
 * - `GET /v1/session`: who the cookie (or the presented key) is, with the role's permissions;
 * - `DELETE /v1/session`: signs out; the cookie stops working even where a copy was kept.
 * Requests with the cookie that change something must carry `X-Touchpoint-Client: console`.
 */
export function sessionRouter({ access, sessions }: { access: Access; sessions: ConsoleSessions }): Router {
  const router = express.Router();

  router.post('/', ...jsonBody('16kb'), async (req, res) => {
    const { key } = validateBody(signInSchema, req.body);
    const principal = await access.resolve(key);
    if (!principal) throw new ApiError(401, 'unauthorized', 'invalid API key');
    const { token, expiresAt } = sessions.issue(principal.keyId);
    setCookie(req, res, token, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
    res.set('Cache-Control', 'no-store');
    res.json({ ...describe(principal), expiresAt: expiresAt.toISOString() });
  });

  router.get('/', async (req, res) => {
    const { principal, session } = await access.authenticate(req);
    res.set('Cache-Control', 'no-store');
    res.json({
      ...describe(principal),
      via: session ? 'session' : 'key',
      ...(session ? { expiresAt: session.expiresAt.toISOString() } : {}),
    });
  });

  router.delete('/', async (req, res) => {
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    const session = token ? await sessions.read(token) : undefined;
    if (session) await sessions.end(session);
    setCookie(req, res, '', 0);
    res.json({ signedOut: session !== undefined });
  });

  return router;
}
