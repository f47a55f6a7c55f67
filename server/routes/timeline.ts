import express, { type Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../../audit-log/types';
import type { CustomerTimeline } from '../../audit/timeline';
import type { Access } from '../auth';
import { ApiError, formatPath, invalidRequest } from '../errors';
import { auditChange } from './audit-log';

export interface TimelineRouterOptions {
  access: Access;
  timeline: Pick<CustomerTimeline, 'build'>;
  auditLog: Pick<AuditLog, 'append'>;
}

const time = z.iso.datetime({
  offset: true,
  message: 'must be an ISO-8601 time such as 2024-05-01T20:00:00+08:00',
});

const timelineQuery = z.strictObject(
  {
    since: time.optional(),
    until: time.optional(),
    limit: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000')
      .default(100),
    reveal: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'unknown parameter: expected since, until, limit, reveal'
        : undefined,
  },
);

/**
 * `GET /v1/customers/:id/timeline` (runs:read), mounted under /v1/customers: the customer's
 * timeline across every journey (audit/timeline.ts), newest first, personal data masked.
 * `?reveal=true` (personal-data:reveal, checked by Access) unmasks it and writes an audit entry
 * `personal-data.read`; a refused or unknown-customer request writes nothing.
 */
export function timelineRouter({ access, timeline, auditLog }: TimelineRouterOptions): Router {
  const router = express.Router();

  router.get('/:id/timeline', access.require('runs:read'), async (req, res) => {
    const query = parseQuery(req.query);
    const asked = (req.params as { id: string }).id;
    const reveal = query.reveal === 'true';
    const found = await timeline.build(asked, {
      ...(query.since !== undefined && { since: new Date(query.since) }),
      ...(query.until !== undefined && { until: new Date(query.until) }),
      limit: query.limit,
      reveal,
    });
    if (!found) throw new ApiError(404, 'not_found', `no customer ${JSON.stringify(asked)}`);
    if (reveal) {
      await auditChange(auditLog, req, res, {
        action: 'personal-data.read',
        target: `customer:${found.customerId}`,
        detail: {
          what: 'timeline',
          items: found.items.length,
          ...(found.resolvedFrom !== undefined && { resolvedFrom: found.resolvedFrom }),
        },
      });
    }
    res.json(found);
  });

  return router;
}

function parseQuery(raw: unknown): z.output<typeof timelineQuery> {
  const parsed = timelineQuery.safeParse(raw);
  if (!parsed.success) {
    throw invalidRequest(
      parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: formatPath(['query', key]), message: issue.message }))
          : [{ path: formatPath(['query', ...issue.path]), message: issue.message }],
      ),
    );
  }
  const { since, until } = parsed.data;
  if (since !== undefined && until !== undefined && Date.parse(since) > Date.parse(until))
    throw invalidRequest([{ path: 'query.since', message: 'must not be later than until' }]);
  return parsed.data;
}
