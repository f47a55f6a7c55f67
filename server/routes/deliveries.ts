import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../../audit-log/types';
import { TOUCH_OUTCOME_FIELDS, touchFields, type TouchLog, type TouchRecord } from '../../customers/touches';
import { InvalidCursorError, type DeadLetterAction, type DeadLetters } from '../../delivery/dead-letters';
import { maskAddress } from '../../delivery/mask-address';
import type { DeliveryMessage } from '../../delivery/message';
import type { DeliveryOutcomes } from '../../delivery/outcomes';
import type { LinkTracker } from '../../delivery/tracking';
import { CHANNELS, type Channel } from '../../language/types';
import type { Access } from '../auth';
import { ApiError, formatPath, invalidRequest } from '../errors';
import { auditChange } from './audit-log';

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

const reasonBody = (why: string) =>
  z.object({
    reason: z
      .string({ error: `is required: say why ${why}` })
      .trim()
      .min(1, 'must not be empty')
      .max(500, 'must be at most 500 characters'),
  });
const discardBody = reasonBody('the message is thrown away');
const replayBody = reasonBody('it is sent again');

/** The operator's reason, as JSON `{"reason": "..."}` or as `?reason=`. */
function reasonOf(req: Request, schema: typeof discardBody): string {
  const given = (req.body as { reason?: unknown } | undefined)?.reason ?? req.query.reason;
  return parse(schema, { reason: given }).reason;
}

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
 * API under /v1/deliveries (reads runs:read, actions runs:operate): the dead letters of the delivery queues (list, replay one or a
 * whole channel, discard with a reason) and a customer's touches with their outcomes.
 */
export function deliveriesRouter({
  access,
  auditLog,
  deliveries,
}: {
  access: Access;
  auditLog: AuditLog;
  deliveries: DeliveryApi;
}): Router {
  const router = express.Router();
  const read = access.require('runs:read');
  const operate = access.require('runs:operate');

  router.get('/dead-letters', read, async (req, res) => {
    const query = parse(listQuery, req.query);
    try {
      res.json(await deliveries.deadLetters.list(query));
    } catch (err) {
      if (err instanceof InvalidCursorError) throw invalidRequest([{ path: 'cursor', message: err.message }]);
      throw err;
    }
  });

  // Every action takes the operator's reason, as JSON `{"reason": "..."}` or as `?reason=`.
  const body = express.json({ limit: '10kb' });

  router.post('/dead-letters/:channel/replay', operate, body, async (req, res) => {
    const channel = channelParam(String(req.params.channel));
    const reason = reasonOf(req, replayBody);
    const { replayed } = await deliveries.deadLetters.replayAll(channel);
    if (replayed > 0) {
      await auditChange(auditLog, req, res, {
        action: 'dead-letter.replay',
        target: `dead-letters:${channel}`,
        reason,
        detail: { replayed },
      });
    }
    res.status(202).json({ channel, replayed });
  });

  router.post('/dead-letters/:channel/:jobId/replay', operate, body, async (req, res) => {
    const channel = channelParam(String(req.params.channel));
    const jobId = String(req.params.jobId);
    const reason = reasonOf(req, replayBody);
    answerAction(await deliveries.deadLetters.replay(channel, jobId), channel, jobId);
    await auditChange(auditLog, req, res, {
      action: 'dead-letter.replay',
      target: `dead-letter:${channel}/${jobId}`,
      reason,
      detail: { replayed: 1 },
    });
    res.status(202).json({ channel, jobId, replayed: 1 });
  });

  router.delete('/dead-letters/:channel/:jobId', operate, body, async (req, res) => {
    const channel = channelParam(String(req.params.channel));
    const jobId = String(req.params.jobId);
    const reason = reasonOf(req, discardBody);
    answerAction(await deliveries.deadLetters.discard(channel, jobId, reason), channel, jobId);
    await auditChange(auditLog, req, res, {
      action: 'dead-letter.discard',
      target: `dead-letter:${channel}/${jobId}`,
      reason,
    });
    res.json({ channel, jobId, discarded: 1, reason });
  });

  router.get('/customers/:customerId/touches', read, async (req, res) => {
    const touches = await deliveries.touches.forCustomer(String(req.params.customerId));
    res.json({ touches: touches.map(auditView) });
  });

  return router;
}

/** A touch as the audit shows it: what, when, what became of it; the address masked, no body. */
function auditView(touch: TouchRecord & { idempotencyKey: string }) {
  const raw = touch as unknown as Record<string, string | number | undefined>;
  const to = touch.message ? (JSON.parse(touch.message) as DeliveryMessage).to : undefined;
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
    ...touchFields(touch, TOUCH_OUTCOME_FIELDS),
    opens: count('opens'),
    clicks: count('clicks'),
    replays: count('replays'),
    ...touchFields(touch, ['discardedAt', 'discardReason', 'correlationId']),
  };
}
