import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { withTimeout } from '../timeout';

/** Readiness of each part the API depends on, e.g. { temporal, redis, workers }. */
export type HealthCheck = () => Promise<Record<string, boolean>>;

/**
 * GET /healthz, unauthenticated: 200 {"status":"ok"} when every part is ready, else 503 naming
 * the parts that are down. A check that fails or hangs counts as down, so probes never hang.
 */
export function healthHandler(check: HealthCheck, timeoutMs: number, logger: Logger): RequestHandler {
  return async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    let parts: Record<string, boolean>;
    try {
      parts = await withTimeout(check(), timeoutMs, 'health check');
    } catch (err) {
      // The reason (addresses, internals) goes to the log, not to unauthenticated callers.
      logger.warn({ err }, 'health check failed');
      res.status(503).json({ status: 'down', down: ['health-check'], parts: {} });
      return;
    }
    const down = Object.keys(parts).filter((part) => parts[part] !== true);
    if (down.length === 0) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'down', down, parts });
  };
}
