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

export interface TouchRecord {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  stepId: string;
  channel: string;
  template: string;
  /** `queued` | `sent` | `failed` | `skipped:<reason>` */
  status: string;
  at: string;
  /** The queued message as JSON, kept so a retry can re-queue exactly the same thing. */
  message?: string;
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
}
