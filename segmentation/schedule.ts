import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisKeys } from '../customers/keys';
import type { SegmentEngine } from './engine';
import { reevaluateAll, type ReevaluationResult } from './reevaluate';

/** BullMQ queue of re-evaluation ticks (one job scheduler). */
export const SEGMENTS_QUEUE = 'segments';
/** The job scheduler's id (BullMQ keeps ':' for its own ids). */
export const REEVALUATE_SCHEDULER = 'segments-reevaluate';

export interface SegmentScheduleDeps {
  connection: ConnectionOptions;
  /** BullMQ prefix of the installation's queues. */
  prefix: string;
  engine: SegmentEngine;
  /** The customers' keys: the pass SCANs the profile hashes. */
  customerKeys: RedisKeys;
  /** How often (ms); `false`: no scheduled re-evaluation (the scheduler is removed). */
  everyMs: number | false;
  pageSize?: number;
  logger: Logger;
}

/** `reevaluate:<tick ISO time>`: the cause a tick's changes are recorded and announced under. */
export function reevaluationCause(tickMs: number): string {
  return `reevaluate:${new Date(tickMs).toISOString()}`;
}

/**
 * The scheduled re-evaluation: a BullMQ job scheduler (`every` the configured interval) on the
 * `segments` queue, and its worker (concurrency 1: a pass never overlaps another in one process).
 * Each tick runs reevaluateAll at the tick's own time (the engine's clock when it has one), under
 * the cause `reevaluate:<tick>`, so a retried tick re-queues what it changed and nothing twice.
 * Several router processes share the one scheduler: BullMQ hands each tick to one of them.
 */
export class SegmentSchedule {
  readonly queue: Queue;
  private worker?: Worker;

  constructor(private readonly deps: SegmentScheduleDeps) {
    this.queue = new Queue(SEGMENTS_QUEUE, { connection: deps.connection, prefix: deps.prefix });
  }

  /** Upserts (or removes, when off or without segments) the scheduler, then starts the worker. */
  async start(): Promise<void> {
    const { everyMs, engine } = this.deps;
    if (everyMs === false || engine.catalog.list().length === 0) {
      await this.queue.removeJobScheduler(REEVALUATE_SCHEDULER);
      return;
    }
    await this.queue.upsertJobScheduler(
      REEVALUATE_SCHEDULER,
      { every: everyMs },
      {
        name: 'reevaluate',
        data: {},
        opts: {
          attempts: 3,
          backoff: { type: 'exponential', delay: 10_000 },
          removeOnComplete: 100,
          removeOnFail: 100,
        },
      },
    );
    this.worker = new Worker(SEGMENTS_QUEUE, (job) => this.process(job), {
      connection: this.deps.connection,
      prefix: this.deps.prefix,
      concurrency: 1,
      // A pass over a million customers takes minutes; keep the lock renewed well within that.
      lockDuration: 60_000,
    });
    this.worker.on('failed', (job, err) =>
      this.deps.logger.warn({ attempt: job?.attemptsMade, err: err.message }, 'segment re-evaluation failed'),
    );
    this.worker.on('error', (err) => this.deps.logger.error({ err }, 'segment worker error'));
  }

  private async process(job: Job): Promise<ReevaluationResult> {
    const tickMs = job.opts.prevMillis ?? job.timestamp;
    const result = await this.runTick(tickMs, job.attemptsStarted > 1);
    this.deps.logger.info({ tick: new Date(tickMs).toISOString(), ...result }, 'segments re-evaluated');
    return result;
  }

  /** One pass, as a tick at `tickMs` runs it (tests call it with a clock they control). */
  runTick(tickMs: number, retry = false): Promise<ReevaluationResult> {
    return reevaluateAll(this.deps.engine, this.deps.customerKeys, {
      nowMs: this.deps.engine.deps.now?.() ?? tickMs,
      causeId: reevaluationCause(tickMs),
      retry,
      pageSize: this.deps.pageSize,
    });
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
