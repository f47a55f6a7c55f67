import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SegmentMembership } from '../router/customer-pipeline';
import { writeDerivedTraitsMany } from './derived-traits';
import type { RedisKeys } from './keys';
import { scanProfileIds, type ProfileStore } from './profiles';
import type { ProfilesConfig } from './profiles-config';
import {
  derivationInputs,
  derivedDiffer,
  deriveTraits,
  RfmModelBuilder,
  rfmInputOf,
  type RfmModelStore,
} from './rfm';

/** BullMQ queue of profile maintenance jobs (the RFM recompute). */
export const PROFILES_QUEUE = 'profiles';
/** The job scheduler of the daily recompute. */
export const RFM_SCHEDULER_ID = 'rfm-recompute';

const SEGMENT_CALLS_AT_ONCE = 16;
export interface RfmRecomputeDeps {
  redis: Redis;
  keys: RedisKeys;
  profiles: ProfileStore;
  config: ProfilesConfig;
  rfm: RfmModelStore;
  /** Told about every customer whose RFM scores, group or lifecycle stage changed. */
  segments?: SegmentMembership;
  logger?: Logger;
  /** Profile keys per SCAN page (default 1000). */
  pageSize?: number;
}

export interface RfmRecomputeResult {
  /** Profiles scanned (second pass). */
  profiles: number;
  buyers: number;
  /** Customers whose derived traits changed. */
  changed: number;
  /** The 20/40/60/80 % values per dimension. */
  quantiles: Record<string, number[]>;
  /** Time of the first pass (the model), within `ms`. */
  modelMs: number;
  ms: number;
}

/**
 * Recomputes RFM for everyone, in two SCANs over the profile hashes (pages, so memory stays flat
 * whatever the number of customers):
 * 1. buyers' orderCount, totalSpend and lastOrderAt go into the histograms: the new model, saved;
 * 2. each profile's scores, group and lifecycle stage are derived again (time passing moves
 *    recency and time-relative stage rules without any event) and the changed ones written; each
 *    customer with changes is passed to the segments hook, with messageId
 *    `rfm:<run time>:<customer>` so a retried run re-reports the same changes under the same id.
 */
export async function recomputeRfm(deps: RfmRecomputeDeps, nowMs = Date.now()): Promise<RfmRecomputeResult> {
  const started = Date.now();
  const builder = new RfmModelBuilder(nowMs);
  const pipelineRead = async (ids: string[]) => {
    const pipeline = deps.redis.pipeline();
    for (const id of ids) pipeline.hmget(deps.keys.profile(id), 'orderCount', 'totalSpend', 'lastOrderAt');
    return ((await pipeline.exec()) ?? []).map(([err, values]) => {
      if (err) throw err;
      return values as (string | null)[];
    });
  };
  for await (const [, rows] of readAhead(
    scanProfileIds(deps.redis, deps.keys, deps.pageSize),
    pipelineRead,
  )) {
    for (const [count, spend, last] of rows) {
      const input = rfmInputOf({
        orderCount: parsed(count),
        totalSpend: parsed(spend),
        lastOrderAt: parsed(last),
      });
      if (input) builder.add(input);
    }
  }
  const model = builder.build();
  const scorer = await deps.rfm.save(model);
  const modelMs = Date.now() - started;

  // Only what scoring and the rules read: a profile's other traits are neither fetched nor decrypted.
  const { fields, tags } = derivationInputs(deps.config);
  const run = new Date(nowMs).toISOString();
  let profiles = 0;
  let changed = 0;
  const read = (ids: string[]) => deps.profiles.getManyFields(ids, fields, { tags });
  for await (const [ids, traits] of readAhead(scanProfileIds(deps.redis, deps.keys, deps.pageSize), read)) {
    profiles += ids.length;
    // Written (compare-and-set in Redis, which also names what changed) only where a value differs.
    const writes = ids.flatMap((id, i) => {
      const values = deriveTraits(traits[i]!, scorer, deps.config, nowMs);
      return derivedDiffer(traits[i]!, values) ? [{ id, profileKey: deps.keys.profile(id), values }] : [];
    });
    const results = await writeDerivedTraitsMany(deps.redis, writes);
    const moved = writes.flatMap(({ id }, i) =>
      results[i]!.length > 0 ? [{ id, traits: results[i]! }] : [],
    );
    changed += moved.length;
    // A few at a time: the hook is safe in parallel (the router calls it from 8 workers).
    for (let i = 0; deps.segments && i < moved.length; i += SEGMENT_CALLS_AT_ONCE) {
      await Promise.all(
        moved
          .slice(i, i + SEGMENT_CALLS_AT_ONCE)
          .map(({ id, traits: names }) =>
            deps.segments!.onCustomerChanged(id, { messageId: `rfm:${run}:${id}`, traits: names }),
          ),
      );
    }
  }
  return {
    profiles,
    buyers: model.buyers,
    changed,
    quantiles: model.quantiles,
    modelMs,
    ms: Date.now() - started,
  };
}

/**
 * Pages with their reads, the next page's SCAN and read already under way while the caller works
 * on the current one: Redis and this process work side by side instead of taking turns.
 */
async function* readAhead<T>(
  pages: AsyncGenerator<string[]>,
  read: (ids: string[]) => Promise<T>,
): AsyncGenerator<[string[], T]> {
  const fetch = (): Promise<[string[], T] | undefined> =>
    pages.next().then(async (page) => (page.done ? undefined : [page.value, await read(page.value)]));
  let next = fetch();
  for (;;) {
    const current = await next;
    if (!current) return;
    next = fetch();
    // A failed read surfaces when awaited; until then it must not count as unhandled.
    next.catch(() => undefined);
    yield current;
  }
}

/** A stored JSON value; undefined when missing or not JSON (an encrypted value, a broken one). */
function parsed(raw: string | null | undefined): unknown {
  if (raw === null || raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export interface RfmScheduleDeps extends RfmRecomputeDeps {
  connection: ConnectionOptions;
  /** BullMQ prefix of the installation's queues. */
  prefix: string;
  logger: Logger;
}

/**
 * The recompute on a schedule: a BullMQ job scheduler (`profiles.rfm.schedule`: cron + time zone,
 * default 03:00 Asia/Shanghai daily) on the `profiles` queue, upserted at start so a changed
 * config takes effect; one worker runs one recompute at a time. When no model exists yet (a new
 * installation), one recompute is queued at start so quantile scores have a population soon.
 */
export class RfmSchedule {
  readonly queue: Queue;
  private worker?: Worker;

  constructor(private readonly deps: RfmScheduleDeps) {
    this.queue = new Queue(PROFILES_QUEUE, { connection: deps.connection, prefix: deps.prefix });
  }

  async start({ worker = true } = {}): Promise<void> {
    const { cron, timezone } = this.deps.config.rfm.schedule;
    const opts = {
      attempts: 3,
      backoff: { type: 'exponential', delay: 30_000 },
      removeOnComplete: 20,
      removeOnFail: 50,
    };
    await this.queue.upsertJobScheduler(
      RFM_SCHEDULER_ID,
      { pattern: cron, tz: timezone },
      { name: 'rfm', opts },
    );
    if (!(await this.deps.rfm.exists())) await this.queue.add('rfm', {}, { ...opts, jobId: 'rfm-initial' });
    if (!worker) return;
    this.worker = new Worker(PROFILES_QUEUE, (job) => this.process(job), {
      connection: this.deps.connection,
      prefix: this.deps.prefix,
      concurrency: 1,
      // A recompute of millions of profiles takes minutes: renew the lock well within that.
      lockDuration: 120_000,
    });
    this.worker.on('failed', (_job, err) =>
      this.deps.logger.warn({ err: err.message }, 'RFM recompute failed'),
    );
    this.worker.on('error', (err) => this.deps.logger.error({ err }, 'profiles worker error'));
  }

  private async process(job: Job): Promise<RfmRecomputeResult> {
    // The tick's own time: a retried run derives (and reports) the same as the first attempt.
    const nowMs = job.opts.prevMillis ?? job.timestamp;
    const result = await recomputeRfm(this.deps, nowMs);
    this.deps.logger.info({ job: job.id, ...result }, 'RFM recomputed');
    return result;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
