import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisKeys } from './keys';

/**
 * Merging two customers' data. The decision (which customers are one, who wins) is made
 * atomically by the identity script (customers/identity-script.ts): from then on the loser id is
 * an alias of the winner and the merge waits in the winner's pending set. Its data then moves
 * here, through every registered MergeParticipant in registration order, and the merge leaves
 * the pending set only once all of them succeeded. A crash in between leaves it pending: the
 * next event of the customer (a retried job, or any later one) finishes it.
 *
 * Participants must be idempotent (a participant that finished may run again when the process
 * died before its completion was written), but never run concurrently for the same merge: a lease
 * lets one worker move a merge while the others wait for it, so that every event routed after the
 * decision sees the merged data.
 */

/** One merge, as the identity script records it (merge history, pending set). */
export interface MergeRecord {
  /** `<messageId>#<loser>`. */
  id: string;
  /** When it was decided (epoch ms). */
  at: number;
  /** The event that showed the two customers to be one. */
  messageId: string;
  /** The customer the loser merged into, when decided (later merges may have merged it in turn). */
  winner: string;
  loser: string;
  /** Ids merged into the loser before: aliases of the winner now. */
  loserAliases: string[];
  /** The event's identifiers that linked them (`f`: as indexed; `s`: sealed plaintext). */
  via: { type: string; f: string; s?: string }[];
}

/**
 * Moves one kind of customer data from the loser to the winner (traits, consent, counters,
 * journeys, computed traits, segments…). Called with the winner as it is now (an earlier winner
 * merged in turn is followed to the current one).
 */
export interface MergeParticipant {
  /** Names the participant in logs and in the merge's progress record; default `participant-<n>`. */
  readonly name?: string;
  mergeInto(loserId: string, winnerId: string, merge: MergeRecord): Promise<void>;
  /**
   * Called once every participant's mergeInto succeeded: removes loser data the later
   * participants may still have read (the loser's profile, read by the computed traits' merge).
   */
  removeLoser?(loserId: string, winnerId: string, merge: MergeRecord): Promise<void>;
}

export interface CustomerMergesOptions {
  /** How long one worker may hold a merge before another takes over (default 30 s). */
  leaseMs?: number;
  /** How often a waiting worker looks again (default 50 ms). */
  pollMs?: number;
}

/** How long a finished merge's progress record is kept (for inspection). */
const PROGRESS_TTL_SECONDS = 30 * 24 * 3600;

/** Parses a merge record as the script wrote it (Lua's cjson writes an empty list as `{}`). */
export function parseMergeRecord(raw: string): MergeRecord {
  const record = JSON.parse(raw) as MergeRecord;
  const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
  return { ...record, loserAliases: list(record.loserAliases), via: list(record.via) };
}

export class CustomerMerges {
  private readonly list: MergeParticipant[] = [];
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly logger: Logger,
    options: CustomerMergesOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 50;
  }

  /** Adds a participant; they run in registration order (profiles before what is computed from them). */
  register(participant: MergeParticipant): this {
    // Two wirings registering one participant would run it twice per merge: fail at start-up.
    if (participant.name && this.list.some((p) => p.name === participant.name))
      throw new Error(`merge participant "${participant.name}" is registered twice`);
    this.list.push(participant);
    return this;
  }

  get participants(): readonly MergeParticipant[] {
    return this.list;
  }

  /**
   * Finishes the customer's pending merges (raw records from the pending set), oldest first.
   * `canonical` follows a winner merged since to the customer it lives on as.
   */
  async complete(pending: readonly string[], canonical: (id: string) => Promise<string>): Promise<void> {
    const records = pending.map((raw) => ({ raw, record: parseMergeRecord(raw) }));
    records.sort((a, b) => a.record.at - b.record.at || a.record.id.localeCompare(b.record.id));
    for (const { raw, record } of records) await this.completeOne(raw, record, canonical);
  }

  private async completeOne(
    raw: string,
    record: MergeRecord,
    canonical: (id: string) => Promise<string>,
  ): Promise<void> {
    const lease = this.keys.identityMergeLease(record.id);
    const token = randomUUID();
    for (;;) {
      const winner = await canonical(record.winner);
      const pendingKey = this.keys.identityPending(winner);
      if (!(await this.redis.sismember(pendingKey, raw))) return; // finished by another worker
      if (await this.redis.set(lease, token, 'PX', this.leaseMs, 'NX')) {
        try {
          await this.run(record, winner);
          await this.redis.srem(pendingKey, raw);
        } finally {
          // Only our own lease: a run that overstayed must not free another worker's.
          await this.redis.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
            1,
            lease,
            token,
          );
        }
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** Every participant not yet done with this merge, in order; each one's completion is recorded. */
  private async run(record: MergeRecord, winner: string): Promise<void> {
    const progress = this.keys.identityMergeProgress(record.id);
    const done = await this.redis.hgetall(progress);
    const step = async (name: string, work: () => Promise<void>) => {
      if (done[name]) return;
      await work();
      await this.redis.multi().hset(progress, name, Date.now()).expire(progress, PROGRESS_TTL_SECONDS).exec();
    };
    const named = this.list.map((p, i) => ({ p, name: p.name ?? `participant-${i + 1}` }));
    for (const { p, name } of named) await step(name, () => p.mergeInto(record.loser, winner, record));
    for (const { p, name } of named) {
      if (p.removeLoser)
        await step(`${name}:remove-loser`, () => p.removeLoser!(record.loser, winner, record));
    }
    this.logger.info(
      { mergeId: record.id, loser: record.loser, winner, messageId: record.messageId },
      'customers merged',
    );
  }
}
