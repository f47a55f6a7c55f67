import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../../audit-log/types';
import type { VersionCounts, VersionShape } from '../../audit/journey-counts';
import { InvalidCursor } from '../../audit/run-cursor';
import { RUN_STATUSES, type RunStatusFilter } from '../../audit/run-queries';
import type { RetryOutcome } from '../../audit/run-retry';
import { RunActionRefused, type RunListQuery, type RunPage, type RunView } from '../../audit/runs';
import { TEMPLATE_NAME } from '../../language/catalog';
import { toMermaid } from '../../language/graph';
import type { Journey } from '../../language/types';
import type { StopSignal } from '../../workflows/definitions';
import type { Access } from '../auth';
import { ApiError, invalidRequest, type Issue } from '../errors';
import { jsonBody } from '../json-body';
import type { JourneyLookup } from './admin';
import { auditChange } from './audit-log';
import { actorOf, text, versionParam, type JourneyRegistryApi } from './journeys/shared';
import { validateBody } from './validate-body';

/** Live state of one customer's run of a journey; null when there is none. */
export interface RunLookup {
  describe(journeyId: string, customerId: string, options?: { reveal?: boolean }): Promise<unknown | null>;
}

/** What the runs routes do besides reading one run (audit/runs.ts RunInspector does all of it). */
export interface RunOperations {
  list(journeyId: string, query: RunListQuery): Promise<RunPage>;
  counts(journeyId: string, versions: readonly VersionShape[]): Promise<VersionCounts[]>;
  remove(
    journeyId: string,
    customerId: string,
    stop: StopSignal,
  ): Promise<{ before: RunView; after: RunView }>;
  retry(
    journeyId: string,
    customerId: string,
    request: StopSignal,
  ): Promise<{ before: RunView; outcome: RetryOutcome; repeated: boolean }>;
}

/** A run lookup, and the operations where the caller has them (tests may give `describe` only). */
export type RunsApi = RunLookup & Partial<RunOperations>;

export interface RunsRouterOptions {
  access: Access;
  auditLog: AuditLog;
  runs: RunsApi;
  /** Journeys when there is no registry: one published version each. */
  journeys: JourneyLookup;
  /** The registry: every published version, each with its steps. */
  registry?: JourneyRegistryApi;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;
const reasonSchema = z.object({ reason: text(500).min(1, 'must not be empty') });

/**
 * Running journeys, under /v1/journeys (docs/runs.md): live counts per version and step, the
 * graph with those counts, the runs at a step (paged), one customer's run with the reasons of
 * its path, and the operator actions remove and retry (each with a reason, in the audit log).
 */
export function runsRouter({ access, auditLog, runs, journeys, registry }: RunsRouterOptions): Router {
  const router = express.Router();
  const read = access.require('runs:read');
  const operate = access.require('runs:operate');
  const journeysRead = access.require('journeys:read');

  /** The journey's published versions (all, or the one asked for); 404 when there are none. */
  async function versionsOf(id: string, only?: number): Promise<Journey[]> {
    if (!registry) {
      const journey = journeys.get(id);
      if (!journey) throw notFound(id);
      if (only !== undefined && only !== journey.version) throw noVersion(id, only);
      return [journey];
    }
    const state = await registry.store.state(id);
    if (!state || state.latest === 0) throw notFound(id);
    if (only !== undefined) {
      const record = await registry.store.version(id, only);
      if (!record) throw noVersion(id, only);
      return [record.journey];
    }
    return (await registry.store.versions(id)).map((r) => r.journey);
  }

  async function requireJourney(id: string): Promise<void> {
    const known = registry
      ? ((await registry.store.state(id))?.latest ?? 0) > 0
      : journeys.get(id) !== undefined;
    if (!known) throw notFound(id);
  }

  router.get('/:id/counts', journeysRead, async (req, res) => {
    const id = String(req.params.id);
    const query = parseQuery(req, { version: optionalVersion });
    const ops = operations(runs, 'counts');
    const versions = await versionsOf(id, query.version);
    res.json({ journeyId: id, versions: await ops.counts(id, versions.map(shapeOf)) });
  });

  router.get('/:id/graph', journeysRead, async (req, res) => {
    const id = String(req.params.id);
    const query = parseQuery(req, { version: optionalVersion, counts: optionalFlag });
    const versions = await versionsOf(id, query.version);
    const journey = versions[versions.length - 1]!;
    if (!query.counts) {
      res.json({ journeyId: id, version: journey.version, mermaid: toMermaid(journey) });
      return;
    }
    const [counts] = await operations(runs, 'counts').counts(id, [shapeOf(journey)]);
    res.json({
      journeyId: id,
      version: journey.version,
      mermaid: toMermaid(journey, { steps: counts!.steps, summary: summaryLine(counts!) }),
      counts,
    });
  });

  router.get('/:id/runs', read, async (req, res) => {
    const id = String(req.params.id);
    const query = parseQuery(req, {
      version: optionalVersion,
      step: optionalStep,
      status: optionalStatus,
      pageSize: pageSizeParam,
      cursor: optionalCursor,
    });
    const ops = operations(runs, 'list');
    await requireJourney(id);
    try {
      res.json(await ops.list(id, { ...query, pageSize: query.pageSize ?? DEFAULT_PAGE_SIZE }));
    } catch (err) {
      if (err instanceof InvalidCursor) throw invalidRequest([{ path: 'cursor', message: err.message }]);
      throw err;
    }
  });

  router.get('/:id/customers/:customerId', read, async (req, res) => {
    const id = String(req.params.id);
    const customerId = String(req.params.customerId);
    // Access.require has refused ?reveal=true to a role without personal-data:reveal.
    const reveal = req.query.reveal === 'true';
    const run = await runs.describe(id, customerId, { reveal });
    if (run == null) {
      throw new ApiError(404, 'not_found', `no run of journey ${JSON.stringify(id)} for this customer`);
    }
    if (reveal) {
      await auditChange(auditLog, req, res, {
        action: 'personal-data.read',
        target: `customer:${customerId}`,
        detail: { journeyId: id, what: 'run messages and path details' },
      });
    }
    res.json(run);
  });

  /** An operator action in the audit log: the customer, the reason, and the run as it was before. */
  const auditAction = (
    req: Request,
    res: Response,
    action: 'run.remove' | 'run.retry',
    { id, customerId, reason }: OperatorAction,
    before: RunView,
    detail: Record<string, unknown>,
  ) =>
    auditChange(auditLog, req, res, {
      action,
      target: `customer:${customerId}`,
      reason,
      detail: { journeyId: id, version: before.version, step: before.currentStep, ...detail },
    });

  router.post('/:id/customers/:customerId/remove', operate, ...jsonBody('16kb'), async (req, res) => {
    const action = operatorAction(req);
    const { id, customerId, reason } = action;
    const ops = operations(runs, 'remove');
    const { before, after } = await refused(() =>
      ops.remove(id, customerId, { reason, by: actorOf(req, res) }),
    );
    await auditAction(req, res, 'run.remove', action, before, {
      workflowId: before.workflowId,
      runId: before.runId,
      status: after.status,
    });
    res.json(after);
  });

  router.post('/:id/customers/:customerId/retry', operate, ...jsonBody('16kb'), async (req, res) => {
    const action = operatorAction(req);
    const { id, customerId, reason } = action;
    const ops = operations(runs, 'retry');
    const { before, outcome, repeated } = await refused(() =>
      ops.retry(id, customerId, { reason, by: actorOf(req, res) }),
    );
    // A repeat of a retry another request just did changes nothing: it is not logged again.
    if (!repeated) {
      await auditAction(req, res, 'run.retry', action, before, {
        temporalStatus: before.temporalStatus,
        ...outcome,
      });
    }
    res.json({ retry: outcome, repeated, run: await runs.describe(id, customerId) });
  });

  return router;
}

/** The operation, or 404 when this app was built without it (tests that give `describe` only). */
function operations<K extends keyof RunOperations>(runs: RunsApi, name: K): Pick<RunOperations, K> {
  const op = runs[name];
  if (!op) throw new ApiError(404, 'not_found', `${name} of runs is not available here`);
  return { [name]: op.bind(runs) } as unknown as Pick<RunOperations, K>;
}

/** A refused operator action as the API answers it: 404 no run, 409 nothing to retry (or a retry in progress). */
async function refused<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof RunActionRefused)) throw err;
    throw err.kind === 'no_run'
      ? new ApiError(404, 'not_found', err.message)
      : new ApiError(409, err.kind, err.message);
  }
}

interface OperatorAction {
  id: string;
  customerId: string;
  reason: string;
}

/** An operator action's journey and customer (the path), and its reason (400 without one). */
function operatorAction(req: Request): OperatorAction {
  const { reason } = validateBody(reasonSchema, req.body);
  return { id: String(req.params.id), customerId: String(req.params.customerId), reason };
}

function shapeOf(journey: Journey): VersionShape {
  return { version: journey.version, stepIds: journey.steps.map((s) => s.id) };
}

function summaryLine(c: VersionCounts): string {
  return [
    `${c.entered} entered · ${c.running} running`,
    `${c.converted} converted · ${c.completed} completed · ${c.exited} exited · ${c.failed} failed`,
  ].join('\n');
}

const notFound = (id: string) => new ApiError(404, 'not_found', `no journey ${JSON.stringify(id)}`);
const noVersion = (id: string, version: number) =>
  new ApiError(404, 'not_found', `journey ${JSON.stringify(id)} has no version ${version}`);

/*
 * Query parameters: each parser reads one (a string, or undefined when absent) and throws an
 * Issue's message when it is bad; parseQuery reports every bad or unknown one at once (400).
 */
type Parser<T> = (value: string | undefined, name: string) => T;

function parseQuery<P extends Record<string, Parser<unknown>>>(
  req: Request,
  parsers: P,
): { [K in keyof P]: ReturnType<P[K]> } {
  const issues: Issue[] = [];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(req.query)) {
    if (!(key in parsers) && key !== 'reveal')
      issues.push({ path: key, message: `unknown parameter: expected ${Object.keys(parsers).join(', ')}` });
  }
  for (const [name, parse] of Object.entries(parsers)) {
    const raw = req.query[name];
    if (raw !== undefined && typeof raw !== 'string') {
      issues.push({ path: name, message: 'must be given once' });
      continue;
    }
    try {
      out[name] = parse(raw, name);
    } catch (err) {
      if (err instanceof ApiError && err.details.issues) issues.push(...err.details.issues);
      else issues.push({ path: name, message: (err as Error).message });
    }
  }
  if (issues.length > 0) throw invalidRequest(issues);
  return out as { [K in keyof P]: ReturnType<P[K]> };
}

const optionalVersion: Parser<number | undefined> = (v, name) =>
  v === undefined ? undefined : versionParam(v, name);

const optionalFlag: Parser<boolean> = (v) => {
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw new Error('must be `true` or `false`');
};

const optionalStep: Parser<string | undefined> = (v) => {
  if (v === undefined) return undefined;
  if (!TEMPLATE_NAME.test(v) || v.length > 100) throw new Error('must be a step id (a-z, 0-9, _ and -)');
  return v;
};

const optionalStatus: Parser<RunStatusFilter | undefined> = (v) => {
  if (v === undefined) return undefined;
  if (!(RUN_STATUSES as readonly string[]).includes(v))
    throw new Error(`must be one of ${RUN_STATUSES.join(', ')}`);
  return v as RunStatusFilter;
};

const pageSizeParam: Parser<number | undefined> = (v) => {
  if (v === undefined) return undefined;
  const n = /^\d{1,4}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_PAGE_SIZE)) throw new Error(`must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  return n;
};

const optionalCursor: Parser<string | undefined> = (v) => {
  if (v === undefined) return undefined;
  if (v.length === 0 || v.length > 4096) throw new Error('is not a cursor this API returned');
  return v;
};
