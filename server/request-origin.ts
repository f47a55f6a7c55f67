import type { Request, Response } from 'express';
import type { AuditActor, AuditOrigin } from '../audit-log/types';
import { principalOf } from './auth';

/** Clients name themselves with this header: the console sends `console`, the CLI `cli`. */
export const CLIENT_HEADER = 'X-Touchpoint-Client';
const KNOWN_CLIENTS = new Set(['api', 'console', 'cli']);

/** Where a request came from, for the audit log. */
export function originOf(req: Request): AuditOrigin {
  const client = req.get(CLIENT_HEADER)?.trim().toLowerCase();
  return {
    ip: req.ip,
    userAgent: req.get('user-agent')?.slice(0, 300),
    via: client && KNOWN_CLIENTS.has(client) ? client : 'api',
  };
}

/** Who acts, for the audit log: the request's principal, and whom a shared key says it acts for. */
export function auditActorOf(req: Request, res: Response): AuditActor {
  const principal = principalOf(res);
  const onBehalfOf = req.get('X-Touchpoint-Actor')?.trim().slice(0, 200) || undefined;
  return {
    name: principal.name,
    keyId: principal.keyId,
    role: principal.role,
    ...(onBehalfOf ? { onBehalfOf } : {}),
  };
}
