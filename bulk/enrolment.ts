import { createHash, randomBytes } from 'node:crypto';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Journey } from '../language/types';
import { eventJobId, type EnrolEvent, type IngestEvent } from '../queues/events';
import { EVENT_JOB_OPTIONS } from '../server/ingest/enqueue';
import { EnrolmentStore, type EnrolmentRecord } from './enrolment-store';

/** BullMQ queue of bulk enrolments: one job per enrolment, run by the router role. */
export const ENROLMENTS_QUEUE = 'enrolments';

/** Fastest enrolment rate the API takes (events per second onto the events queue). */
export const MAX_RATE_PER_SECOND = 5000;

/** Where a segment's members are: S's member set (segmentation/keys.ts), undefined for an unknown segment. */
export interface SegmentMemberSets {
  membersKey(segment: string): string | undefined;
}

/** What enrolments need of the journey catalog. */
export interface EnrolmentCatalog {
  get(id: string): Journey | undefined;
  isOpen?(id: string): boolean;
  refresh?(): Promise<boolean>;
}

export interface SegmentEnrolmentDeps {
  connection: ConnectionOptions;
  /** BullMQ prefix of the installation's queues. */
  prefix: string;
  redis: Redis;
  keyPrefix: string;
  segments: SegmentMemberSets;
  logger: Logger;
}

export interface EnrolmentWorkerDeps extends SegmentEnrolmentDeps {
  catalog: EnrolmentCatalog;
  /** The `events` queue the enrol events go to. */
  eventsQueue: Queue<IngestEvent>;
  /** Members per SSCAN page (default 500). */
  pageSize?: number;
  /** Enrolments run at once, each at its own rate (default 2). */
  concurrency?: number;
  /** BullMQ lock and stall check (tests shorten them to see a crashed worker's job resumed). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** The clock and the wait (tests). */
  now?: () => number;
}

/** `enrol:<journey>:<enrolment>:<customer>`: the same form as the customers API's, one per customer. */
export function enrolmentMessageId(journeyId: string, enrolmentId: string, customerId: string): string {
  return `enrol:${journeyId}:${enrolmentId}:${customerId}`;
}

/** The API's view: progress as a fraction and, while running, the time left at the rate. */
export function describeEnrolment(record: EnrolmentRecord) {
  const left = Math.max(0, record.total - record.queued);
  return {
    ...record,
    progress: record.total > 0 ? Math.min(1, record.queued / record.total) : record.status === 'done' ? 1 : 0,
    // Known once the job has counted the segment (total is 0 until it starts).
    ...(record.status === 'running' ? { etaSeconds: Math.ceil(left / record.ratePerSecond) } : {}),
  };
}

/**
 * The API side of bulk enrolment: creates the record and its job, reads progress.
 * `POST /v1/journeys/:id/enrol {segment, ratePerSecond}` → `create`, `GET /v1/enrolments/:id` → `get`.
 */
export class SegmentEnrolments {
  readonly queue: Queue<{ id: string }>;
  readonly store: EnrolmentStore;

  constructor(private readonly deps: SegmentEnrolmentDeps) {
    this.queue = new Queue(ENROLMENTS_QUEUE, { connection: deps.connection, prefix: deps.prefix });
    this.store = new EnrolmentStore(deps.redis, deps.keyPrefix);
  }

  hasSegment(segment: string): boolean {
    return this.deps.segments.membersKey(segment) !== undefined;
  }

  /**
   * A new enrolment, or the existing one when `idempotencyKey` was used before for this journey
   * and segment (`created: false`). Without a key every call is a new enrolment: enrolling a
   * segment again next week is a normal thing to do, and admission's re-entry rule governs it.
   */
  async create(input: {
    journeyId: string;
    segment: string;
    ratePerSecond: number;
    properties?: Record<string, unknown>;
    idempotencyKey?: string;
  }): Promise<{ record: EnrolmentRecord; created: boolean }> {
    const id = input.idempotencyKey
      ? `enr_${createHash('sha256')
          .update(JSON.stringify([input.journeyId, input.segment, input.idempotencyKey]))
          .digest('hex')
          .slice(0, 24)}`
      : `enr_${randomBytes(12).toString('hex')}`;
    const record: EnrolmentRecord = {
      id,
      journeyId: input.journeyId,
      segment: input.segment,
      ratePerSecond: input.ratePerSecond,
      properties: input.properties ?? {},
      status: 'queued',
      total: 0,
      queued: 0,
      cursor: '0',
      queuedBeforePage: 0,
      createdAt: new Date().toISOString(),
    };
    const created = await this.store.create(record);
    // Added even when the record existed: a crash between the two steps left the job out.
    await this.queue.add(
      'enrol',
      { id },
      {
        jobId: id,
        attempts: 8,
        backoff: { type: 'exponential', delay: 5000 },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    );
    return { record: created ? record : ((await this.store.get(id)) ?? record), created };
  }

  get(id: string): Promise<EnrolmentRecord | undefined> {
    return this.store.get(id);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/**
 * The worker side (router role): each job SSCANs its segment's member set page by page and puts
 * one `enrol` event per member on the events queue (internal `customerId`, messageId
 * `enrol:<journey>:<enrolment>:<customer>`), at most `ratePerSecond` per second, in chunks of a
 * fifth of a second's worth. Progress is written to the record after each chunk, the cursor after
 * each page: a job that crashed (stalled, picked up again) or failed (retried) resumes at its page.
 * A journey that closes (paused, stopped, removed) stops the enrolment there: status `stopped`.
 */
export class EnrolmentWorker {
  private worker?: Worker<{ id: string }>;
  private readonly store: EnrolmentStore;

  constructor(private readonly deps: EnrolmentWorkerDeps) {
    this.store = new EnrolmentStore(deps.redis, deps.keyPrefix);
  }

  start(): Worker<{ id: string }> {
    this.worker = new Worker<{ id: string }>(ENROLMENTS_QUEUE, (job) => this.process(job), {
      connection: this.deps.connection,
      prefix: this.deps.prefix,
      concurrency: this.deps.concurrency ?? 2,
      ...(this.deps.lockDurationMs !== undefined && { lockDuration: this.deps.lockDurationMs }),
      ...(this.deps.stalledIntervalMs !== undefined && { stalledInterval: this.deps.stalledIntervalMs }),
      // A long enrolment survives a few crashes of the process running it.
      maxStalledCount: 5,
    });
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      this.deps.logger.warn(
        { enrolment: job.data.id, attempt: job.attemptsMade, err: err.message },
        'bulk enrolment failed',
      );
      if (job.attemptsMade >= (job.opts.attempts ?? 1))
        void this.store
          .update(job.data.id, {
            status: 'failed',
            reason: err.message,
            finishedAt: new Date().toISOString(),
          })
          .catch(() => undefined);
    });
    this.worker.on('error', (err) => this.deps.logger.error({ err }, 'enrolment worker error'));
    return this.worker;
  }

  private async process(job: Job<{ id: string }>): Promise<{ queued: number; status: string }> {
    const record = await this.store.get(job.data.id);
    if (!record) return { queued: 0, status: 'missing' };
    if (record.status === 'done' || record.status === 'stopped')
      return { queued: record.queued, status: record.status };
    return runEnrolment(this.deps, this.store, record);
  }

  async close(): Promise<void> {
    await this.worker?.close();
  }
}

/** One enrolment from its record's cursor to the end of its segment (or until its journey closes). */
export async function runEnrolment(
  deps: Pick<
    EnrolmentWorkerDeps,
    'redis' | 'segments' | 'catalog' | 'eventsQueue' | 'logger' | 'pageSize' | 'now'
  >,
  store: EnrolmentStore,
  record: EnrolmentRecord,
): Promise<{ queued: number; status: string }> {
  const now = deps.now ?? Date.now;
  const { id, journeyId, segment } = record;
  const stop = async (status: 'stopped' | 'failed', reason: string) => {
    await store.update(id, { status, reason, finishedAt: new Date(now()).toISOString() });
    deps.logger.info(
      { enrolment: id, journeyId, segment, status, reason, queued: record.queued },
      'bulk enrolment ended',
    );
    return { queued: record.queued, status };
  };
  const membersKey = deps.segments.membersKey(segment);
  if (!membersKey) return stop('failed', `segment ${JSON.stringify(segment)} is not defined (any more)`);
  const journeyClosed = async () => {
    await deps.catalog.refresh?.();
    if (!deps.catalog.get(journeyId)) return `journey ${JSON.stringify(journeyId)} no longer exists`;
    if (deps.catalog.isOpen && !deps.catalog.isOpen(journeyId))
      return `journey ${JSON.stringify(journeyId)} takes no new entries (paused or stopped)`;
    return undefined;
  };

  let queued = record.queuedBeforePage; // the page under way is redone in full
  let cursor = record.cursor;
  const first = record.startedAt === undefined;
  await store.update(id, {
    status: 'running',
    queued,
    ...(first && { startedAt: new Date(now()).toISOString(), total: await deps.redis.scard(membersKey) }),
  });
  record.queued = queued;

  // Pacing from this run's start: after n events, not before start + n / rate seconds.
  const rate = record.ratePerSecond;
  const chunkSize = Math.max(1, Math.min(500, Math.floor(rate / 5)));
  const started = now();
  let sentThisRun = 0;
  const receivedAt = new Date(now()).toISOString();
  const properties = { source: 'segment', segment, enrolment: id, ...record.properties };

  do {
    const closed = await journeyClosed();
    if (closed) return stop('stopped', closed);
    const [next, members] = await deps.redis.sscan(membersKey, cursor, 'COUNT', deps.pageSize ?? 500);
    for (let i = 0; i < members.length; i += chunkSize) {
      const chunk = members.slice(i, i + chunkSize);
      const due = started + ((sentThisRun + chunk.length) * 1000) / rate;
      const wait = due - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const timestamp = new Date(now()).toISOString();
      await deps.eventsQueue.addBulk(
        chunk.map((customerId) => {
          const data: EnrolEvent = {
            type: 'enrol',
            journeyId,
            // userId as the API's enrolments have it; the router goes by customerId (following merges).
            userId: customerId,
            customerId,
            messageId: enrolmentMessageId(journeyId, id, customerId),
            properties,
            timestamp,
            receivedAt,
          };
          return { name: data.type, data, opts: { ...EVENT_JOB_OPTIONS, jobId: eventJobId(data.messageId) } };
        }),
      );
      sentThisRun += chunk.length;
      queued += chunk.length;
      record.queued = queued;
      await store.update(id, { queued });
    }
    cursor = next;
    // The last page and `done` in one write: a cursor back at 0 must never look like a fresh start.
    await store.update(id, {
      cursor,
      queuedBeforePage: queued,
      ...(cursor === '0' && { status: 'done' as const, finishedAt: new Date(now()).toISOString() }),
    });
  } while (cursor !== '0');

  deps.logger.info({ enrolment: id, journeyId, segment, queued }, 'bulk enrolment done');
  return { queued, status: 'done' };
}
