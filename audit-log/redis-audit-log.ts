import type { Redis } from 'ioredis';
import { entryHash, GENESIS_HASH } from './chain';
import { AuditKeys } from './keys';
import type {
  AuditEntry,
  AuditEntryInput,
  AuditLog,
  AuditPage,
  AuditQuery,
  AuditVerification,
} from './types';
import { ChainVerifier } from './verify';

/**
 * Appends entry `seq` only while the head is still the one its hash was computed from; else
 * returns the current head so the caller can recompute and try again. HSETNX: a slot, once
 * written, is never overwritten, even if someone rewound the head by hand.
 */
const APPEND = `
local head = redis.call('HMGET', KEYS[2], 'seq', 'hash')
local seq = tonumber(head[1]) or 0
local hash = head[2] or ARGV[5]
if seq ~= tonumber(ARGV[1]) - 1 or hash ~= ARGV[2] then return {seq, hash} end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then
  return redis.error_reply('audit log slot ' .. ARGV[1] .. ' is already taken: the head was rewound')
end
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'hash', ARGV[4])
return 1`;

/** Reads the head and the number of slots together, so a verify sees one consistent log. */
const SNAPSHOT = `return {redis.call('HMGET', KEYS[2], 'seq', 'hash'), redis.call('HLEN', KEYS[1])}`;

const PAGE = 500;
/** Entries a filtered list reads at most per request; `next` lets the caller go on from there. */
const SCAN_BUDGET = 5000;
const MAX_LIMIT = 1000;
/** Another process appending at the same moment makes us retry; this many times is a broken log. */
const MAX_ATTEMPTS = 1000;

type Head = { seq: number; hash: string };

/**
 * The audit log in Redis: entries in a hash by seq, and a head {seq, hash} moved by the same
 * script that appends. Each entry's hash covers the one before it, so editing, deleting or
 * reordering entries by hand shows up in verify(). There is no method to change or remove one.
 *
 * Appends from this process run one after the other (no conflicts among themselves); appends
 * from other processes are caught by the script's head check and retried with the new head.
 */
export class RedisAuditLog implements AuditLog {
  private readonly keys: AuditKeys;
  /** The head as this process last saw it; the script corrects it when another process moved it. */
  private head: Head | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new AuditKeys(prefix);
  }

  append(input: AuditEntryInput): Promise<AuditEntry> {
    const appended = this.queue.then(() => this.appendNow(input));
    this.queue = appended.catch(() => undefined);
    return appended;
  }

  private async appendNow(input: AuditEntryInput): Promise<AuditEntry> {
    // What is hashed is exactly what JSON keeps (no undefined, Dates as strings), so a stored
    // entry read back hashes the same.
    const content = JSON.parse(JSON.stringify(input)) as AuditEntryInput;
    let head = this.head ?? (await this.readHead()) ?? { seq: 0, hash: GENESIS_HASH };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const unhashed = { ...content, seq: head.seq + 1, at: new Date().toISOString(), prevHash: head.hash };
      const entry: AuditEntry = { ...unhashed, hash: entryHash(unhashed) };
      const result = (await this.redis.eval(
        APPEND,
        2,
        this.keys.entries(),
        this.keys.head(),
        entry.seq,
        head.hash,
        JSON.stringify(entry),
        entry.hash,
        GENESIS_HASH,
      )) as 1 | [number, string];
      if (result === 1) {
        this.head = { seq: entry.seq, hash: entry.hash };
        return entry;
      }
      head = { seq: Number(result[0]), hash: result[1] };
    }
    this.head = undefined;
    throw new Error(`audit log append gave up after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), MAX_LIMIT);
    const matches = entryFilter(query);
    const last = (await this.readHead())?.seq ?? 0;
    const entries: AuditEntry[] = [];
    let budget = SCAN_BUDGET;
    if (query.order === 'desc') {
      // `seq` is the lowest seq examined so far; the walk goes down to 1.
      let seq = Math.min(query.before ?? last + 1, last + 1);
      while (seq > 1 && entries.length < limit && budget > 0) {
        const size = Math.min(PAGE, seq - 1, budget);
        const page = await this.read(seq - size, size);
        for (const entry of page.reverse()) {
          seq--;
          budget--;
          if (entry && matches(entry)) entries.push(entry);
          if (entries.length === limit) break;
        }
      }
      return { entries, next: seq > 1 ? seq : null };
    }
    // `seq` is the highest seq examined so far; the walk goes up to the head.
    let seq = Math.max(query.after ?? 0, 0);
    while (seq < last && entries.length < limit && budget > 0) {
      const size = Math.min(PAGE, last - seq, budget);
      const page = await this.read(seq + 1, size);
      for (const entry of page) {
        seq++;
        budget--;
        if (entry && matches(entry)) entries.push(entry);
        if (entries.length === limit) break;
      }
    }
    return { entries, next: seq < last ? seq : null };
  }

  async verify(options: { expectHead?: Head } = {}): Promise<AuditVerification> {
    const [rawHead, slots] = (await this.redis.eval(SNAPSHOT, 2, this.keys.entries(), this.keys.head())) as [
      [string | null, string | null],
      number,
    ];
    const head = rawHead[0] !== null ? { seq: Number(rawHead[0]), hash: rawHead[1] ?? '' } : null;
    // Up to the head, and beyond it if slots were left there (a head rewound by hand).
    const end = Math.max(head?.seq ?? 0, slots);
    const verifier = new ChainVerifier(options.expectHead);
    for (let from = 1; from <= end; from += PAGE) {
      const fields = range(from, Math.min(PAGE, end - from + 1));
      const raws = await this.redis.hmget(this.keys.entries(), ...fields.map(String));
      fields.forEach((seq, i) => verifier.check(seq, raws[i] ?? null));
    }
    return verifier.finish(end, head);
  }

  async *scan(after = 0, pageSize = PAGE): AsyncIterable<AuditEntry> {
    const last = (await this.readHead())?.seq ?? 0;
    for (let seq = Math.max(after, 0); seq < last; seq += pageSize) {
      for (const entry of await this.read(seq + 1, Math.min(pageSize, last - seq))) {
        if (entry) yield entry;
      }
    }
  }

  private async readHead(): Promise<Head | undefined> {
    const [seq, hash] = await this.redis.hmget(this.keys.head(), 'seq', 'hash');
    return seq != null && hash != null ? { seq: Number(seq), hash } : undefined;
  }

  /** Entries `from`, `from + 1`… (`count` of them); undefined where a slot is empty or unreadable. */
  private async read(from: number, count: number): Promise<(AuditEntry | undefined)[]> {
    const raws = await this.redis.hmget(this.keys.entries(), ...range(from, count).map(String));
    return raws.map((raw) => {
      if (raw === null) return undefined;
      try {
        return JSON.parse(raw) as AuditEntry;
      } catch {
        return undefined;
      }
    });
  }
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

function entryFilter(query: AuditQuery): (entry: AuditEntry) => boolean {
  const target = query.target ?? '';
  const targetMatches = !target
    ? () => true
    : target.endsWith('*')
      ? (t: string) => t.startsWith(target.slice(0, -1))
      : (t: string) => t === target;
  const since = query.since ? Date.parse(query.since) : undefined;
  const until = query.until ? Date.parse(query.until) : undefined;
  return (entry) =>
    (!query.action || entry.action === query.action) &&
    (!query.actor || entry.actor?.name === query.actor) &&
    targetMatches(entry.target) &&
    (since === undefined || Date.parse(entry.at) >= since) &&
    (until === undefined || Date.parse(entry.at) <= until);
}
