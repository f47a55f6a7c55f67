import express, { type Router } from 'express';
import { z } from 'zod';
import { REPORTED_OUTCOMES, type ReportedOutcome } from '../../delivery/outcomes';
import type { Access } from '../auth';
import { ApiError, formatPath, invalidRequest } from '../errors';
import { jsonBody } from '../json-body';
import { channelParam, type DeliveryApi } from './deliveries';

const receiptSchema = z
  .object({
    idempotencyKey: z.string().min(1).max(1000).optional(),
    providerMessageId: z.string().min(1).max(256).optional(),
    status: z.enum(REPORTED_OUTCOMES as [ReportedOutcome, ...ReportedOutcome[]]),
    at: z.iso.datetime({ offset: true }).optional(),
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional(),
    error: z.string().max(1000).optional(),
  })
  .refine((r) => (r.idempotencyKey === undefined) !== (r.providerMessageId === undefined), {
    message: 'give exactly one of idempotencyKey and providerMessageId',
    path: ['idempotencyKey'],
  });

/**
 * POST /v1/receipts/:channel (events:write): a gateway or an app reports what became of a message
 * (delivered, failed, opened, clicked), naming it by our idempotency key or by the gateway's own
 * message id. The touch is updated and the first report of each outcome becomes an event.
 */
export function receiptsRouter({ access, deliveries }: { access: Access; deliveries: DeliveryApi }): Router {
  const router = express.Router();

  router.post('/:channel', access.require('events:write'), ...jsonBody('16kb'), async (req, res) => {
    const channel = channelParam(String(req.params.channel));
    const parsed = receiptSchema.safeParse(req.body);
    if (!parsed.success)
      throw invalidRequest(
        parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
      );
    const receipt = parsed.data;
    const idempotencyKey =
      receipt.idempotencyKey ??
      (await deliveries.outcomes.keyOfProviderMessage(channel, receipt.providerMessageId!));
    const touch = idempotencyKey ? await deliveries.touches.get(idempotencyKey) : null;
    const recorded =
      idempotencyKey && touch?.channel === channel
        ? await deliveries.outcomes.report(idempotencyKey, receipt.status, {
            at: receipt.at,
            url: receipt.url,
            error: receipt.error,
          })
        : 'unknown';
    if (recorded === 'unknown')
      throw new ApiError(
        404,
        'not_found',
        `no message on ${channel} with this ${idempotencyKey ? 'key' : 'id'}`,
      );
    res.status(202).json({ accepted: 1, idempotencyKey });
  });

  return router;
}
