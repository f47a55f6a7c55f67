import type { Redis } from 'ioredis';
import request from 'supertest';
import { ROLES, roleCan, type Role } from '../../access/permissions';
import { createAccessServices } from '../../access/services';
import { AuditKeys } from '../../audit-log/keys';
import type { AuditEntry, AuditEntryInput } from '../../audit-log/types';
import { basic, bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

/** The audit API on the real app: list with filters and paging, the NDJSON export, verify. */
let t: TestApp;
let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => t.close());
afterAll(() => redis.quit());

const input = (n: number, over: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  actor: { name: n % 2 ? 'alice' : 'bob', keyId: 'k_1', role: 'publisher' },
  action: n % 3 ? 'journey.publish' : 'journey.pause',
  target: `journey:j${n}`,
  detail: { n },
  from: { via: 'api' },
  ...over,
});
async function append(count: number): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (let i = 1; i <= count; i++) out.push(await t.auditLog.append(input(i)));
  return out;
}
/** The answer as text, whatever its content type. */
const asText = (res: request.Response, done: (err: Error | null, body: string) => void) => {
  const stream = res as unknown as NodeJS.ReadableStream;
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  stream.on('end', () => done(null, text));
};
const get = (url: string, key: string | null = KEYS.adminKey) => {
  const req = request(t.app).get(url);
  return key === null ? req : req.set('Authorization', bearer(key));
};

describe('GET /v1/audit', () => {
  test('pages forward with after, and newest first with order=desc', async () => {
    const entries = await append(5);
    const first = await get('/v1/audit?limit=2');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ entries: entries.slice(0, 2), next: 2 });
    const rest = await get(`/v1/audit?limit=10&after=${first.body.next}`);
    expect(rest.body).toEqual({ entries: entries.slice(2), next: null });
    const newest = await get('/v1/audit?order=desc&limit=2');
    expect(newest.body.entries.map((e: AuditEntry) => e.seq)).toEqual([5, 4]);
    expect((await get('/v1/audit?order=desc&before=4')).body.entries.map((e: AuditEntry) => e.seq)).toEqual([
      3, 2, 1,
    ]);
  });

  test('filters by action, actor, target prefix and time', async () => {
    const entries = await append(6);
    const seqs = async (q: string) =>
      (await get(`/v1/audit?${q}`)).body.entries.map((e: AuditEntry) => e.seq);
    expect(await seqs('action=journey.pause')).toEqual([3, 6]);
    expect(await seqs('actor=bob')).toEqual([2, 4, 6]);
    expect(await seqs('target=journey:j1*')).toEqual([1]);
    expect(await seqs('target=journey:j4')).toEqual([4]);
    expect(await seqs(`since=${encodeURIComponent(entries[5]!.at)}`)).toEqual(
      entries.filter((e) => e.at >= entries[5]!.at).map((e) => e.seq),
    );
  });

  test('bad query parameters answer 400 with their path', async () => {
    const res = await get('/v1/audit?limit=0&order=sideways&since=yesterday&color=red');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.issues).toEqual(
      expect.arrayContaining([
        { path: 'query.limit', message: 'must be at least 1' },
        { path: 'query.order', message: 'must be asc or desc' },
        { path: 'query.since', message: 'must be an ISO-8601 time' },
        { path: 'query.color', message: 'unknown query parameter' },
      ]),
    );
  });

  test('needs a key whose role may read the audit log: auditor and admin', async () => {
    await append(1);
    const prefix = uniquePrefix('audit-keys');
    const withKeys = await startTestApp({
      auditLog: t.auditLog,
      accessServices: createAccessServices({ redis, keyPrefix: prefix, secret: Buffer.from('audit-api') }),
    });
    try {
      const keyFor = async (role: Role) => {
        const res = await request(withKeys.app)
          .post('/v1/keys')
          .set('Authorization', bearer(KEYS.adminKey))
          .send({ name: `${role}-1`, role });
        expect(res.status).toBe(201);
        return res.body.secret as string;
      };
      for (const role of ROLES) {
        const key = role === 'admin' ? KEYS.adminKey : await keyFor(role);
        for (const url of ['/v1/audit', '/v1/audit/export', '/v1/audit/verify']) {
          const res = await request(withKeys.app).get(url).set('Authorization', bearer(key));
          expect([role, url, res.status]).toEqual([role, url, roleCan(role, 'audit:read') ? 200 : 403]);
        }
      }
      expect(ROLES.filter((r) => roleCan(r, 'audit:read'))).toEqual(['auditor', 'admin']);
    } finally {
      await withKeys.close();
      await deleteKeys(redis, prefix);
    }
    expect((await get('/v1/audit', null)).status).toBe(401);
    expect((await get('/v1/audit', 'nope')).status).toBe(401);
    const ingest = await request(t.app).get('/v1/audit').set('Authorization', basic(KEYS.writeKey));
    expect(ingest.status).toBe(403);
    expect(ingest.body.error).toBe('forbidden');
  });
});

describe('GET /v1/audit/export', () => {
  test('streams every entry as one JSON line, across pages, after a seq', async () => {
    const entries = await append(1203);
    const res = await get('/v1/audit/export').buffer(true).parse(asText);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    // Streamed: no length known up front.
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const lines = (res.body as string).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1203);
    expect(lines.map((l) => JSON.parse(l))).toEqual(entries);

    const after = await get('/v1/audit/export?after=1200').buffer(true).parse(asText);
    expect(
      (after.body as string)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
    ).toEqual([1201, 1202, 1203]);
  });

  test('an empty log exports nothing', async () => {
    const res = await get('/v1/audit/export').buffer(true).parse(asText);
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
  });

  test('a bad after answers 400', async () => {
    const res = await get('/v1/audit/export?after=-3');
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: 'query.after', message: 'must be an entry seq (0 or more)' }]);
  });
});

describe('GET /v1/audit/verify', () => {
  test('reports an intact chain and its head, then the edit, against the archived head', async () => {
    const entries = await append(4);
    const head = `4:${entries[3]!.hash}`;
    const ok = await get(`/v1/audit/verify?expectHead=${head}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true, entries: 4, head: { seq: 4, hash: entries[3]!.hash }, problems: [] });

    const keys = new AuditKeys(t.prefix);
    await redis.hset(keys.entries(), '2', JSON.stringify({ ...entries[1], target: 'journey:other' }));
    const edited = await get('/v1/audit/verify');
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      ok: false,
      problems: [{ seq: 2, problem: expect.stringMatching(/edited/) }],
    });
  });

  test('finds a cut-off tail only with the archived head', async () => {
    const entries = await append(3);
    const keys = new AuditKeys(t.prefix);
    await redis.hdel(keys.entries(), '3');
    await redis.hset(keys.head(), 'seq', '2', 'hash', entries[1]!.hash);
    expect((await get('/v1/audit/verify')).body.ok).toBe(true);
    const res = await get(`/v1/audit/verify?expectHead=3:${entries[2]!.hash}`);
    expect(res.body).toMatchObject({ ok: false, problems: [{ seq: 3 }] });
  });

  test('a malformed expectHead answers 400', async () => {
    const res = await get('/v1/audit/verify?expectHead=3:abc');
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([
      { path: 'query.expectHead', message: expect.stringMatching(/^must be seq:hash/) },
    ]);
  });
});
