import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import {
  APPROVAL_STATUSES,
  ApprovalError,
  type ApprovalStatus,
  type PublishApproval,
  type PublishApprovals,
} from '../../access/approvals';
import type { AuditLog } from '../../audit-log/types';
import type { ConfigIssue } from '../../language/errors';
import { RegistryError } from '../../registry/errors';
import { principalOf, type Access } from '../auth';
import { ApiError, formatPath, invalidRequest } from '../errors';
import { auditChange } from './audit-log';
import { actorOf, apiErrorOf, optionalJson, route, text, type JourneyRegistryApi } from './journeys/shared';
import { validateBody } from './validate-body';

/** An approval as answers show it; the source itself only where a reviewer reads it (the list). */
export function approvalView(approval: PublishApproval, { withSource = false } = {}) {
  const { source, requestedByKeyId: _key, ...rest } = approval;
  return withSource ? { ...rest, source } : rest;
}

/** 400 as `POST /:id/publish` answers an invalid journey: nothing was requested or published. */
function invalidJourney(res: Response, issues: ConfigIssue[], warnings: ConfigIssue[], what: string): void {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  res.status(400).json({
    error: 'invalid_journey',
    message: `the journey has ${count}; nothing was ${what}`,
    issues,
    warnings,
  });
}

export interface PublishRequestBody {
  source?: string;
  format?: 'yaml' | 'json';
  note?: string;
}

/**
 * Four-eyes, the publish side: instead of publishing, `POST /v1/journeys/:id/publish` records a
 * request to publish exactly this source (or the current draft) and answers 202. The source is
 * checked first: an invalid one is refused with 400 as a publish would be, and nothing is recorded.
 */
export function publishRequester({
  registry,
  approvals,
  auditLog,
}: {
  registry: JourneyRegistryApi;
  approvals: PublishApprovals;
  auditLog: AuditLog;
}) {
  return async (req: Request, res: Response, id: string, body: PublishRequestBody): Promise<void> => {
    let { source, format } = body;
    if (source === undefined) {
      const draft = await registry.store.draft(id);
      if (!draft) {
        throw new RegistryError('invalid', `journey ${id} has no draft to publish`, [
          { path: 'source', message: 'is required when the journey has no draft' },
        ]);
      }
      ({ source, format } = draft);
    }
    const checked = registry.store.check(source, { format, id });
    if (!checked.journey) return invalidJourney(res, checked.issues, checked.warnings, 'requested');
    const approval = await approvals.request({
      journeyId: id,
      source,
      format: checked.format,
      note: body.note,
      requestedBy: actorOf(req, res),
      requestedByKeyId: principalOf(res).keyId,
    });
    await auditChange(auditLog, req, res, {
      action: 'journey.publish-requested',
      target: `approval:${approval.id}`,
      detail: { journeyId: id, sourceSha256: approval.sourceSha256 },
    });
    res
      .status(202)
      .location(`/v1/approvals?status=pending`)
      .json({ approval: approvalView(approval), warnings: checked.warnings });
  };
}

const listQuery = z.strictObject({
  status: z
    .enum(APPROVAL_STATUSES as unknown as [ApprovalStatus, ...ApprovalStatus[]], {
      error: `must be one of ${APPROVAL_STATUSES.join(', ')}`,
    })
    .optional(),
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(500, 'must be at most 500')
    .default(50),
});

const approveSchema = z.object({ note: text(1000).optional() });
const rejectSchema = z.object({ reason: text(1000).min(1, 'must not be empty') });

function approvalError(err: unknown): unknown {
  if (!(err instanceof ApprovalError)) return err;
  if (err.kind === 'not_found') return new ApiError(404, 'not_found', err.message);
  if (err.kind === 'same_person') return new ApiError(409, 'same_person', err.message);
  return new ApiError(409, 'already_decided', err.message);
}

/**
 * Publish approvals (four-eyes), docs/access.md:
 * - `GET /v1/approvals?status=pending|approved|rejected&limit=` (journeys:read), newest first,
 *   each with the exact source it would publish;
 * - `POST /v1/approvals/:id/approve {note?}` (journeys:publish): someone other than the requester
 *   (another name and another key) publishes exactly the requested source;
 * - `POST /v1/approvals/:id/reject {reason}` (journeys:publish; the requester may withdraw).
 * An approval is decided once; afterwards both answer 409.
 */
export function approvalsRouter({
  access,
  approvals,
  registry,
  auditLog,
}: {
  access: Access;
  approvals: PublishApprovals;
  registry: JourneyRegistryApi;
  auditLog: AuditLog;
}): Router {
  const router = express.Router();

  router.get('/', access.require('journeys:read'), async (req, res) => {
    const parsed = listQuery.safeParse(req.query);
    if (!parsed.success) {
      throw invalidRequest(
        parsed.error.issues.map((i) => ({
          path: formatPath(['query', ...(i.code === 'unrecognized_keys' ? i.keys.slice(0, 1) : i.path)]),
          message: i.code === 'unrecognized_keys' ? 'unknown query parameter' : i.message,
        })),
      );
    }
    const list = await approvals.list(parsed.data);
    res.json({ approvals: list.map((a) => approvalView(a, { withSource: true })) });
  });

  router.post(
    '/:id/approve',
    access.require('journeys:publish'),
    optionalJson,
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const id = String(req.params.id);
      const { note } = validateBody(approveSchema, req.body);
      const by = actorOf(req, res);
      const approver = { name: by, keyId: principalOf(res).keyId };
      const approval = await approvals.approve(id, approver, note).catch((err: unknown) => {
        throw approvalError(err);
      });
      let result;
      try {
        result = await registry.lifecycle.publish(approval.journeyId, {
          source: approval.source,
          format: approval.format,
          by: approval.requestedBy,
          note: `${approval.note ? `${approval.note} ` : ''}(approved by ${by}, ${approval.id})`,
        });
      } catch (err) {
        await approvals.reopen(id, by);
        throw apiErrorOf(err);
      }
      if (!result.ok) {
        // The journey no longer checks (e.g. a template it uses was removed): nothing published.
        await approvals.reopen(id, by);
        return invalidJourney(res, result.issues, result.warnings, 'published');
      }
      await approvals.published(id, result.version);
      if (result.created) await registry.onChange?.();
      await auditChange(auditLog, req, res, {
        action: 'journey.publish-approved',
        target: `approval:${id}`,
        ...(note ? { reason: note } : {}),
        detail: {
          journeyId: approval.journeyId,
          version: result.version,
          requestedBy: approval.requestedBy,
          sourceSha256: approval.sourceSha256,
        },
      });
      if (result.created) {
        await auditChange(auditLog, req, res, {
          action: 'journey.publish',
          target: `journey:${approval.journeyId}@${result.version}`,
          detail: { approval: id, requestedBy: approval.requestedBy, approvedBy: by },
        });
      }
      res.status(result.created ? 201 : 200).json({
        approval: approvalView({ ...approval, version: result.version }),
        published: {
          id: result.id,
          version: result.version,
          status: result.status,
          created: result.created,
          warnings: result.warnings,
        },
      });
    }),
  );

  router.post(
    '/:id/reject',
    access.require('journeys:publish'),
    optionalJson,
    express.json({ limit: '16kb' }),
    async (req, res) => {
      const id = String(req.params.id);
      const { reason } = validateBody(rejectSchema, req.body);
      const approver = { name: actorOf(req, res), keyId: principalOf(res).keyId };
      const approval = await approvals.reject(id, approver, reason).catch((err: unknown) => {
        throw approvalError(err);
      });
      await auditChange(auditLog, req, res, {
        action: 'journey.publish-rejected',
        target: `approval:${id}`,
        reason,
        detail: { journeyId: approval.journeyId, requestedBy: approval.requestedBy },
      });
      res.json({ approval: approvalView(approval) });
    },
  );

  return router;
}
