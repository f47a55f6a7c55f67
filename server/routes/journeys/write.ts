import { createHash } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../../../audit-log/types';
import { TEMPLATE_NAME } from '../../../language/catalog';
import type { Access } from '../../auth';
import type { PublishRequestBody } from '../approvals';
import { auditChange } from '../audit-log';
import { jsonBody } from '../../json-body';
import { validateBody } from '../validate-body';
import {
  actorOf,
  formatField,
  journeyIdParam,
  optionalJson,
  route,
  sourceField,
  text,
  type JourneyRegistryApi,
} from './shared';

const BODY_LIMIT = '1mb';

const validateSchema = z.object({
  source: sourceField,
  format: formatField.optional(),
  /** Labels the issues; when given, the journey id must also match its base name. */
  file: text(500).min(1, 'must not be empty').optional(),
});

const draftSchema = z.object({ source: sourceField, format: formatField.optional() });

const publishSchema = z.object({
  source: sourceField.optional(),
  format: formatField.optional(),
  note: text(1000).optional(),
});

const reasonSchema = z.object({ reason: text(1000).optional() });
const stopSchema = z.object({ reason: text(1000).min(1, 'must not be empty') });

const versionNumber = z
  .number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a version number') })
  .int('must be a version number')
  .min(1, 'must be a version number');

const migrateSchema = z.object({
  from: versionNumber,
  to: versionNumber,
  mapping: z
    .record(
      z.string().regex(TEMPLATE_NAME, 'keys must be step ids of `from`'),
      z.string({ error: 'must be a step id' }),
      { error: 'must be an object: step of `from` → step of `to`' },
    )
    .default({}),
  reason: text(1000).min(1, 'must not be empty'),
});

/**
 * Changing journeys: validate, drafts, publish, pause / resume / stop, migrate. Each action is
 * recorded with who (`X-Touchpoint-Actor`, default `admin`), when and why; a rejected request
 * changes nothing.
 */
export interface WriteRouterOptions {
  /** Every change made here is appended (journey.draft, .publish, .pause, .resume, .stop, .migrate). */
  auditLog: AuditLog;
  /**
   * Four-eyes (docs/access.md): when set, a publish is not made but requested (202); a second
   * person approves it through /v1/approvals.
   */
  requestPublish?: (req: Request, res: Response, id: string, body: PublishRequestBody) => Promise<void>;
}

export function registryWriteRouter(
  registry: JourneyRegistryApi,
  access: Access,
  { requestPublish, auditLog }: WriteRouterOptions,
): Router {
  const { store, lifecycle } = registry;
  const changed = async () => {
    await registry.onChange?.();
  };
  const router = express.Router();
  const draft = access.require('journeys:draft');
  const publish = access.require('journeys:publish');

  router.post(
    '/validate',
    draft,
    ...jsonBody(BODY_LIMIT),
    route(async (req, res) => {
      const body = validateBody(validateSchema, req.body);
      const checked = store.check(body.source, {
        format: body.format,
        file: body.file,
        checkFileName: body.file !== undefined,
      });
      res.json({ valid: checked.issues.length === 0, issues: checked.issues, warnings: checked.warnings });
    }),
  );

  router.put(
    '/:id/draft',
    draft,
    ...jsonBody(BODY_LIMIT),
    route(async (req, res) => {
      const id = journeyIdParam(String(req.params.id));
      const by = actorOf(req, res);
      const body = validateBody(draftSchema, req.body);
      const saved = await store.saveDraft(id, body.source, { format: body.format, by });
      await changed();
      await auditChange(auditLog, req, res, {
        action: 'journey.draft',
        target: `journey:${id}`,
        detail: { sourceSha256: sha256(body.source) },
      });
      res.json(saved);
    }),
  );

  router.post(
    '/:id/publish',
    publish,
    optionalJson,
    express.json({ limit: BODY_LIMIT }),
    route(async (req, res) => {
      const id = journeyIdParam(String(req.params.id));
      const by = actorOf(req, res);
      const body = validateBody(publishSchema, req.body);
      if (requestPublish) return requestPublish(req, res, id, body);
      const result = await lifecycle.publish(id, { ...body, by });
      if (!result.ok) {
        const count = result.issues.length === 1 ? '1 problem' : `${result.issues.length} problems`;
        res.status(400).json({
          error: 'invalid_journey',
          message: `the journey has ${count}; nothing was published`,
          issues: result.issues,
          warnings: result.warnings,
        });
        return;
      }
      if (result.created) {
        await changed();
        // Publishing the latest version's source again changes nothing, and is not audited.
        await auditChange(auditLog, req, res, {
          action: 'journey.publish',
          target: `journey:${result.id}@${result.version}`,
          ...(body.note ? { reason: body.note } : {}),
          detail: { status: result.status, fromDraft: body.source === undefined },
        });
      }
      res.status(result.created ? 201 : 200).json({
        id: result.id,
        version: result.version,
        status: result.status,
        created: result.created,
        warnings: result.warnings,
      });
    }),
  );

  for (const action of ['pause', 'resume'] as const) {
    router.post(
      `/:id/${action}`,
      publish,
      optionalJson,
      express.json({ limit: '16kb' }),
      route(async (req, res) => {
        const id = String(req.params.id);
        const by = actorOf(req, res);
        const { reason } = validateBody(reasonSchema, req.body);
        const result = await lifecycle[action](id, { by, reason: reason || undefined });
        await changed();
        await auditChange(auditLog, req, res, {
          action: `journey.${action}`,
          target: `journey:${id}`,
          ...(reason ? { reason } : {}),
          detail: { status: result.status, version: result.version },
        });
        res.json(result);
      }),
    );
  }

  router.post(
    '/:id/stop',
    publish,
    optionalJson,
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const id = String(req.params.id);
      const by = actorOf(req, res);
      const { reason } = validateBody(stopSchema, req.body);
      const result = await lifecycle.stop(id, { by, reason });
      await changed();
      await auditChange(auditLog, req, res, {
        action: 'journey.stop',
        target: `journey:${id}`,
        reason,
        detail: { status: result.status, version: result.version, stopped: result.stopped },
      });
      res.json(result);
    }),
  );

  router.post(
    '/:id/migrate',
    publish,
    ...jsonBody(BODY_LIMIT),
    route(async (req, res) => {
      const id = String(req.params.id);
      const by = actorOf(req, res);
      const body = validateBody(migrateSchema, req.body);
      const result = await lifecycle.migrate(id, { ...body, by });
      await changed();
      await auditChange(auditLog, req, res, {
        action: 'journey.migrate',
        target: `journey:${id}@${body.to}`,
        reason: body.reason,
        detail: { from: body.from, to: body.to, migrated: result.migrated, mapping: body.mapping },
      });
      res.json(result);
    }),
  );

  return router;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
