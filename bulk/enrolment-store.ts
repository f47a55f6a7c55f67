import type { Redis } from 'ioredis';

/** Where a bulk enrolment stands. */
export type EnrolmentStatus = 'queued' | 'running' | 'done' | 'stopped' | 'failed';

/**
 * A bulk enrolment of a segment into a journey (bulk/enrolment.ts), kept in Redis as one hash so
 * that progress survives the job, its retries and the process: `cursor` is the SSCAN cursor of
 * the page being queued and `queuedBeforePage` the count before it, so a resumed job redoes only
 * that page (its messageIds make the repeat a no-op) and counts it once.
 */
export interface EnrolmentRecord {
  id: string;
  journeyId: string;
  segment: string;
  ratePerSecond: number;
  /** Added to each run's entry event (`journey_enrolled`). */
  properties: Record<string, unknown>;
  status: EnrolmentStatus;
  /** Members of the segment when the enrolment started (SCARD; members may come and go meanwhile). */
  total: number;
  /** Enrol events put on the events queue so far. */
  queued: number;
  cursor: string;
  queuedBeforePage: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why it stopped or failed. */
  reason?: string;
}

const NUMBERS = ['ratePerSecond', 'total', 'queued', 'queuedBeforePage'] as const;

/** Creates the hash only if the id is new: a retried POST with the same Idempotency-Key finds the first. */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`;

export class EnrolmentStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  /** Hash: one bulk enrolment (fields of EnrolmentRecord; properties as JSON). */
  key(id: string): string {
    return `${this.keyPrefix}:enrolment:${id}`;
  }

  /** Stores a new record; false when one with this id exists already (nothing is changed). */
  async create(record: EnrolmentRecord): Promise<boolean> {
    const created = await this.redis.eval(CREATE, 1, this.key(record.id), ...toFields(record));
    return created === 1;
  }

  async get(id: string): Promise<EnrolmentRecord | undefined> {
    const hash = await this.redis.hgetall(this.key(id));
    if (!hash.id) return undefined;
    const record: Record<string, unknown> = { ...hash, properties: JSON.parse(hash.properties ?? '{}') };
    for (const name of NUMBERS) record[name] = Number(hash[name] ?? 0);
    return record as unknown as EnrolmentRecord;
  }

  async update(id: string, fields: Partial<EnrolmentRecord>): Promise<void> {
    const args = toFields(fields);
    if (args.length > 0) await this.redis.hset(this.key(id), ...args);
  }
}

function toFields(record: Partial<EnrolmentRecord>): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(record)) {
    if (value === undefined) continue;
    out.push(name, name === 'properties' ? JSON.stringify(value) : String(value));
  }
  return out;
}
