import express, { type Router } from 'express';
import type { Metrics } from '../../observability/metrics';
import type { Access } from '../auth';

/**
 * GET /metrics: Prometheus exposition text of this process's registry. Needs `metrics:read`
 * (Prometheus sends a key with that role as `authorization.credentials`, see docs/observability.md).
 */
export function metricsRouter({ access, metrics }: { access: Access; metrics: Metrics }): Router {
  const router = express.Router();
  router.get('/metrics', access.require('metrics:read'), async (_req, res) => {
    const { contentType, body } = await metrics.scrape();
    res.set('Cache-Control', 'no-store').type(contentType).send(body);
  });
  return router;
}
