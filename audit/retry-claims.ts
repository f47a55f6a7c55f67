import type { Redis } from 'ioredis';
import type { RunKeys } from './run-keys';

/** How long a claim waits for its reset before another request may take over (a crashed API). */
const PENDING_SECONDS = 120;
/** How long the answer of a reset is kept for repeats of the same request. */
const DONE_SECONDS = 7 * 86_400;

export type Claim<T> = { claimed: true } | { claimed: false; outcome: T | null };

/** The journey version a reset run belonged to: its counts then show one failed run fewer. */
export interface RetriedRun {
  journeyId: string;
  version: number;
}

/** Claims on failed runs: Redis across API processes, or one process's memory (tests, no Redis). */
export interface ClaimStore<T> {
  claim(workflowId: string, runId: string): Promise<Claim<T>>;
  /** The reset is done: repeats get `outcome`, and the version's retried counter goes up. */
  done(workflowId: string, runId: string, outcome: T, run: RetriedRun): Promise<void>;
  release(workflowId: string, runId: string): Promise<void>;
  /** How many failed runs of the version were reset through the API. */
  retried(journeyId: string, version: number): Promise<number>;
}

/** Claims held in this process only: enough when one API process resets runs. */
export class LocalClaims<T> implements ClaimStore<T> {
  private readonly held = new Map<string, T | null>();
  private readonly counters = new Map<string, number>();

  async claim(workflowId: string, runId: string): Promise<Claim<T>> {
    const key = `${workflowId}/${runId}`;
    if (!this.held.has(key)) {
      this.held.set(key, null);
      return { claimed: true };
    }
    return { claimed: false, outcome: this.held.get(key) ?? null };
  }

  async done(workflowId: string, runId: string, outcome: T, run: RetriedRun): Promise<void> {
    this.held.set(`${workflowId}/${runId}`, outcome);
    const counter = `${run.journeyId}/${run.version}`;
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + 1);
  }

  async release(workflowId: string, runId: string): Promise<void> {
    this.held.delete(`${workflowId}/${runId}`);
  }

  async retried(journeyId: string, version: number): Promise<number> {
    return this.counters.get(`${journeyId}/${version}`) ?? 0;
  }
}

/**
 * One reset per failed run. Temporal does not dedupe resets by request id (the dev server, 1.32,
 * resets twice and terminates the first new run), and a reset of the failed run after another
 * reset would terminate the customer's new run: so the first request claims the run in Redis
 * (SET NX), resets it and stores the answer; a repeat gets that answer, a concurrent one `pending`.
 */
export class RetryClaims<T> implements ClaimStore<T> {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RunKeys,
  ) {}

  async claim(workflowId: string, runId: string): Promise<Claim<T>> {
    const key = this.keys.retryClaim(workflowId, runId);
    if ((await this.redis.set(key, 'pending', 'EX', PENDING_SECONDS, 'NX')) === 'OK')
      return { claimed: true };
    const held = await this.redis.get(key);
    return { claimed: false, outcome: held && held !== 'pending' ? (JSON.parse(held) as T) : null };
  }

  async done(workflowId: string, runId: string, outcome: T, run: RetriedRun): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.retryClaim(workflowId, runId), JSON.stringify(outcome), 'EX', DONE_SECONDS)
      .incr(this.keys.retried(run.journeyId, run.version))
      .exec();
  }

  /** The reset failed: let the next request try. */
  async release(workflowId: string, runId: string): Promise<void> {
    await this.redis.del(this.keys.retryClaim(workflowId, runId));
  }

  async retried(journeyId: string, version: number): Promise<number> {
    return Number((await this.redis.get(this.keys.retried(journeyId, version))) ?? 0);
  }
}
