import express, { type Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../../audit-log/types';
import { CHANNELS, type Channel } from '../../language/types';
import { ALL_TOPICS, DEFAULT_TOPIC, type ConsentStore } from '../../rules/consent';
import type { Access } from '../auth';
import { jsonBody } from '../json-body';
import { auditChange } from './audit-log';
import { validateBody } from './validate-body';

export interface ConsentRouterOptions {
  access: Access;
  auditLog: AuditLog;
  consent: ConsentStore;
}

const SLUG = /^[a-z0-9][a-z0-9_-]*$/;

const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

const consentSchema = z.object({
  userId: text(256),
  channel: z.enum(CHANNELS as [Channel, ...Channel[]], {
    error: `must be one of ${CHANNELS.join(', ')}`,
  }),
  topic: z
    .string({ error: 'must be a string' })
    .max(64, 'must be at most 64 characters')
    .refine((t) => t === ALL_TOPICS || SLUG.test(t), {
      message: 'must be a lowercase slug such as `marketing`, or `*` for every topic',
    })
    .default(DEFAULT_TOPIC),
  status: z.enum(['granted', 'revoked'], { error: 'must be `granted` or `revoked`' }),
  source: z
    .string({ error: 'must be a string' })
    .max(64, 'must be at most 64 characters')
    .regex(SLUG, 'must be a lowercase slug such as `api`, `import` or `store-form`')
    .default('api'),
  timestamp: z.iso
    .datetime({ offset: true, message: 'must be an ISO-8601 time such as 2024-05-01T20:00:00+08:00' })
    .optional(),
});

/**
 * Consent over HTTP: `POST /v1/consent` (events:write) records a grant or an opt-out, in effect for
 * the next touch; `GET /v1/customers/:customerId/consent` (runs:read) shows the current state and
 * the history.
 */
export function consentRouter({ access, auditLog, consent }: ConsentRouterOptions): Router {
  const router = express.Router();

  router.post('/v1/consent', access.require('events:write'), ...jsonBody('16kb'), async (req, res) => {
    const body = validateBody(consentSchema, req.body);
    const record = await consent.record(body.userId, {
      channel: body.channel,
      topic: body.topic,
      status: body.status,
      source: body.source,
      at: body.timestamp,
    });
    await auditChange(auditLog, req, res, {
      action: 'consent.change',
      target: `customer:${body.userId}`,
      detail: { channel: body.channel, topic: body.topic, status: body.status, source: body.source },
    });
    res.json({ customerId: body.userId, consent: record });
  });

  router.get('/v1/customers/:customerId/consent', access.require('runs:read'), async (req, res) => {
    const customerId = String(req.params.customerId);
    const [current, history] = await Promise.all([consent.current(customerId), consent.history(customerId)]);
    res.json({ customerId, default: consent.policy.default, consents: current, history });
  });

  return router;
}
