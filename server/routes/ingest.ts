import express, { type Router } from 'express';
import type { Queue } from 'bullmq';
import type { IngestEvent } from '../../queues/events';
import type { Access } from '../auth';
import { enqueueEvents } from '../ingest/enqueue';
import { toIngestEvent } from '../ingest/normalise';
import { validateBatch, validateMessage } from '../ingest/validate';
import { jsonBody } from '../json-body';

export interface IngestRouterOptions {
  access: Access;
  eventsQueue: Queue<IngestEvent>;
  bodyLimit?: number | string;
  enqueueTimeoutMs: number;
  /** Told of each request's events once they are queued: counts and logs them (observability/ingest.ts). */
  onAccepted?: (events: readonly IngestEvent[]) => void;
}

/**
 * Segment-compatible ingestion: POST /track, /identify and /batch. Authenticated before the body
 * is read; validated in full before anything is queued; 202 only once Redis holds the jobs.
 */
export function ingestRouter({
  access,
  eventsQueue,
  bodyLimit,
  enqueueTimeoutMs,
  onAccepted,
}: IngestRouterOptions): Router {
  const router = express.Router();
  const guard = [access.require('events:write'), ...jsonBody(bodyLimit)];
  const accept = async (events: IngestEvent[]) => {
    await enqueueEvents(eventsQueue, events, enqueueTimeoutMs);
    onAccepted?.(events);
  };

  for (const type of ['track', 'identify'] as const) {
    router.post(`/${type}`, ...guard, async (req, res) => {
      const event = toIngestEvent(validateMessage(type, req.body), new Date());
      await accept([event]);
      res.status(202).json({ accepted: 1 });
    });
  }

  router.post('/batch', ...guard, async (req, res) => {
    const receivedAt = new Date();
    const { messages, context } = validateBatch(req.body);
    const events = messages.map((message) => toIngestEvent(message, receivedAt, context));
    await accept(events);
    res.status(202).json({ accepted: events.length });
  });

  return router;
}
