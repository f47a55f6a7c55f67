import express, { type Router } from 'express';
import type { ApiKeys } from '../../config/keys';
import type { Journey } from '../../language/types';
import { adminAuth } from '../auth';
import { ApiError } from '../errors';

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
  journeys: JourneyLookup;
  runs: RunLookup;
}

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

/** Admin API under /v1/journeys; every route needs the admin key. */
export function adminRouter({ keys, journeys, runs }: AdminRouterOptions): Router {
  const router = express.Router();
  router.use(adminAuth(keys));

  router.get('/', (_req, res) => {
    res.json({ journeys: journeys.list().map(summariseJourney) });
  });

  router.get('/:id', (req, res) => {
    const journey = journeys.get(req.params.id);
    if (!journey) throw new ApiError(404, 'not_found', `no journey ${JSON.stringify(req.params.id)}`);
    res.json(journey);
  });

  router.get('/:id/customers/:customerId', async (req, res) => {
    const { id, customerId } = req.params;
    const run = await runs.describe(id, customerId);
    if (run == null) {
      throw new ApiError(404, 'not_found', `no run of journey ${JSON.stringify(id)} for this customer`);
    }
    res.json(run);
  });

  return router;
}
