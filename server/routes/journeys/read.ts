import express, { type Router } from 'express';
import { parse } from 'yaml';
import type { Journey } from '../../../language/types';
import { diffVersions, stepChanges } from '../../../registry/diff';
import { summariseResults } from '../../../registry/results';
import type { JourneyListing } from '../../../registry/store';
import type { Access } from '../../auth';
import { ApiError } from '../../errors';
import { route, versionParam, type JourneyRegistryApi } from './shared';

/** What the journey list shows of each journey: its identity, triggers and the shape of its steps. */
export function summariseJourney(journey: Journey) {
  const { id, name, version, defaultLocale, entry, exit, steps } = journey;
  return {
    id,
    name,
    version,
    defaultLocale,
    entry,
    exit,
    steps: steps.map((step) => ({ id: step.id, type: step.type })),
  };
}

const notFound = (id: string) => new ApiError(404, 'not_found', `no journey ${JSON.stringify(id)}`);
const noVersion = (id: string, version: number) =>
  new ApiError(404, 'not_found', `journey ${JSON.stringify(id)} has no version ${version}`);

/**
 * Reading the registry: journeys with their status, versions (with what changed), one version's
 * source, a diff between two, the lifecycle history, the draft and the counters per version.
 */
export function registryReadRouter(registry: JourneyRegistryApi, access: Access): Router {
  const { store } = registry;
  const router = express.Router();
  const read = access.require('journeys:read');

  router.get(
    '/',
    read,
    route(async (_req, res) => {
      const listed = await store.list();
      res.json({ journeys: await Promise.all(listed.map((l) => listingView(registry, l))) });
    }),
  );

  router.get(
    '/:id',
    read,
    route(async (req, res) => {
      const id = param(req.params, 'id');
      const [state, latest] = await Promise.all([store.state(id), store.latest(id)]);
      if (!state) throw notFound(id);
      if (!latest) {
        res.json(await listingView(registry, { state }));
        return;
      }
      res.json({ ...latest.journey, status: state.status, hasDraft: state.hasDraft });
    }),
  );

  router.get(
    '/:id/status',
    read,
    route(async (req, res) => {
      const id = param(req.params, 'id');
      const state = await store.state(id);
      if (!state) throw notFound(id);
      const numbers = Array.from({ length: state.latest }, (_, i) => i + 1);
      const counters = await Promise.all(
        numbers.map((v) => registry.stats?.get(id, v) ?? Promise.resolve({})),
      );
      res.json({
        id,
        status: state.status,
        version: state.latest > 0 ? state.latest : null,
        versions: Object.fromEntries(numbers.map((v, i) => [String(v), counters[i]])),
        results: Object.fromEntries(numbers.map((v, i) => [String(v), summariseResults(counters[i] ?? {})])),
      });
    }),
  );

  router.get(
    '/:id/versions',
    read,
    route(async (req, res) => {
      const id = param(req.params, 'id');
      const [state, records] = await Promise.all([store.state(id), store.versions(id)]);
      if (!state) throw notFound(id);
      res.json({
        id,
        versions: records.map((record, i) => ({
          version: record.version,
          publishedAt: record.publishedAt,
          publishedBy: record.publishedBy,
          note: record.note ?? null,
          format: record.format,
          changes: stepChanges(records[i - 1]?.journey, record.journey),
        })),
      });
    }),
  );

  router.get(
    '/:id/versions/:version',
    read,
    route(async (req, res) => {
      const id = param(req.params, 'id');
      const version = versionParam(param(req.params, 'version'), 'version');
      const record = await store.version(id, version);
      if (!record) throw (await store.state(id)) ? noVersion(id, version) : notFound(id);
      res.json({
        id,
        version,
        publishedAt: record.publishedAt,
        publishedBy: record.publishedBy,
        note: record.note ?? null,
        format: record.format,
        journey: record.journey,
        source: record.source,
      });
    }),
  );

  router.get(
    '/:id/diff',
    read,
    route(async (req, res) => {
      const id = param(req.params, 'id');
      const state = await store.state(id);
      if (!state || state.latest === 0) throw notFound(id);
      const to = req.query.to === undefined ? state.latest : versionParam(req.query.to, 'to');
      const from = req.query.from === undefined ? to - 1 : versionParam(req.query.from, 'from');
      if (from < 1)
        throw new ApiError(404, 'not_found', `journey ${JSON.stringify(id)} has only version ${to}`);
      const [a, b] = await Promise.all([store.version(id, from), store.version(id, to)]);
      if (!a) throw noVersion(id, from);
      if (!b) throw noVersion(id, to);
      res.json(diffVersions(a, b));
    }),
  );

  router.get(
    '/:id/history',
    read,
    route(async (req, res) => {
      const id = param(req.params, 'id');
      const history = await store.history(id);
      if (!history) throw notFound(id);
      res.json({ id, history });
    }),
  );

  router.get(
    '/:id/draft',
    read,
    route(async (req, res) => {
      const id = param(req.params, 'id');
      const draft = await store.draft(id);
      if (!draft) throw new ApiError(404, 'not_found', `journey ${JSON.stringify(id)} has no draft`);
      res.json(draft);
    }),
  );

  return router;
}

/** A journey as the list shows it; a draft-only one by the name its draft gives. */
async function listingView(registry: JourneyRegistryApi, { state, journey }: JourneyListing) {
  if (journey) return { ...summariseJourney(journey), status: state.status, hasDraft: state.hasDraft };
  const draft = state.hasDraft ? await registry.store.draft(state.id) : undefined;
  return {
    id: state.id,
    name: draftName(draft?.source) ?? state.id,
    status: state.status,
    version: null,
    hasDraft: state.hasDraft,
  };
}

function draftName(source: string | undefined): string | undefined {
  if (source === undefined) return undefined;
  try {
    const data: unknown = parse(source, { maxAliasCount: 50 });
    const name = typeof data === 'object' && data !== null ? (data as { name?: unknown }).name : undefined;
    return typeof name === 'string' && name.trim() !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

function param(params: Record<string, string | string[] | undefined>, name: string): string {
  const value = params[name];
  return typeof value === 'string' ? value : '';
}
