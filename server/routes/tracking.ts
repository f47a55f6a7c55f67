import express, { type Router } from 'express';
import type { Logger } from 'pino';
import type { OutcomeDetail, ReportedOutcome } from '../../delivery/outcomes';
import { ApiError } from '../errors';
import type { DeliveryApi } from './deliveries';

/** A transparent 1×1 GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * The links customers follow, without authentication: the token is the credential.
 * - `GET /r/<token>`: 302 to the URL the token was signed over (only URLs that were in a message,
 *   so no open redirect) and a click recorded;
 * - `GET /o/<token>.gif`: the open pixel of an HTML email, an open recorded.
 * A token we did not make is 404. HEAD requests (link scanners, previews) record nothing, and a
 * failure to record never keeps the customer from their page.
 */
export function trackingRouter({ deliveries, logger }: { deliveries: DeliveryApi; logger: Logger }): Router {
  const router = express.Router();

  const record = async (
    method: string,
    idempotencyKey: string,
    outcome: ReportedOutcome,
    detail: OutcomeDetail,
  ) => {
    if (method !== 'GET') return;
    try {
      await deliveries.outcomes.report(idempotencyKey, outcome, detail);
    } catch (err) {
      logger.error({ err, idempotencyKey, outcome }, 'could not record a tracked link');
    }
  };

  router.get('/r/:token', async (req, res) => {
    const click = deliveries.tracker.click(req.params.token);
    if (!click) throw new ApiError(404, 'not_found', 'no such link');
    await record(req.method, click.idempotencyKey, 'clicked', { url: click.url });
    res.set('Cache-Control', 'no-store');
    res.redirect(302, click.url);
  });

  router.get('/o/:file', async (req, res) => {
    const { file } = req.params;
    const open = file.endsWith('.gif') ? deliveries.tracker.open(file.slice(0, -'.gif'.length)) : null;
    if (!open) throw new ApiError(404, 'not_found', 'no such image');
    await record(req.method, open.idempotencyKey, 'opened', {});
    res.set({ 'Content-Type': 'image/gif', 'Cache-Control': 'no-store, private' });
    res.send(PIXEL);
  });

  return router;
}
