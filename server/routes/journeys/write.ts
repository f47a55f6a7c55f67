import express, { type Router } from 'express';
import { z } from 'zod';
import { TEMPLATE_NAME } from '../../../language/catalog';
import { jsonBody } from '../../json-body';
import { validateBody } from '../validate-body';
import {
  actorOf,
  ACTOR_HEADER,
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
export function registryWriteRouter(registry: JourneyRegistryApi): Router {
  const { store, lifecycle } = registry;
  const changed = async () => {
    await registry.onChange?.();
  };
  const router = express.Router();

  router.post(
    '/validate',
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
    ...jsonBody(BODY_LIMIT),
    route(async (req, res) => {
      const id = journeyIdParam(String(req.params.id));
      const by = actorOf(req.get(ACTOR_HEADER));
      const body = validateBody(draftSchema, req.body);
      const draft = await store.saveDraft(id, body.source, { format: body.format, by });
      await changed();
      res.json(draft);
    }),
  );

  router.post(
    '/:id/publish',
    optionalJson,
    express.json({ limit: BODY_LIMIT }),
    route(async (req, res) => {
      const id = journeyIdParam(String(req.params.id));
      const by = actorOf(req.get(ACTOR_HEADER));
      const body = validateBody(publishSchema, req.body);
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
      if (result.created) await changed();
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
      optionalJson,
      express.json({ limit: '16kb' }),
      route(async (req, res) => {
        const id = String(req.params.id);
        const by = actorOf(req.get(ACTOR_HEADER));
        const { reason } = validateBody(reasonSchema, req.body);
        const result = await lifecycle[action](id, { by, reason: reason || undefined });
        await changed();
        res.json(result);
      }),
    );
  }

  router.post(
    '/:id/stop',
    optionalJson,
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const id = String(req.params.id);
      const by = actorOf(req.get(ACTOR_HEADER));
      const { reason } = validateBody(stopSchema, req.body);
      const result = await lifecycle.stop(id, { by, reason });
      await changed();
      res.json(result);
    }),
  );

  router.post(
    '/:id/migrate',
    ...jsonBody(BODY_LIMIT),
    route(async (req, res) => {
      const id = String(req.params.id);
      const by = actorOf(req.get(ACTOR_HEADER));
      const body = validateBody(migrateSchema, req.body);
      const result = await lifecycle.migrate(id, { ...body, by });
      await changed();
      res.json(result);
    }),
  );

  return router;
}
