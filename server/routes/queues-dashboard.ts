import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type Router } from 'express';
import type { Queue } from 'bullmq';
import type { Access } from '../auth';

/** Where the dashboard lives. */
export const QUEUES_DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board over every BullMQ queue, for `queues:dashboard` (admins). A browser signs in with
 * the console's session cookie; scripts send a Bearer key. Read-only: Bull Board itself refuses
 * its retry / clean / pause / remove calls (405), because changes to queued work go through the
 * API, which checks each operator's permission and writes the audit log (dead letters).
 */
export function queuesDashboardRouter({
  access,
  queues,
}: {
  access: Access;
  queues: readonly Queue[];
}): Router {
  const serverAdapter = new ExpressAdapter().setBasePath(QUEUES_DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Touchpoint queues' } },
  });
  const board = serverAdapter.getRouter() as express.Express;
  board.disable('x-powered-by');
  const router = express.Router();
  router.use(QUEUES_DASHBOARD_PATH, access.require('queues:dashboard'), board);
  return router;
}
