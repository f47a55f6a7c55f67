import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisKeys } from '../customers/keys';
import { scanProfileIds, type ProfileStore } from '../customers/profiles';
import { evaluate } from '../language/conditions';
import { customerZone } from '../language/timing';
import type { Condition, Journey } from '../language/types';
import { eventJobId, type EnrolEvent, type IngestEvent } from '../queues/events';
import { EVENT_JOB_OPTIONS } from '../server/ingest/enqueue';

/** BullMQ queue of schedule ticks: one job scheduler per open journey with `entry.schedule`. */
export const SCHEDULES_QUEUE = 'schedules';

/** The data of one tick job. */
export interface ScheduleTick {
  journeyId: string;
}

/** What schedules need of the journey catalog (router/journey-catalog.ts). */
export interface ScheduleCatalog {
  get(id: string): Journey | undefined;
  /** The journeys (current versions) whose entry is a `schedule`. */
  scheduled(): Journey[];
  /** Whether the journey takes new entries (published, not paused / stopped); default: all do. */
  isOpen?(id: string): boolean;
  /** Reloads when the registry changed (a store-backed catalog); called before each sync and tick. */
  refresh?(): Promise<boolean>;
}

export interface ScheduleDeps {
  connection: ConnectionOptions;
  /** BullMQ prefix of the installation's queues. */
  prefix: string;
  redis: Redis;
  keys: RedisKeys;
  profiles: ProfileStore;
  catalog: ScheduleCatalog;
  /** The `events` queue: each tick puts one `enrol` event per matching customer on it. */
  eventsQueue: Queue<IngestEvent>;
  logger: Logger;
  /** Profile keys per SCAN page (default 500). */
  pageSize?: number;
  /** Enrol events per addBulk (default 500). */
  chunkSize?: number;
}

/** The job scheduler id of a journey's schedule (BullMQ keeps ':' for its own ids). */
export function schedulerId(journeyId: string): string {
  return `entry-${journeyId}`;
}

const SCHEDULER_PREFIX = schedulerId('');

/** `schedule:<journey>:<tick time>:<customer>`: a retried tick enrols nobody twice. */
export function scheduledMessageId(journeyId: string, tickMs: number, customerId: string): string {
  return `schedule:${journeyId}:${new Date(tickMs).toISOString()}:${customerId}`;
}

type ScheduledEntry = { schedule: { cron: string; timezone: string }; where?: Condition };

function scheduleOf(journey: Journey): ScheduledEntry | undefined {
  return 'schedule' in journey.entry ? (journey.entry as ScheduledEntry) : undefined;
}

/**
 * Scheduled entry. Every journey whose entry is `schedule: { cron, timezone }` gets a BullMQ job
 * scheduler (pattern + tz, ending at `entry.endAt`) on the `schedules` queue; the tick worker then
 * enrols every customer whose profile matches the journey's `where`, as `enrol` events on the
 * `events` queue, so admission (re-entry, limit, cap) applies to them like to any entry.
 *
 * `sync()` makes the schedulers follow the catalog: open scheduled journeys get one (upserted when
 * new or changed), paused / stopped / ended / removed ones lose theirs. It does Redis work only
 * when the set of open scheduled journeys changed since the last successful sync; `start()` runs
 * it every `syncIntervalMs`, so several router processes converge on the same schedulers.
 */
export class JourneySchedules {
  readonly queue: Queue<ScheduleTick>;
  private worker?: Worker<ScheduleTick>;
  private timer?: NodeJS.Timeout;
  private lastSynced?: string;
  private syncing?: Promise<unknown>;

  constructor(private readonly deps: ScheduleDeps) {
    this.queue = new Queue<ScheduleTick>(SCHEDULES_QUEUE, {
      connection: deps.connection,
      prefix: deps.prefix,
    });
  }

  /** The open scheduled journeys as their schedulers should be: id → repeat options. */
  private desired(nowMs = Date.now()): Map<string, { pattern: string; tz: string; endDate?: number }> {
    const wanted = new Map<string, { pattern: string; tz: string; endDate?: number }>();
    for (const journey of this.deps.catalog.scheduled()) {
      const entry = scheduleOf(journey);
      if (!entry || !(this.deps.catalog.isOpen?.(journey.id) ?? true)) continue;
      const endDate = journey.entry.endAt === undefined ? undefined : Date.parse(journey.entry.endAt);
      if (endDate !== undefined && !(endDate > nowMs)) continue;
      wanted.set(schedulerId(journey.id), {
        pattern: entry.schedule.cron,
        tz: entry.schedule.timezone,
        ...(endDate !== undefined && !Number.isNaN(endDate) ? { endDate } : {}),
      });
    }
    return wanted;
  }

  /**
   * Upserts the scheduler of each open scheduled journey whose schedule differs from the stored
   * one, and removes the schedulers of journeys no longer open or scheduled. `force`: even when
   * nothing changed since the last sync (another process may have changed the schedulers).
   */
  async sync({ force = false } = {}): Promise<{ upserted: string[]; removed: string[] }> {
    // One sync at a time: the interval and an explicit call never interleave.
    while (this.syncing) await this.syncing.catch(() => undefined);
    const run = this.syncNow(force);
    this.syncing = run;
    try {
      return await run;
    } finally {
      this.syncing = undefined;
    }
  }

  private async syncNow(force: boolean): Promise<{ upserted: string[]; removed: string[] }> {
    await this.deps.catalog.refresh?.();
    const wanted = this.desired();
    const signature = JSON.stringify([...wanted].sort(([a], [b]) => a.localeCompare(b)));
    const done = { upserted: [] as string[], removed: [] as string[] };
    if (!force && signature === this.lastSynced) return done;

    const existing = new Map(
      (await this.queue.getJobSchedulers(0, -1))
        .filter((s) => s.key.startsWith(SCHEDULER_PREFIX))
        .map((s) => [s.key, s]),
    );
    for (const [id, opts] of wanted) {
      const have = existing.get(id);
      if (have && have.pattern === opts.pattern && have.tz === opts.tz && have.endDate === opts.endDate)
        continue;
      const journeyId = id.slice(SCHEDULER_PREFIX.length);
      await this.queue.upsertJobScheduler(id, opts, {
        name: 'tick',
        data: { journeyId },
        opts: {
          attempts: 3,
          backoff: { type: 'exponential', delay: 5000 },
          removeOnComplete: 100,
          removeOnFail: 100,
        },
      });
      done.upserted.push(journeyId);
    }
    for (const id of existing.keys()) {
      if (wanted.has(id)) continue;
      await this.queue.removeJobScheduler(id);
      done.removed.push(id.slice(SCHEDULER_PREFIX.length));
    }
    this.lastSynced = signature;
    if (done.upserted.length || done.removed.length) this.deps.logger.info(done, 'journey schedules synced');
    return done;
  }

  /** The tick worker plus a sync now and every `syncIntervalMs` (default 5 s). */
  async start({ syncIntervalMs = 5000 } = {}): Promise<Worker<ScheduleTick>> {
    await this.sync({ force: true });
    this.timer = setInterval(() => {
      this.sync().catch((err) => this.deps.logger.error({ err }, 'journey schedule sync failed'));
    }, syncIntervalMs);
    this.timer.unref();
    this.worker = new Worker<ScheduleTick>(SCHEDULES_QUEUE, (job) => this.process(job), {
      connection: this.deps.connection,
      prefix: this.deps.prefix,
      concurrency: 1,
    });
    this.worker.on('failed', (job, err) =>
      this.deps.logger.warn({ journeyId: job?.data.journeyId, err: err.message }, 'schedule tick failed'),
    );
    this.worker.on('error', (err) => this.deps.logger.error({ err }, 'schedule worker error'));
    return this.worker;
  }

  private async process(job: Job<ScheduleTick>) {
    const { journeyId } = job.data;
    // The tick's own time (not when it ran): the same tick retried makes the same messageIds.
    const tickMs = job.opts.prevMillis ?? job.timestamp;
    await this.deps.catalog.refresh?.();
    const journey = this.deps.catalog.get(journeyId);
    if (!journey || !scheduleOf(journey) || !(this.deps.catalog.isOpen?.(journeyId) ?? true)) {
      // Paused / stopped / removed since the scheduler was synced: the next sync removes it.
      return { skipped: true };
    }
    const result = await runScheduleTick(this.deps, journey, tickMs);
    this.deps.logger.info({ journeyId, tick: new Date(tickMs).toISOString(), ...result }, 'schedule tick');
    return result;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.worker?.close();
    await this.syncing?.catch(() => undefined);
    await this.queue.close();
  }
}

/**
 * One tick of a scheduled journey: scans every profile (SCAN in pages), keeps those whose traits
 * (with tags) match the journey's `where` at the tick time, and queues an `enrol` event for each
 * with messageId `schedule:<journey>:<tick>:<customer>`, in chunks. Admission decides later.
 *
 * The scan reads every profile each tick; segments (a later issue) will replace it with the
 * segment's member list. Customers without a profile (never identified) are not reached.
 */
export async function runScheduleTick(
  deps: Pick<ScheduleDeps, 'redis' | 'keys' | 'profiles' | 'eventsQueue' | 'pageSize' | 'chunkSize'>,
  journey: Journey,
  tickMs: number,
): Promise<{ scanned: number; enrolled: number }> {
  const where = scheduleOf(journey)?.where;
  const tick = new Date(tickMs).toISOString();
  const receivedAt = new Date().toISOString();
  const chunkSize = deps.chunkSize ?? 500;
  let pending: EnrolEvent[] = [];
  let scanned = 0;
  let enrolled = 0;

  const flush = async () => {
    const events = pending;
    pending = [];
    if (events.length === 0) return;
    await deps.eventsQueue.addBulk(
      events.map((data) => ({
        name: data.type,
        data,
        opts: { ...EVENT_JOB_OPTIONS, jobId: eventJobId(data.messageId) },
      })),
    );
  };

  for await (const ids of scanProfileIds(deps.redis, deps.keys, deps.pageSize ?? 500)) {
    scanned += ids.length;
    const profiles = await deps.profiles.getMany(ids, { tags: true });
    ids.forEach((customerId, i) => {
      const traits = profiles[i]!;
      const zone = customerZone(traits);
      if (where && !evaluate(where, { traits, properties: {}, nowMs: tickMs, timeZone: zone })) return;
      pending.push({
        type: 'enrol',
        journeyId: journey.id,
        userId: customerId,
        customerId,
        messageId: scheduledMessageId(journey.id, tickMs, customerId),
        properties: { source: 'schedule', scheduledAt: tick },
        timestamp: tick,
        receivedAt,
      });
      enrolled += 1;
    });
    if (pending.length >= chunkSize) await flush();
  }
  await flush();
  return { scanned, enrolled };
}
