import express, { type Router } from 'express';
import { z } from 'zod';
import type { ApiKeys } from '../../config/keys';
import type { TouchLog, TouchRecord } from '../../customers/touches';
import { InvalidCursorError, type DeadLetterAction, type DeadLetters } from '../../delivery/dead-letters';
import { maskAddress } from '../../delivery/mask-address';
import type { DeliveryMessage } from '../../delivery/message';
import type { DeliveryOutcomes } from '../../delivery/outcomes';
import type { LinkTracker } from '../../delivery/tracking';
import { CHANNELS, type Channel } from '../../language/types';
import { adminAuth } from '../auth';
import { ApiError, formatPath, invalidRequest } from '../errors';

/** What the delivery routes (dead letters, touch audit, receipts, tracked links) work with. */
export interface DeliveryApi {
  deadLetters: DeadLetters;
  touches: TouchLog;
  outcomes: DeliveryOutcomes;
  tracker: LinkTracker;
}

const listQuery = z.object({
  channel: z.enum(CHANNELS as [Channel, ...Channel[]]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(500).optional(),
});

const discardBody = z.object({
  reason: z
    .string({ error: 'is required: say why the message is thrown away' })
    .trim()
    .min(1, 'must not be empty')
    .max(500, 'must be at most 500 characters'),
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw invalidRequest(parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
}

export function channelParam(value: string): Channel {
  if (!CHANNELS.includes(value as Channel))
    throw new ApiError(
      404,
      'not_found',
      `no channel ${JSON.stringify(value)}: one of ${CHANNELS.join(', ')}`,
    );
  return value as Channel;
}

function answerAction(action: DeadLetterAction, channel: Channel, jobId: string): void {
  if (action === 'not-found')
    throw new ApiError(404, 'not_found', `no dead letter ${JSON.stringify(jobId)} on ${channel}`);
  if (action === 'not-dead')
    throw new ApiError(
      409,
      'conflict',
      `job ${JSON.stringify(jobId)} on ${channel} is not a dead letter (any more)`,
    );
}

/**
 * Admin API under /v1/deliveries: the dead letters of the delivery queues (list, replay one or a
 * whole channel, discard with a reason) and a customer's touches with their outcomes.
 */
export function deliveriesRouter({ keys, deliveries }: { keys: ApiKeys; deliveries: DeliveryApi }): Router {
  const router = express.Router();
  router.use(adminAuth(keys));

  router.get('/dead-letters', async (req, res) => {
    const query = parse(listQuery, req.query);
    try {
      res.json(await deliveries.deadLetters.list(query));
    } catch (err) {
      if (err instanceof InvalidCursorError) throw invalidRequest([{ path: 'cursor', message: err.message }]);
      throw err;
    }
  });

  router.post('/dead-letters/:channel/replay', async (req, res) => {
    const channel = channelParam(req.params.channel);
    const { replayed } = await deliveries.deadLetters.replayAll(channel);
    res.status(202).json({ channel, replayed });
  });

  router.post('/dead-letters/:channel/:jobId/replay', async (req, res) => {
    const channel = channelParam(req.params.channel);
    const { jobId } = req.params;
    answerAction(await deliveries.deadLetters.replay(channel, jobId), channel, jobId);
    res.status(202).json({ channel, jobId, replayed: 1 });
  });

  // The reason comes as JSON `{"reason": "..."}` or as `?reason=`.
  router.delete('/dead-letters/:channel/:jobId', express.json({ limit: '10kb' }), async (req, res) => {
    const channel = channelParam(req.params.channel);
    const { jobId } = req.params;
    const given = (req.body as { reason?: unknown } | undefined)?.reason ?? req.query.reason;
    const { reason } = parse(discardBody, { reason: given });
    answerAction(await deliveries.deadLetters.discard(channel, jobId, reason), channel, jobId);
    res.json({ channel, jobId, discarded: 1, reason });
  });

  router.get('/customers/:customerId/touches', async (req, res) => {
    const touches = await deliveries.touches.forCustomer(req.params.customerId);
    res.json({ touches: touches.map(auditView) });
  });

  return router;
}

/** A touch as the audit shows it: what, when, what became of it; the address masked, no body. */
function auditView(touch: TouchRecord & { idempotencyKey: string }) {
  const raw = touch as unknown as Record<string, string | number | undefined>;
  const to = touch.message ? (JSON.parse(touch.message) as DeliveryMessage).to : undefined;
  const optional = (field: string) => (raw[field] === undefined ? {} : { [field]: raw[field] });
  const count = (field: string) => Number(raw[field] ?? 0);
  return {
    idempotencyKey: touch.idempotencyKey,
    journeyId: touch.journeyId,
    journeyVersion: touch.journeyVersion,
    stepId: touch.stepId,
    channel: touch.channel,
    template: touch.template,
    ...(to !== undefined && { to: maskAddress(to) }),
    status: touch.status,
    queuedAt: touch.at,
    ...optional('sentAt'),
    ...optional('deliveredAt'),
    ...optional('openedAt'),
    ...optional('clickedAt'),
    ...optional('failedAt'),
    ...optional('error'),
    opens: count('opens'),
    clicks: count('clicks'),
    replays: count('replays'),
    ...optional('discardedAt'),
    ...optional('discardReason'),
  };
}
