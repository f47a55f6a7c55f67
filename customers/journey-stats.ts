import type { Redis } from 'ioredis';
import type { RedisKeys } from './keys';

const COUNT_ONCE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  return 1
end
return 0`;

/** Long enough that no retry of the same activity comes later. */
const COUNTED_TTL_SECONDS = 30 * 24 * 3600;

/** Counters per journey version (entered, converted, completed, step:<id>:sent...). */
export class JourneyStats {
  constructor(
    /** Public for the activities' other once-per-key markers (activities/notify.ts NotifyLog). */
    readonly redis: Redis,
    readonly keys: RedisKeys,
  ) {}

  /** Bumps a counter once per key, however often it is called; true for the call that bumped it. */
  async countOnce(journeyId: string, version: number, field: string, key: string): Promise<boolean> {
    const counted = await this.redis.eval(
      COUNT_ONCE,
      2,
      this.keys.counted(key),
      this.keys.journeyStats(journeyId, version),
      field,
      COUNTED_TTL_SECONDS,
    );
    return counted === 1;
  }

  async get(journeyId: string, version: number): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys.journeyStats(journeyId, version));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }
}
