import express, { type Router } from 'express';
import type { ApiKeys } from '../../config/keys';
import type { Journey } from '../../language/types';
import { adminAuth } from '../auth';
import { ApiError } from '../errors';
import { registryReadRouter, summariseJourney } from './journeys/read';
import type { JourneyRegistryApi } from './journeys/shared';
import { registryWriteRouter } from './journeys/write';

export { summariseJourney };
export type { JourneyRegistryApi };

/** The journeys the engine has loaded. */
export interface JourneyLookup {
  list(): Journey[];
  get(id: string): Journey | undefined;
}

/** Live state of one customer's run of a journey; null when there is none. */
export interface RunLookup {
  describe(journeyId: string, customerId: string): Promise<unknown | null>;
}

export interface AdminRouterOptions {
  keys: ApiKeys;
  /** Used when there is no registry: a fixed set of journeys, all published. */
  journeys: JourneyLookup;
  runs: RunLookup;
  /**
   * The journey registry (versions, drafts, lifecycle). Without it only the list, one journey and
   * a customer's run are served, from `journeys`.
   */
  registry?: JourneyRegistryApi;
}

/** Admin API under /v1/journeys; every route needs the admin key. */
export function adminRouter({ keys, journeys, runs, registry }: AdminRouterOptions): Router {
  const router = express.Router();
  router.use(adminAuth(keys));

  router.get('/:id/customers/:customerId', async (req, res) => {
    const { id, customerId } = req.params;
    const run = await runs.describe(id, customerId);
    if (run == null) {
      throw new ApiError(404, 'not_found', `no run of journey ${JSON.stringify(id)} for this customer`);
    }
    res.json(run);
  });

  if (registry) {
    router.use(registryWriteRouter(registry));
    router.use(registryReadRouter(registry));
    return router;
  }

  router.get('/', (_req, res) => {
    res.json({
      journeys: journeys
        .list()
        .map((j) => ({ ...summariseJourney(j), status: 'published', hasDraft: false })),
    });
  });

  router.get('/:id', (req, res) => {
    const journey = journeys.get(req.params.id);
    if (!journey) throw new ApiError(404, 'not_found', `no journey ${JSON.stringify(req.params.id)}`);
    res.json({ ...journey, status: 'published', hasDraft: false });
  });

  return router;
}
