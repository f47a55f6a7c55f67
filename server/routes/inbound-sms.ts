import express, { type Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../../audit-log/types';
import type { ProfileStore } from '../../customers/profiles';
import { ALL_TOPICS, type ConsentStore } from '../../rules/consent';
import { stopKeyword } from '../../rules/sms-keywords';
import { principalOf, type Access } from '../auth';
import { jsonBody } from '../json-body';
import { originOf } from '../request-origin';
import { validateBody } from './validate-body';

export interface InboundSmsRouterOptions {
  access: Access;
  /** Each opt-out is appended as the customer's own `consent.change`, via `sms-reply`. */
  auditLog: AuditLog;
  consent: ConsentStore;
  profiles: ProfileStore;
  /** Replies that opt out (rules.consent.smsKeywords). */
  keywords: readonly string[];
}

const inboundSchema = z.object({
  from: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(32, 'must be at most 32 characters'),
  text: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .max(2000, 'must be at most 2000 characters'),
});

/**
 * `POST /v1/inbound/sms` (events:write): the SMS gateway forwards each reply as `{from, text}`. A
 * stop keyword (TD, 退订, STOP, ...) revokes SMS consent for every topic of every customer whose
 * `phone` is that number, at once. The answer says whether it was an opt-out, never who matched.
 * Other fields a gateway sends are ignored.
 */
export function inboundSmsRouter({
  access,
  auditLog,
  consent,
  profiles,
  keywords,
}: InboundSmsRouterOptions): Router {
  const router = express.Router();
  router.post('/v1/inbound/sms', access.require('events:write'), ...jsonBody('16kb'), async (req, res) => {
    const { from, text } = validateBody(inboundSchema, req.body, { allowUnknown: true });
    const keyword = stopKeyword(text, keywords);
    if (!keyword) {
      res.json({ optOut: false });
      return;
    }
    const customers = await profiles.customersByPhone(from);
    for (const customerId of customers) {
      await consent.record(customerId, {
        channel: 'sms',
        topic: ALL_TOPICS,
        status: 'revoked',
        source: 'sms-reply',
      });
      // The customer acted; the gateway only passed the reply on (its key names it). No number here.
      await auditLog.append({
        actor: { name: customerId, role: 'customer' },
        action: 'consent.change',
        target: `customer:${customerId}`,
        detail: {
          channel: 'sms',
          topic: ALL_TOPICS,
          status: 'revoked',
          keyword,
          gateway: principalOf(res).name,
        },
        from: { ...originOf(req), via: 'sms-reply' },
      });
    }
    res.json({ optOut: true, keyword });
  });
  return router;
}
