import type { ChainableCommander, Redis } from 'ioredis';
import type { SegmentKeys } from './keys';

/** One membership change: the customer entered (`+`) or left (`-`) a segment. */
export interface Transition {
  segment: string;
  kind: 'entered' | 'exited';
}

/**
 * Applies one customer's evaluated memberships and records what changed under the cause, in one
 * atomic step. The changes are judged against the sets as they are inside the script, so two
 * router jobs evaluating the same customer at once cannot both enter (or leave) a segment. When
 * the cause already recorded changes for this customer (a retried job, a retried tick) they are
 * returned as recorded and nothing is applied again: the caller queues their events once more,
 * so a crash between this step and the queueing loses no event.
 *
 * KEYS: record, the customer's segment set, then each segment's member set.
 * ARGV: record TTL, customer id, then per segment its id and `1` (in) or `0` (out).
 */
const APPLY = `
local done = redis.call('GET', KEYS[1])
if done then return done end
local changes = {}
for i = 3, #KEYS do
  local segment = ARGV[2 * (i - 2) + 1]
  local want = ARGV[2 * (i - 2) + 2] == '1'
  local is = redis.call('SISMEMBER', KEYS[2], segment) == 1
  if want and not is then
    redis.call('SADD', KEYS[2], segment)
    redis.call('SADD', KEYS[i], ARGV[2])
    changes[#changes + 1] = '+' .. segment
  elseif is and not want then
    redis.call('SREM', KEYS[2], segment)
    redis.call('SREM', KEYS[i], ARGV[2])
    changes[#changes + 1] = '-' .. segment
  end
end
local out = table.concat(changes, ' ')
if #changes > 0 then redis.call('SET', KEYS[1], out, 'EX', ARGV[1]) end
return out`;

/** As long as the cause may be retried (BullMQ keeps failed jobs a week). */
const RECORD_TTL_SECONDS = 7 * 24 * 3600;

/** Segment member sets and each customer's set of segments. */
export class SegmentMembers {
  constructor(
    private readonly redis: Redis,
    private readonly keys: SegmentKeys,
  ) {
    redis.defineCommand('tpSegmentApply', { lua: APPLY });
  }

  /** Sets the customer's membership of each listed segment; returns what changed (see APPLY). */
  async apply(
    customerId: string,
    causeId: string,
    wanted: ReadonlyMap<string, boolean>,
  ): Promise<Transition[]> {
    const out = await (this.redis as unknown as ApplyCommand).tpSegmentApply(
      ...this.applyArgs(customerId, causeId, wanted),
    );
    return parseTransitions(out);
  }

  /** The same as `apply`, queued on a pipeline (the re-evaluation applies a page at once). */
  applyIn(
    pipeline: ChainableCommander,
    customerId: string,
    causeId: string,
    wanted: ReadonlyMap<string, boolean>,
  ): void {
    (pipeline as unknown as ApplyCommand).tpSegmentApply(...this.applyArgs(customerId, causeId, wanted));
  }

  private applyArgs(
    customerId: string,
    causeId: string,
    wanted: ReadonlyMap<string, boolean>,
  ): (string | number)[] {
    const segments = [...wanted.keys()];
    return [
      2 + segments.length,
      this.keys.transitions(causeId, customerId),
      this.keys.customerSegments(customerId),
      ...segments.map((s) => this.keys.members(s)),
      RECORD_TTL_SECONDS,
      customerId,
      ...segments.flatMap((s) => [s, wanted.get(s) ? '1' : '0']),
    ];
  }

  /** The segments the customer is in now, sorted. */
  async of(customerId: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.customerSegments(customerId))).sort();
  }

  async size(segmentId: string): Promise<number> {
    return this.redis.scard(this.keys.members(segmentId));
  }

  /** One page of a segment's members (SSCAN: `cursor` 0 starts, a returned 0 means done). */
  async page(
    segmentId: string,
    cursor: string,
    count: number,
  ): Promise<{ cursor: string; members: string[] }> {
    const [next, members] = await this.redis.sscan(this.keys.members(segmentId), cursor, 'COUNT', count);
    return { cursor: next, members };
  }

  /**
   * Takes the customer out of every segment without events (a merged-away customer id: the
   * winner is re-evaluated and announces its own changes). Idempotent.
   */
  async removeCustomer(customerId: string): Promise<string[]> {
    const segments = await this.redis.smembers(this.keys.customerSegments(customerId));
    const tx = this.redis.multi();
    for (const segment of segments) tx.srem(this.keys.members(segment), customerId);
    tx.del(this.keys.customerSegments(customerId));
    await tx.exec();
    return segments.sort();
  }
}

interface ApplyCommand {
  tpSegmentApply(...args: (string | number)[]): Promise<string>;
}

/** `+dormant -high-value` → transitions. */
export function parseTransitions(recorded: unknown): Transition[] {
  if (typeof recorded !== 'string' || recorded === '') return [];
  return recorded
    .split(' ')
    .filter((t) => t.length > 1)
    .map((t) => ({ segment: t.slice(1), kind: t.startsWith('+') ? 'entered' : 'exited' }));
}
