import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { EVENTS_QUEUE, eventJobId, type IngestEvent } from '../../queues/events';
import { EVENT_JOB_OPTIONS } from '../../server/ingest/enqueue';
import { AppProcess } from '../lib/app-process';
import { log, stopApp, type BenchContext } from './setup';
import { sleep } from './stats';

/**
 * A router process of its own (`--role router`) on queue and key prefixes of its own and without
 * journeys, for the customer phases: what it does per event is the customer pipeline alone
 * (identity resolution, profile merge, computed traits, segment membership), with no Temporal
 * call that journeys would add. Shipped segments (segments/*.yaml) and config defaults apply.
 */
export interface CustomerRouter {
  app: AppProcess;
  queuePrefix: string;
  keyPrefix: string;
  /** Its events queue, from the bench process. */
  events: Queue<IngestEvent>;
  /** Queues `events` on the paused queue, then resumes it; resolves when all are done (ms taken). */
  process(events: IngestEvent[]): Promise<{ ms: number; failed: number }>;
  stop(): Promise<void>;
}

export async function startCustomerRouter(ctx: BenchContext, name: string): Promise<CustomerRouter> {
  const dir = path.join(ctx.dir, name);
  const emptyJourneys = path.join(dir, 'no-journeys');
  await mkdir(emptyJourneys, { recursive: true });
  const queuePrefix = `${ctx.queuePrefix}-${name}`;
  const keyPrefix = `${ctx.keyPrefix}-${name}`;
  const app = new AppProcess(
    dir,
    0,
    ctx.appEnv({
      TOUCHPOINT_QUEUE_PREFIX: queuePrefix,
      TOUCHPOINT_KEY_PREFIX: keyPrefix,
      TOUCHPOINT_JOURNEYS_DIR: emptyJourneys,
      TOUCHPOINT_SEED_JOURNEYS: 'false',
    }),
    'router',
  );
  const events = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: ctx.redis, prefix: queuePrefix });
  await events.pause();
  log(`${name}: starting a router process of its own (no journeys)`);
  await app.start();
  return {
    app,
    queuePrefix,
    keyPrefix,
    events,
    async process(list) {
      const before = await events.getJobCounts('completed', 'failed');
      await events.pause();
      for (let i = 0; i < list.length; i += 1000) {
        await events.addBulk(
          list.slice(i, i + 1000).map((data) => ({
            name: data.type,
            data,
            opts: { ...EVENT_JOB_OPTIONS, jobId: eventJobId(data.messageId) },
          })),
        );
      }
      const started = performance.now();
      await events.resume();
      const deadline = Date.now() + 5 * 60_000;
      for (;;) {
        const counts = await events.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
        const done = counts.completed! - before.completed! + (counts.failed! - before.failed!);
        // A failed attempt goes to `delayed` for its retry: counted once it finally fails or completes.
        if (done >= list.length && counts.waiting === 0 && counts.active === 0) {
          return { ms: performance.now() - started, failed: counts.failed! - before.failed! };
        }
        if (Date.now() > deadline)
          throw new Error(`${name}: router did not finish ${list.length} events: ${JSON.stringify(counts)}`);
        await sleep(25);
      }
    },
    async stop() {
      await events.close();
      await stopApp(app);
    },
  };
}
