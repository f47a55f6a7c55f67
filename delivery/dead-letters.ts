import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TouchLog } from '../customers/touches';
import { CHANNELS, type Channel } from '../language/types';
import { maskAddress } from './mask-address';
import type { DeliveryMessage } from './message';
import type { DeliveryQueues } from './queues';

/** A message the delivery worker gave up on, as operators see it (the address masked). */
export interface DeadLetter {
  channel: Channel;
  /** BullMQ job id: what replay and discard take. */
  jobId: string;
  idempotencyKey: string;
  journeyId: string;
  journeyVersion: number;
  stepId: string;
  customerId: string;
  template: string;
  to: string;
  error: string;
  attempts: number;
  failedAt: string;
}

export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** Where a page ends: the failure time and job id of its last dead letter (newest first). */
interface Position {
  t: number;
  id: string;
}

export type DeadLetterAction = 'done' | 'not-found' | 'not-dead';

/** Bulk replay puts this many jobs back at once. */
const REPLAY_CHUNK = 50;

/**
 * Dead letters are the delivery queues' failed jobs: permanent failures and messages out of
 * attempts, kept 30 days (enqueueDelivery's removeOnFail). They are listed newest first, from
 * BullMQ's `failed` sorted set (scored by failure time), with a cursor that stays valid while
 * other dead letters are replayed or discarded.
 *
 * A replay retries the same job with fresh attempts, so it goes through deliverOnce again under
 * the same idempotency key: a message whose marker says `sent` completes as already sent, and
 * one that died mid-send is checked with the provider first. A replay never sends twice.
 */
export class DeadLetters {
  constructor(
    private readonly redis: Redis,
    private readonly queues: DeliveryQueues,
    private readonly touches: TouchLog,
    private readonly logger: Logger,
  ) {}

  async list(options: { channel?: Channel; limit: number; cursor?: string }): Promise<DeadLetterPage> {
    const after = options.cursor ? decodeCursor(options.cursor) : null;
    const channels = options.channel ? [options.channel] : CHANNELS;
    // One more than asked: whether it exists tells if there is a next page.
    const perChannel = await Promise.all(
      channels.map(async (channel) =>
        (await this.failedAfter(channel, after, options.limit + 1)).map((p) => ({ channel, ...p })),
      ),
    );
    const positions = perChannel
      .flat()
      .sort(newestFirst)
      .slice(0, options.limit + 1);
    const page = positions.slice(0, options.limit);
    const jobs = await Promise.all(page.map((p) => this.queues[p.channel].getJob(p.id)));
    const deadLetters = page.flatMap((p, i) => {
      const job = jobs[i];
      return job ? [describe(p.channel, job, p.t)] : [];
    });
    const last = page[page.length - 1];
    const nextCursor = positions.length > options.limit && last ? encodeCursor(last) : null;
    return { deadLetters, nextCursor };
  }

  /** Puts the dead letter back on its queue with a fresh set of attempts. */
  async replay(channel: Channel, jobId: string): Promise<DeadLetterAction> {
    const job = await this.queues[channel].getJob(jobId);
    if (!job) return 'not-found';
    if ((await job.getState()) !== 'failed') return 'not-dead';
    // Before the retry: once retried, the job may fail again before this line would run.
    await this.touches.markReplayed(job.data.idempotencyKey, new Date().toISOString());
    try {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    } catch (err) {
      // Replayed or discarded by someone else in the meantime.
      if ((await job.getState()) !== 'failed') return 'not-dead';
      throw err;
    }
    this.logger.info({ channel, jobId, idempotencyKey: job.data.idempotencyKey }, 'dead letter replayed');
    return 'done';
  }

  /** Replays every dead letter of the channel there is when it starts. */
  async replayAll(channel: Channel): Promise<{ replayed: number }> {
    const ids = await this.redis.zrange(this.queues[channel].keys.failed!, 0, -1);
    let replayed = 0;
    for (let i = 0; i < ids.length; i += REPLAY_CHUNK) {
      const results = await Promise.all(ids.slice(i, i + REPLAY_CHUNK).map((id) => this.replay(channel, id)));
      replayed += results.filter((r) => r === 'done').length;
    }
    return { replayed };
  }

  /** Removes the dead letter for good; the reason goes to the log and onto the touch. */
  async discard(channel: Channel, jobId: string, reason: string): Promise<DeadLetterAction> {
    const job = await this.queues[channel].getJob(jobId);
    if (!job) return 'not-found';
    if ((await job.getState()) !== 'failed') return 'not-dead';
    await this.touches.markDiscarded(job.data.idempotencyKey, reason, new Date().toISOString());
    await job.remove();
    this.logger.info(
      { channel, jobId, idempotencyKey: job.data.idempotencyKey, reason },
      'dead letter discarded',
    );
    return 'done';
  }

  /** Up to `limit` positions of the channel's failed set strictly after `after`, newest first. */
  private async failedAfter(channel: Channel, after: Position | null, limit: number): Promise<Position[]> {
    const key = this.queues[channel].keys.failed!;
    if (!after)
      return toPositions(
        await this.redis.zrevrangebyscore(key, '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, limit),
      );
    // Failures in the same millisecond as the cursor are ordered by job id, as Redis orders ties.
    const ties = (await this.redis.zrevrangebyscore(key, after.t, after.t))
      .filter((id) => id < after.id)
      .map((id) => ({ t: after.t, id }));
    const older = toPositions(
      await this.redis.zrevrangebyscore(key, `(${after.t}`, '-inf', 'WITHSCORES', 'LIMIT', 0, limit),
    );
    return [...ties, ...older].slice(0, limit);
  }
}

function describe(channel: Channel, job: Job<DeliveryMessage>, failedAt: number): DeadLetter {
  const m = job.data;
  return {
    channel,
    jobId: job.id!,
    idempotencyKey: m.idempotencyKey,
    journeyId: m.journeyId,
    journeyVersion: m.journeyVersion,
    stepId: m.stepId,
    customerId: m.customerId,
    template: m.template,
    to: maskAddress(m.to),
    error: job.failedReason ?? '',
    attempts: job.attemptsMade,
    failedAt: new Date(job.finishedOn ?? failedAt).toISOString(),
  };
}

function toPositions(withScores: string[]): Position[] {
  const out: Position[] = [];
  for (let i = 0; i + 1 < withScores.length; i += 2)
    out.push({ id: withScores[i]!, t: Number(withScores[i + 1]) });
  return out;
}

function newestFirst(a: Position, b: Position): number {
  return b.t - a.t || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function encodeCursor({ t, id }: Position): string {
  return Buffer.from(JSON.stringify({ t, id })).toString('base64url');
}

/** The position a cursor names; throws InvalidCursorError for anything we did not hand out. */
function decodeCursor(cursor: string): Position {
  try {
    const { t, id } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Position>;
    if (typeof t === 'number' && Number.isFinite(t) && typeof id === 'string') return { t, id };
  } catch {
    // fall through
  }
  throw new InvalidCursorError('cursor is not one this API handed out');
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}
