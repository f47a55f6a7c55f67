import type { Redis } from 'ioredis';
import { canonicalJson, entryHash, GENESIS_HASH } from '../../audit-log/chain';
import { AuditKeys } from '../../audit-log/keys';
import { RedisAuditLog } from '../../audit-log/redis-audit-log';
import type { AuditEntry, AuditEntryInput } from '../../audit-log/types';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

let redis: Redis;
let prefix: string;
let log: RedisAuditLog;
let keys: AuditKeys;
const extra: Redis[] = [];

beforeAll(() => {
  redis = testRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('audit');
  log = new RedisAuditLog(redis, prefix);
  keys = new AuditKeys(prefix);
});
afterEach(async () => {
  await deleteKeys(redis, prefix);
});
afterAll(async () => {
  await Promise.all(extra.map((r) => r.quit()));
  await redis.quit();
});

const input = (n: number, over: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  actor: { name: 'alice', keyId: 'k_1', role: 'publisher' },
  action: 'journey.publish',
  target: `journey:j${n}@1`,
  detail: { n },
  from: { ip: '10.0.0.1', via: 'api' },
  ...over,
});

async function appendMany(count: number): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (let i = 1; i <= count; i++) entries.push(await log.append(input(i)));
  return entries;
}

const stored = async (seq: number) =>
  JSON.parse((await redis.hget(keys.entries(), String(seq)))!) as AuditEntry;
const store = (seq: number, entry: unknown) => redis.hset(keys.entries(), String(seq), JSON.stringify(entry));

describe('append', () => {
  test('numbers entries from 1 and chains each to the one before', async () => {
    const [a, b, c] = await appendMany(3);
    expect([a!.seq, b!.seq, c!.seq]).toEqual([1, 2, 3]);
    expect(a!.prevHash).toBe(GENESIS_HASH);
    expect(b!.prevHash).toBe(a!.hash);
    expect(c!.prevHash).toBe(b!.hash);
    expect(a!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(a!.at)).not.toBeNaN();
    expect(await stored(2)).toEqual(b);
    expect(await redis.hgetall(keys.head())).toEqual({ seq: '3', hash: c!.hash });
  });

  test('the hash is SHA-256 of prevHash and the sorted-key JSON of every field but hash', async () => {
    const entry = await log.append(input(1, { reason: 'why not', detail: { z: 1, a: { y: 2, b: [3] } } }));
    const { hash, ...content } = entry;
    const canonical = canonicalJson(content);
    expect(canonical.indexOf('"action"')).toBeLessThan(canonical.indexOf('"actor"'));
    expect(canonical).toContain('"detail":{"a":{"b":[3],"y":2},"z":1}');
    const { createHash } = await import('node:crypto');
    expect(hash).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + canonical)
        .digest('hex'),
    );
  });

  test('stores what JSON keeps, so undefined fields and Dates hash the same when read back', async () => {
    const when = new Date('2025-01-02T03:04:05.000Z');
    const entry = await log.append(input(1, { reason: undefined, detail: { when, gone: undefined } }));
    expect(entry.detail).toEqual({ when: '2025-01-02T03:04:05.000Z' });
    expect('reason' in entry).toBe(false);
    expect(entryHash(await stored(1))).toBe(entry.hash);
    expect((await log.verify()).ok).toBe(true);
  });

  test('200 concurrent appends from four processes give one valid chain, seq 1..200', async () => {
    // Four logs on four connections: appends within one are queued, across them the script's
    // head check makes the losers retry.
    const logs = Array.from({ length: 4 }, () => {
      const connection = testRedis();
      extra.push(connection);
      return new RedisAuditLog(connection, prefix);
    });
    const appended = await Promise.all(
      Array.from({ length: 200 }, (_, i) => logs[i % 4]!.append(input(i + 1))),
    );
    expect(appended.map((e) => e.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    // Every input is in the log exactly once.
    const all: AuditEntry[] = [];
    for await (const entry of log.scan()) all.push(entry);
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(all.map((e) => e.detail!.n)).size).toBe(200);
    const verification = await log.verify();
    expect(verification).toEqual({
      ok: true,
      entries: 200,
      head: { seq: 200, hash: all[199]!.hash },
      problems: [],
    });
  });

  test('an append after another process appended picks up the new head', async () => {
    const other = new RedisAuditLog(redis, prefix);
    await log.append(input(1));
    await other.append(input(2));
    const third = await log.append(input(3));
    expect(third.seq).toBe(3);
    expect(third.prevHash).toBe((await stored(2)).hash);
    expect((await log.verify()).ok).toBe(true);
  });

  test('a head rewound by hand cannot overwrite an entry: the append fails', async () => {
    await appendMany(3);
    const second = await stored(2);
    await redis.hset(keys.head(), 'seq', '2', 'hash', second.hash);
    const fresh = new RedisAuditLog(redis, prefix);
    await expect(fresh.append(input(9))).rejects.toThrow(/slot 3 is already taken/);
    expect((await stored(3)).detail).toEqual({ n: 3 });
  });

  test('there is no way to change or remove an entry through the log', () => {
    const methods = Object.getOwnPropertyNames(RedisAuditLog.prototype).filter((m) => m !== 'constructor');
    // Appending, reading and checking: nothing that rewrites or deletes a slot.
    expect(methods.sort()).toEqual(['append', 'appendNow', 'list', 'read', 'readHead', 'scan', 'verify']);
  });
});

describe('verify', () => {
  test('an empty log is valid with no head', async () => {
    expect(await log.verify()).toEqual({ ok: true, entries: 0, head: null, problems: [] });
  });

  test('an intact log is valid and reports its head', async () => {
    const entries = await appendMany(5);
    expect(await log.verify()).toEqual({
      ok: true,
      entries: 5,
      head: { seq: 5, hash: entries[4]!.hash },
      problems: [],
    });
  });

  test('an edited entry is found by its seq', async () => {
    await appendMany(5);
    await store(3, { ...(await stored(3)), reason: 'covering my tracks' });
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([{ seq: 3, problem: expect.stringMatching(/entry 3 was edited/) }]);
  });

  test('an edited entry whose hash was recomputed breaks the link from the next one', async () => {
    await appendMany(5);
    const edited: AuditEntry = { ...(await stored(3)), actor: { name: 'mallory', role: 'admin' } };
    await store(3, { ...edited, hash: entryHash(edited) });
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 4, problem: expect.stringMatching(/entry 4 does not chain to entry 3/) },
    ]);
  });

  test('a deleted entry is found by its seq', async () => {
    await appendMany(5);
    await redis.hdel(keys.entries(), '2');
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(4);
    expect(result.problems).toEqual([{ seq: 2, problem: 'entry 2 is missing (deleted)' }]);
  });

  test('two reordered entries are both found', async () => {
    await appendMany(5);
    const [three, four] = [await stored(3), await stored(4)];
    await store(3, four);
    await store(4, three);
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 3, problem: 'entry 4 is stored where entry 3 belongs (moved or reordered)' },
      { seq: 4, problem: 'entry 3 is stored where entry 4 belongs (moved or reordered)' },
    ]);
  });

  test('reordered entries renumbered to fit are found as edits', async () => {
    await appendMany(5);
    const [three, four] = [await stored(3), await stored(4)];
    await store(3, { ...four, seq: 3 });
    await store(4, { ...three, seq: 4 });
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.seq)).toEqual(expect.arrayContaining([3, 4]));
    expect(result.problems[0]).toEqual({ seq: 3, problem: expect.stringMatching(/entry 3 was edited/) });
  });

  test('a truncated tail with the head left alone is found against the stored head', async () => {
    await appendMany(5);
    await redis.hdel(keys.entries(), '4', '5');
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 4, problem: 'entry 4 is missing (deleted)' },
      { seq: 5, problem: 'entry 5 is missing (deleted)' },
    ]);
  });

  test('a truncated tail with the head rewound too is found only against the archived head', async () => {
    const entries = await appendMany(5);
    const archived = { seq: 5, hash: entries[4]!.hash };
    expect(await log.verify({ expectHead: archived })).toMatchObject({ ok: true, problems: [] });

    await redis.hdel(keys.entries(), '4', '5');
    await redis.hset(keys.head(), 'seq', '3', 'hash', entries[2]!.hash);
    // Consistent on its own…
    expect(await log.verify()).toMatchObject({ ok: true, entries: 3, head: { seq: 3 } });
    // …but not with what an earlier verify saw.
    const result = await log.verify({ expectHead: archived });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 5, problem: 'the log ends at 3 but an earlier head was 5: entries were cut off' },
    ]);
  });

  test('a log rebuilt past the archived head with a different entry there is found', async () => {
    const entries = await appendMany(3);
    const result = await log.verify({ expectHead: { seq: 2, hash: entries[0]!.hash } });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([{ seq: 2, problem: 'entry 2 differs from the archived head' }]);
  });

  test('a head rewound while the entries stay is found', async () => {
    const entries = await appendMany(4);
    await redis.hset(keys.head(), 'seq', '2', 'hash', entries[1]!.hash);
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 3, problem: 'the head says 2 but the log holds entries up to 4' },
    ]);
  });

  test('an entry that is not JSON is reported', async () => {
    await appendMany(3);
    await redis.hset(keys.entries(), '2', 'garbage');
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([{ seq: 2, problem: 'entry 2 is not a valid audit entry' }]);
  });
});

describe('list and scan', () => {
  beforeEach(async () => {
    await log.append(input(1, { action: 'journey.publish', target: 'journey:welcome@1' }));
    await log.append(
      input(2, { action: 'consent.change', target: 'customer:c1', actor: { name: 'bob', role: 'admin' } }),
    );
    await log.append(input(3, { action: 'journey.pause', target: 'journey:welcome' }));
    await log.append(input(4, { action: 'journey.publish', target: 'journey:winback@2' }));
  });

  test('pages forward with after and next', async () => {
    const first = await log.list({ limit: 3 });
    expect(first.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(first.next).toBe(3);
    const second = await log.list({ limit: 3, after: first.next! });
    expect(second.entries.map((e) => e.seq)).toEqual([4]);
    expect(second.next).toBeNull();
  });

  test('filters by action, actor, exact target and target prefix', async () => {
    const seqs = async (q: Parameters<RedisAuditLog['list']>[0]) =>
      (await log.list(q)).entries.map((e) => e.seq);
    expect(await seqs({ action: 'journey.publish' })).toEqual([1, 4]);
    expect(await seqs({ actor: 'bob' })).toEqual([2]);
    expect(await seqs({ target: 'journey:welcome' })).toEqual([3]);
    expect(await seqs({ target: 'journey:welcome*' })).toEqual([1, 3]);
    expect(await seqs({ target: 'journey:*', action: 'journey.publish', after: 1 })).toEqual([4]);
  });

  test('filters by time', async () => {
    const all = (await log.list({})).entries;
    const third = all[2]!.at;
    expect((await log.list({ since: third })).entries.every((e) => e.at >= third)).toBe(true);
    expect((await log.list({ until: all[0]!.at })).entries.map((e) => e.seq)).toEqual(
      all.filter((e) => e.at <= all[0]!.at).map((e) => e.seq),
    );
    expect((await log.list({ since: '2999-01-01T00:00:00Z' })).entries).toEqual([]);
  });

  test('a filtered page that fills up says where to go on', async () => {
    const page = await log.list({ action: 'journey.publish', limit: 1 });
    expect(page.entries.map((e) => e.seq)).toEqual([1]);
    expect(page.next).toBe(1);
    const rest = await log.list({ action: 'journey.publish', limit: 1, after: 1 });
    expect(rest.entries.map((e) => e.seq)).toEqual([4]);
    expect(rest.next).toBeNull();
  });

  test('pages backward, newest first, with order desc and before', async () => {
    const first = await log.list({ order: 'desc', limit: 3 });
    expect(first.entries.map((e) => e.seq)).toEqual([4, 3, 2]);
    expect(first.next).toBe(2);
    const second = await log.list({ order: 'desc', limit: 3, before: first.next! });
    expect(second.entries.map((e) => e.seq)).toEqual([1]);
    expect(second.next).toBeNull();
    const publishes = await log.list({ order: 'desc', action: 'journey.publish' });
    expect(publishes).toEqual({
      entries: [expect.objectContaining({ seq: 4 }), expect.objectContaining({ seq: 1 })],
      next: null,
    });
  });

  test('scan yields every entry after a seq, in order, across pages', async () => {
    const seqs: number[] = [];
    for await (const entry of log.scan(1, 2)) seqs.push(entry.seq);
    expect(seqs).toEqual([2, 3, 4]);
  });
});
