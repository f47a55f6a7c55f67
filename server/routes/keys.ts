import express, { type Router } from 'express';
import { z } from 'zod';
import {
  DEFAULT_GRACE_SECONDS,
  KeyStoreError,
  MAX_GRACE_SECONDS,
  type KeyStore,
} from '../../access/key-store';
import { ROLES, type Role } from '../../access/permissions';
import type { AuditLog } from '../../audit-log/types';
import type { Access } from '../auth';
import { ApiError } from '../errors';
import { jsonBody } from '../json-body';
import { auditChange } from './audit-log';
import { actorOf, optionalJson } from './journeys/shared';
import { validateBody } from './validate-body';

const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

const createSchema = z.object({
  /** The person or system that will hold the key: who the audit log and histories name. */
  name: text(100).refine((name) => !/[\p{Cc}]/u.test(name), 'must be printable characters'),
  role: z.enum(ROLES as unknown as [Role, ...Role[]], { error: `must be one of ${ROLES.join(', ')}` }),
  expiresAt: z.iso
    .datetime({ offset: true, message: 'must be an ISO-8601 time such as 2026-01-01T00:00:00Z' })
    .refine((at) => Date.parse(at) > Date.now(), 'must be in the future')
    .optional(),
});

const rotateSchema = z.object({
  graceSeconds: z
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(0, 'must not be negative')
    .max(MAX_GRACE_SECONDS, `must be at most ${MAX_GRACE_SECONDS} (30 days)`)
    .default(DEFAULT_GRACE_SECONDS),
});

const revokeSchema = z.object({ reason: text(1000) });

function keyStoreError(err: unknown): unknown {
  if (!(err instanceof KeyStoreError)) return err;
  return err.kind === 'not_found'
    ? new ApiError(404, 'not_found', err.message)
    : new ApiError(409, 'conflict', err.message);
}

/**
 * API keys (keys:manage), docs/access.md: `GET /v1/keys`, `POST /v1/keys {name, role, expiresAt?}`
 * (201, the secret shown this once), `POST /v1/keys/:id/rotate {graceSeconds?}` (a new secret; the
 * old one works for the grace, default a day) and `DELETE /v1/keys/:id {reason}` (at once). Each
 * change is written to the audit log; secrets never are.
 */
export function keysRouter({
  access,
  keyStore,
  auditLog,
}: {
  access: Access;
  keyStore: KeyStore;
  auditLog: AuditLog;
}): Router {
  const router = express.Router();
  const manage = access.require('keys:manage');

  router.get('/', manage, async (_req, res) => {
    res.json({ keys: await keyStore.list() });
  });

  router.post('/', manage, ...jsonBody('16kb'), async (req, res) => {
    const body = validateBody(createSchema, req.body);
    const { key, secret } = await keyStore.create({ ...body, createdBy: actorOf(req, res) });
    await auditChange(auditLog, req, res, {
      action: 'key.create',
      target: `key:${key.id}`,
      detail: { name: key.name, role: key.role, ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}) },
    });
    res.status(201).location(`/v1/keys/${key.id}`).json({ key, secret });
  });

  router.post('/:id/rotate', manage, optionalJson, express.json({ limit: '16kb' }), async (req, res) => {
    const id = String(req.params.id);
    const { graceSeconds } = validateBody(rotateSchema, req.body);
    const rotated = await keyStore.rotate(id, { graceSeconds }).catch((err: unknown) => {
      throw keyStoreError(err);
    });
    await auditChange(auditLog, req, res, {
      action: 'key.rotate',
      target: `key:${id}`,
      detail: {
        graceSeconds,
        ...(rotated.key.previousSecretValidUntil
          ? { previousSecretValidUntil: rotated.key.previousSecretValidUntil }
          : {}),
      },
    });
    res.json(rotated);
  });

  router.delete('/:id', manage, optionalJson, express.json({ limit: '16kb' }), async (req, res) => {
    const id = String(req.params.id);
    const { reason } = validateBody(revokeSchema, req.body);
    const key = await keyStore.revoke(id, { by: actorOf(req, res), reason }).catch((err: unknown) => {
      throw keyStoreError(err);
    });
    await auditChange(auditLog, req, res, {
      action: 'key.revoke',
      target: `key:${id}`,
      reason,
      detail: { name: key.name, role: key.role },
    });
    res.json({ key });
  });

  return router;
}
