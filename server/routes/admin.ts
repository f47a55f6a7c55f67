import express, { type Router } from 'express';
import type { AuditLog } from '../../audit-log/types';
import type { Journey } from '../../language/types';
import type { Access } from '../auth';
import { ApiError } from '../errors';
import { registryReadRouter, summariseJourney } from './journeys/read';
import type { JourneyRegistryApi } from './journeys/shared';
import { registryWriteRouter, type WriteRouterOptions } from './journeys/write';

export { summariseJourney };
export type { JourneyRegistryApi };

/** The journeys the engine has loaded. */
export interface JourneyLookup {
  list(): Journey[];
  get(id: string): Journey | undefined;
}

export interface AdminRouterOptions {
  access: Access;
  /** Where the registry's changes are appended (routes/journeys/write.ts). */
  auditLog: AuditLog;
  /** Used when there is no registry: a fixed set of journeys, all published. */
  journeys: JourneyLookup;
  /**
   * The journey registry (versions, drafts, lifecycle). Without it only the list, one journey and
   * a customer's run are served, from `journeys`.
   */
  registry?: JourneyRegistryApi;
  /** Four-eyes publishing (routes/approvals.ts): a publish becomes a request for approval. */
  requestPublish?: WriteRouterOptions['requestPublish'];
}

/** API under /v1/journeys: reads need journeys:read, changes more. */
export function adminRouter({
  access,
  auditLog,
  journeys,
  registry,
  requestPublish,
}: AdminRouterOptions): Router {
  const router = express.Router();
  // A customer's run, counts, runs at a step and operator actions: routes/runs.ts.

  if (registry) {
    router.use(registryWriteRouter(registry, access, { requestPublish, auditLog }));
    router.use(registryReadRouter(registry, access));
    return router;
  }

  router.get('/', access.require('journeys:read'), (_req, res) => {
    res.json({
      journeys: journeys
        .list()
        .map((j) => ({ ...summariseJourney(j), status: 'published', hasDraft: false })),
    });
  });

  router.get('/:id', access.require('journeys:read'), (req, res) => {
    const journey = journeys.get(String(req.params.id));
    if (!journey) throw new ApiError(404, 'not_found', `no journey ${JSON.stringify(req.params.id)}`);
    res.json({ ...journey, status: 'published', hasDraft: false });
  });

  return router;
}
