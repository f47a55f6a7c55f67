import type { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import type { RedisKeys } from '../customers/keys';
import type { Channel } from '../language/types';
import type { CapLimits, FrequencyCapConfig } from './config';

/**
 * Checks every counter that applies to the touch and, only if all are under their cap,
 * increments them all; a touch already counted (same idempotency key) passes without counting
 * again. One script, so concurrent sends from any number of journeys and workers can neither
 * overshoot a cap nor leave it half counted.
 *
 * KEYS[1] the touch's counted-marker, KEYS[2..n] the counters.
 * ARGV[1] the marker's TTL; for counter KEYS[i]: ARGV[2i-2] its cap, ARGV[2i-1] its TTL.
 * Returns -1 already counted, 0 counted now, i > 0 over the cap of counter i (1-based).
 */
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
for i = 2, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[2 * i - 2]) then return i - 1 end
end
for i = 2, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 1])
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
return 0`;

const DAY_SECONDS = 24 * 3600;
/** Counters outlive their period by a margin (zones up to UTC±14 see a date a day apart). */
const TTL_SECONDS = { day: 3 * DAY_SECONDS, week: 9 * DAY_SECONDS };
/** Longer than any retry of one activity. */
const COUNTED_TTL_SECONDS = 30 * DAY_SECONDS;

export type CapDecision =
  | { allowed: true; counted: 'now' | 'before' | 'no-caps' }
  /** `cap` names the counter that is full, e.g. `sms:day` or `all:week`. */
  | { allowed: false; cap: string };

interface Counter {
  name: string;
  key: string;
  limit: number;
  ttl: number;
}

/**
 * Frequency caps per customer, per channel and over all channels, per day and per week, shared
 * by every journey. Periods are the customer's local calendar day and ISO week (Monday first),
 * fixed windows rather than rolling ones: "one SMS a day" means per calendar day to a marketer
 * and to a customer, the counters are plain INCRs with a TTL, and the burst that fixed windows
 * allow at midnight falls inside quiet hours for marketing touches.
 */
export class FrequencyCaps {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly config: FrequencyCapConfig,
  ) {}

  /**
   * Counts one touch against every cap that applies, all or none, once per idempotency key.
   * `now` and `timezone` place it in the customer's local day and week.
   */
  async consume(
    customerId: string,
    channel: Channel,
    idempotencyKey: string,
    now: Date,
    timezone: string,
  ): Promise<CapDecision> {
    const counters = this.counters(customerId, channel, now, timezone);
    if (counters.length === 0) return { allowed: true, counted: 'no-caps' };
    const result = (await this.redis.eval(
      CONSUME,
      counters.length + 1,
      this.keys.capCounted(idempotencyKey),
      ...counters.map((c) => c.key),
      COUNTED_TTL_SECONDS,
      ...counters.flatMap((c) => [c.limit, c.ttl]),
    )) as number;
    if (result === -1) return { allowed: true, counted: 'before' };
    if (result === 0) return { allowed: true, counted: 'now' };
    return { allowed: false, cap: counters[result - 1]!.name };
  }

  /** How many touches each applicable counter holds now, by name (`sms:day`, `all:week`, ...). */
  async usage(
    customerId: string,
    channel: Channel,
    now: Date,
    timezone: string,
  ): Promise<Record<string, number>> {
    const counters = this.counters(customerId, channel, now, timezone);
    if (counters.length === 0) return {};
    const values = await this.redis.mget(...counters.map((c) => c.key));
    return Object.fromEntries(counters.map((c, i) => [c.name, Number(values[i] ?? 0)]));
  }

  private counters(customerId: string, channel: Channel, now: Date, timezone: string): Counter[] {
    const local = DateTime.fromJSDate(now, { zone: timezone });
    const periods = { day: `d:${local.toISODate()}`, week: `w:${local.toFormat("kkkk-'W'WW")}` };
    const out: Counter[] = [];
    const add = (scope: string, limits: CapLimits | undefined) => {
      for (const period of ['day', 'week'] as const) {
        const limit = limits?.[period];
        if (limit === undefined) continue;
        out.push({
          name: `${scope}:${period}`,
          key: this.keys.capCounter(customerId, scope, periods[period]),
          limit,
          ttl: TTL_SECONDS[period],
        });
      }
    };
    add(channel, this.config.perChannel[channel]);
    add('all', this.config.overall);
    return out;
  }
}
