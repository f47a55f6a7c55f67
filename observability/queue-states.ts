import type { Queue } from 'bullmq';
import { withTimeout } from '../server/timeout';

/** The job states reported per queue (BullMQ's names; `wait` is reported as `waiting`). */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

export interface QueueState {
  queue: string;
  counts: Record<(typeof JOB_STATES)[number], number>;
  /** Seconds since the oldest waiting job became ready (added, plus its delay); 0 when none waits. */
  lagSeconds: number;
}

/** Under Prometheus' default scrape timeout (10 s): a Redis outage costs the queue series, not the scrape. */
const READ_TIMEOUT_MS = 5000;

/**
 * Reads the depth of BullMQ queues at scrape time, each through BullMQ's public API: one
 * MULTI for the counts and one look at the oldest waiting job per queue.
 */
export class QueueStates {
  private readonly queues: Queue[] = [];
  constructor(
    /** Called once per failed read (Redis down or slow). */
    private readonly onReadError: (err: unknown) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  watch(queues: readonly Queue[]): void {
    for (const queue of queues) if (!this.queues.includes(queue)) this.queues.push(queue);
  }

  /** Every watched queue's state; undefined when Redis could not be read (the error is reported). */
  read(): Promise<QueueState[] | undefined> {
    const all = Promise.all(this.queues.map((queue) => this.readOne(queue)));
    return withTimeout(all, READ_TIMEOUT_MS, 'reading the queues').catch((err: unknown) => {
      this.onReadError(err);
      return undefined;
    });
  }

  private async readOne(queue: Queue): Promise<QueueState> {
    const [raw, oldest] = await Promise.all([
      queue.getJobCounts('wait', ...JOB_STATES.filter((s) => s !== 'waiting')),
      // Ascending: the job at the head of the wait list, the next one a worker takes.
      queue.getJobs(['wait'], 0, 0, true),
    ]);
    const counts = Object.fromEntries(
      JOB_STATES.map((state) => [state, raw[state === 'waiting' ? 'wait' : state] ?? 0]),
    ) as QueueState['counts'];
    const job = oldest[0];
    const readyAt = job ? job.timestamp + (job.delay ?? 0) : undefined;
    const lagSeconds = readyAt === undefined ? 0 : Math.max(0, (this.now() - readyAt) / 1000);
    return { queue: queue.name, counts, lagSeconds };
  }
}
