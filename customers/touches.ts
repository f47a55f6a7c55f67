import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys';

/**
 * First writer wins, atomically: the touch record, its place in the customer's history and the
 * step counter are written together or not at all, so a retried or concurrent attempt can
 * neither double-count nor leave a record without its message.
 */
const RECORD_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
return 1`;

/**
 * What became of a touch's message, as the delivery worker, receipts and tracked links tell it.
 * The touch's status only moves forward: queued → failed → sent → delivered → opened → clicked
 * (`failed` after `sent` is a bounce; a replayed failure that goes out becomes `sent`).
 */
const RECORD_OUTCOME = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or string.sub(status, 1, 8) == 'skipped:' then return -1 end
local stepId = redis.call('HGET', KEYS[1], 'stepId')
-- A bare hash (only a status written by the delivery marker, no touch recorded) is no touch.
if not stepId then return -1 end
local outcome, at, reason = ARGV[1], ARGV[2], ARGV[3]
local step = 'step:' .. stepId .. ':'
local first = redis.call('HSETNX', KEYS[1], outcome .. 'At', at)
if outcome == 'opened' or outcome == 'clicked' then
  local counter = outcome == 'opened' and 'opens' or 'clicks'
  redis.call('HINCRBY', KEYS[1], counter, 1)
  redis.call('HINCRBY', KEYS[2], step .. counter, 1)
end
if first == 1 and outcome ~= 'sent' then redis.call('HINCRBY', KEYS[2], step .. outcome, 1) end
local rank = { queued = 0, failed = 1, sent = 2, delivered = 3, opened = 4, clicked = 5 }
local moves
if outcome == 'failed' then moves = status == 'queued' or status == 'sent'
else moves = rank[status] ~= nil and rank[outcome] > rank[status] end
if moves then redis.call('HSET', KEYS[1], 'status', outcome) end
if moves and outcome == 'failed' and reason ~= '' then redis.call('HSET', KEYS[1], 'error', reason) end
return first`;

const MARK_REPLAYED = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if status == 'failed' then redis.call('HSET', KEYS[1], 'status', 'queued') end
redis.call('HINCRBY', KEYS[1], 'replays', 1)
redis.call('HSET', KEYS[1], 'replayedAt', ARGV[1])
return 1`;

export type TouchOutcome = 'sent' | 'delivered' | 'opened' | 'clicked' | 'failed';

/** How long receipts can find a message by the gateway's id. */
const PROVIDER_MESSAGE_TTL_SECONDS = 90 * 24 * 3600;

/** Which journey step touched which customer, on which channel, with which template. */
export interface TouchedStep {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  stepId: string;
  channel: string;
  template: string;
}

export interface TouchRecord extends TouchedStep {
  /** `queued` | `sent` | `delivered` | `opened` | `clicked` | `failed` | `skipped:<reason>` */
  status: string;
  at: string;
  /** The queued message as JSON, kept so a retry can re-queue exactly the same thing. */
  message?: string;
  /** Filled in as the message goes on (ISO-8601, the first time of each; see recordOutcome). */
  sentAt?: string;
  deliveredAt?: string;
  openedAt?: string;
  clickedAt?: string;
  failedAt?: string;
  error?: string;
  /** The messageId of the event that led to the touch (the run's event when the step ran). */
  correlationId?: string;
}

/** A touch's outcome times and error (RECORD_OUTCOME), in the order they come about. */
export const TOUCH_OUTCOME_FIELDS = [
  'sentAt',
  'deliveredAt',
  'openedAt',
  'clickedAt',
  'failedAt',
  'error',
] as const;

/**
 * The named fields the touch has, as stored and in the order named, for views that leave out
 * what is not set. Names beyond TouchRecord's are read too (`discardedAt`, `discardReason`: markDiscarded).
 */
export function touchFields(touch: TouchRecord, fields: readonly string[]): Record<string, string> {
  const raw = touch as unknown as Record<string, string | undefined>;
  const found: Record<string, string> = {};
  for (const field of fields) if (raw[field] !== undefined) found[field] = raw[field];
  return found;
}

/** Every touch a journey makes: one Redis hash per idempotency key, indexed per customer. */
export class TouchLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Records a touch unless one exists under the key; true when this call wrote it. */
  async recordOnce(idempotencyKey: string, touch: TouchRecord, statField: string): Promise<boolean> {
    const fields = Object.entries(touch).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
    const written = await this.redis.eval(
      RECORD_ONCE,
      3,
      this.keys.touch(idempotencyKey),
      this.keys.customerTouches(touch.customerId),
      this.keys.journeyStats(touch.journeyId, touch.journeyVersion),
      Date.parse(touch.at),
      idempotencyKey,
      statField,
      ...fields,
    );
    return written === 1;
  }

  /**
   * Records an outcome of the touch's message (see RECORD_OUTCOME): 'first' when it is the first
   * of its kind for the message, 'repeat' after that, 'no-touch' when there is no touch to update.
   */
  async recordOutcome(
    idempotencyKey: string,
    touch: Pick<TouchRecord, 'journeyId' | 'journeyVersion'>,
    outcome: TouchOutcome,
    at: string,
    error = '',
  ): Promise<'first' | 'repeat' | 'no-touch'> {
    const result = await this.redis.eval(
      RECORD_OUTCOME,
      2,
      this.keys.touch(idempotencyKey),
      this.keys.journeyStats(touch.journeyId, touch.journeyVersion),
      outcome,
      at,
      error,
    );
    return result === 1 ? 'first' : result === 0 ? 'repeat' : 'no-touch';
  }

  /** A dead letter put back on its queue: a `failed` touch is `queued` again. */
  async markReplayed(idempotencyKey: string, at: string): Promise<void> {
    await this.redis.eval(MARK_REPLAYED, 1, this.keys.touch(idempotencyKey), at);
  }

  /** A dead letter thrown away by an operator, with their reason. */
  async markDiscarded(idempotencyKey: string, reason: string, at: string): Promise<void> {
    const key = this.keys.touch(idempotencyKey);
    if (await this.redis.exists(key)) await this.redis.hset(key, 'discardedAt', at, 'discardReason', reason);
  }

  /** Lets receipts that name the gateway's message id find the touch. */
  async linkProviderMessage(
    channel: string,
    providerMessageId: string,
    idempotencyKey: string,
  ): Promise<void> {
    await this.redis
      .multi()
      .set(
        this.keys.providerMessage(channel, providerMessageId),
        idempotencyKey,
        'EX',
        PROVIDER_MESSAGE_TTL_SECONDS,
      )
      .hset(this.keys.touch(idempotencyKey), 'providerMessageId', providerMessageId)
      .exec();
  }

  async keyOfProviderMessage(channel: string, providerMessageId: string): Promise<string | null> {
    return this.redis.get(this.keys.providerMessage(channel, providerMessageId));
  }

  async get(idempotencyKey: string): Promise<TouchRecord | null> {
    const raw = await this.redis.hgetall(this.keys.touch(idempotencyKey));
    if (!raw.status) return null;
    return { ...(raw as unknown as TouchRecord), journeyVersion: Number(raw.journeyVersion) };
  }

  /** The customer's touches, oldest first. */
  async forCustomer(customerId: string, limit = 100): Promise<(TouchRecord & { idempotencyKey: string })[]> {
    const ids = await this.redis.zrange(this.keys.customerTouches(customerId), 0, limit - 1);
    const records = await Promise.all(ids.map(async (id) => ({ id, record: await this.get(id) })));
    return records.flatMap(({ id, record }) => (record ? [{ ...record, idempotencyKey: id }] : []));
  }

  /** The customer's latest `limit` touches, newest first (the customer timeline). */
  async latestForCustomer(
    customerId: string,
    limit = 100,
  ): Promise<(TouchRecord & { idempotencyKey: string })[]> {
    const ids = await this.redis.zrevrange(this.keys.customerTouches(customerId), 0, limit - 1);
    const records = await Promise.all(ids.map(async (id) => ({ id, record: await this.get(id) })));
    return records.flatMap(({ id, record }) => (record ? [{ ...record, idempotencyKey: id }] : []));
  }
}
