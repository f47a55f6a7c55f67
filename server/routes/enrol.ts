import { createHash } from 'node:crypto';
import express, { type Router } from 'express';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { AuditLog } from '../../audit-log/types';
import { describeEnrolment, MAX_RATE_PER_SECOND, type SegmentEnrolments } from '../../bulk/enrolment';
import type { Journey } from '../../language/types';
import type { EnrolEvent, IngestEvent } from '../../queues/events';
import type { Access } from '../auth';
import { ApiError } from '../errors';
import { enqueueEvents } from '../ingest/enqueue';
import { jsonObject } from '../ingest/json-object';
import { MAX_ID_LENGTH } from '../ingest/schemas';
import { jsonBody } from '../json-body';
import { auditChange } from './audit-log';
import { validateBody } from './validate-body';

/** Customers per enrolment request; larger lists are sent in several requests. */
export const MAX_ENROL_CUSTOMERS = 10_000;

export interface EnrolRouterOptions {
  access: Access;
  /** Each accepted enrolment request is appended (`enrolment.start`). */
  auditLog: AuditLog;
  eventsQueue: Queue<IngestEvent>;
  /** The journeys that exist now; `isOpen` (when given) refuses enrolment into a closed one with 409. */
  journeys: { get(id: string): Journey | undefined; isOpen?(id: string): boolean };
  enqueueTimeoutMs?: number;
  /** Bulk enrolment of a segment (bulk/enrolment.ts); without it `{segment}` bodies answer 404. */
  enrolments?: Pick<SegmentEnrolments, 'create' | 'get' | 'hasSegment'>;
}

const customerId = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine((id) => id.trim() === id, 'must not start or end with white space');

const enrolSchema = z.object({
  customers: z
    .array(customerId, { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an array') })
    .min(1, 'must hold at least one customer id')
    .max(MAX_ENROL_CUSTOMERS, `must hold at most ${MAX_ENROL_CUSTOMERS} customer ids`),
  /** Properties of each run's entry event (`journey_enrolled`), for the journey's templates and conditions. */
  properties: jsonObject.optional(),
});

/** The default pace of a segment enrolment, in enrol events per second. */
export const DEFAULT_RATE_PER_SECOND = 100;

const segmentEnrolSchema = z.object({
  segment: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(MAX_ID_LENGTH),
  ratePerSecond: z
    .number({ error: 'must be a number' })
    .positive('must be more than 0')
    .max(MAX_RATE_PER_SECOND, `must be at most ${MAX_RATE_PER_SECOND}`)
    .default(DEFAULT_RATE_PER_SECOND),
  properties: jsonObject.optional(),
});

const MAX_REQUEST_ID_LENGTH = 200;

/**
 * `POST /v1/journeys/:id/enrol {segment, ratePerSecond?, properties?}` (journeys:enrol): enrols every
 * member of the segment, at most `ratePerSecond` (default 100) per second, in a background job
 * (bulk/enrolment.ts). 202 `{enrolment}` with its id; `GET /v1/enrolments/:id` tells its progress.
 * With an `Idempotency-Key`, a repeated request answers the same enrolment instead of a new one.
 *
 * `POST /v1/journeys/:id/enrol {customers: [...], properties?}` (journeys:enrol): puts one `enrol` event
 * per distinct customer on the `events` queue, routed into that journey through admission
 * (router/route-event.ts). 202 `{queued}` once Redis holds them.
 *
 * The messageIds are `enrol:<journey>:<request>:<customer>`, where `<request>` is the
 * `Idempotency-Key` header or else a hash of the body: a retried request queues nobody twice.
 * Whether a customer then enters is admission's decision (re-entry, limit, cap), counted as
 * `refused:<reason>` in the journey's stats.
 */
export function enrolRouter({
  access,
  auditLog,
  eventsQueue,
  journeys,
  enqueueTimeoutMs = 10_000,
  enrolments,
}: EnrolRouterOptions): Router {
  const router = express.Router();

  router.post('/:id/enrol', access.require('journeys:enrol'), ...jsonBody('1mb'), async (req, res) => {
    const journeyId = (req.params as { id: string }).id;
    const journey = journeys.get(journeyId);
    if (!journey) throw new ApiError(404, 'not_found', `no journey ${JSON.stringify(journeyId)}`);
    const bySegment = typeof req.body === 'object' && req.body !== null && 'segment' in req.body;
    const segmentBody = bySegment ? validateBody(segmentEnrolSchema, req.body) : undefined;
    const body = bySegment ? undefined : validateBody(enrolSchema, req.body);
    const requestKey = req.get('idempotency-key');
    if (requestKey !== undefined && (requestKey === '' || requestKey.length > MAX_REQUEST_ID_LENGTH)) {
      throw new ApiError(
        400,
        'invalid_request',
        `Idempotency-Key must be 1 to ${MAX_REQUEST_ID_LENGTH} characters`,
      );
    }
    if (journeys.isOpen && !journeys.isOpen(journeyId)) {
      throw new ApiError(
        409,
        'journey_closed',
        `journey ${JSON.stringify(journeyId)} takes no new entries (not published, paused or stopped)`,
      );
    }
    if (segmentBody) {
      if (!enrolments)
        throw new ApiError(404, 'not_found', 'segment enrolment is not available on this server');
      if (!enrolments.hasSegment(segmentBody.segment))
        throw new ApiError(404, 'not_found', `no segment ${JSON.stringify(segmentBody.segment)}`);
      const { record, created } = await enrolments.create({
        journeyId,
        segment: segmentBody.segment,
        ratePerSecond: segmentBody.ratePerSecond,
        properties: segmentBody.properties,
        idempotencyKey: requestKey,
      });
      // The same Idempotency-Key again answers the enrolment it started: nothing new to record.
      if (created) {
        await auditChange(auditLog, req, res, {
          action: 'enrolment.start',
          target: `enrolment:${record.id}`,
          detail: { journeyId, segment: segmentBody.segment, ratePerSecond: segmentBody.ratePerSecond },
        });
      }
      res
        .status(202)
        .location(`/v1/enrolments/${record.id}`)
        .json({ enrolment: { ...describeEnrolment(record), created } });
      return;
    }
    if (!body) return;
    const customers = [...new Set(body.customers)];
    const request =
      requestKey ?? hashOf({ customers: [...customers].sort(), properties: body.properties ?? null });
    const now = new Date().toISOString();
    const events = customers.map((customer): EnrolEvent => ({
      type: 'enrol',
      journeyId,
      // userId as before (readers of the queue); the router goes by customerId (following merges).
      userId: customer,
      customerId: customer,
      messageId: `enrol:${journeyId}:${request}:${customer}`,
      properties: { source: 'api', ...body.properties },
      timestamp: now,
      receivedAt: now,
    }));
    await enqueueEvents(eventsQueue, events, enqueueTimeoutMs);
    // `request` names the enrolment: a retried request queues nobody twice, and says so here.
    await auditChange(auditLog, req, res, {
      action: 'enrolment.start',
      target: `enrolment:${journeyId}:${request}`,
      detail: { journeyId, customers: events.length },
    });
    res.status(202).json({ queued: events.length });
  });

  return router;
}

/** `GET /v1/enrolments/:id` (journeys:enrol): a bulk enrolment's status and progress (queued / total). */
export function enrolmentsRouter({
  access,
  enrolments,
}: {
  access: Access;
  enrolments: Pick<SegmentEnrolments, 'get'>;
}): Router {
  const router = express.Router();
  router.get('/:id', access.require('journeys:enrol'), async (req, res) => {
    const id = (req.params as { id: string }).id;
    const record = await enrolments.get(id);
    if (!record) throw new ApiError(404, 'not_found', `no enrolment ${JSON.stringify(id)}`);
    res.json({ enrolment: describeEnrolment(record) });
  });
  return router;
}

/** Deterministic JSON (sorted keys) hashed: the same body is the same request. */
function hashOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 32);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
