import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { AuditKeys } from '../../audit-log/keys';
import type { AuditEntry } from '../../audit-log/types';
import { cli } from '../cli/support';
import { KEYS, startTestApp, type TestApp } from '../server/fixture';
import { testRedis } from '../support/redis';

/** `touchpoint audit verify|export` against the audit API of an app on a real port. */
let t: TestApp;
let server: Server;
let url: string;
let redis: Redis;
let dir: string;
let entries: AuditEntry[];

beforeAll(async () => {
  redis = testRedis();
  t = await startTestApp();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-audit-cli-'));
  entries = [];
  for (let i = 1; i <= 5; i++) {
    entries.push(
      await t.auditLog.append({
        actor: { name: 'ana', role: 'publisher' },
        action: 'journey.publish',
        target: `journey:j${i}@1`,
        from: { via: 'cli' },
      }),
    );
  }
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
  await redis?.quit();
  fs.rmSync(dir, { recursive: true, force: true });
});

const audit = (args: string[], key = KEYS.adminKey) => cli(['audit', ...args, '--url', url, '--key', key]);
const head = () => `5:${entries[4]!.hash}`;

test('verify prints the head of an intact log and exits 0', async () => {
  const run = await audit(['verify']);
  expect(run).toEqual({ code: 0, out: `audit log intact: 5 entries\nhead ${head()}\n`, err: '' });
  const json = await audit(['verify', '--json', '--expect-head', head()]);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.out)).toEqual({
    ok: true,
    entries: 5,
    head: { seq: 5, hash: entries[4]!.hash },
    problems: [],
  });
});

test('export writes JSON Lines to a file, or after a seq to stdout', async () => {
  const file = path.join(dir, 'audit.jsonl');
  const run = await audit(['export', '--out', file]);
  expect(run).toEqual({ code: 0, out: `exported 5 entries to ${file}, last seq 5\n`, err: '' });
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  expect(lines.pop()).toBe('');
  expect(lines.map((l) => JSON.parse(l))).toEqual(entries);
  expect(fs.existsSync(`${file}.partial`)).toBe(false);

  const rest = await audit(['export', '--after', '3']);
  expect(rest.code).toBe(0);
  expect(
    rest.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
  ).toEqual(entries.slice(3));
});

test('a key whose role may not read the audit log is refused', async () => {
  const run = await audit(['verify'], KEYS.writeKey);
  expect(run.code).toBe(1);
  expect(run.err).toMatch(/answered 403 forbidden/);
  expect(run.out).toBe('');
});

test('bad options are refused before asking the server', async () => {
  expect(await audit(['verify', '--expect-head', 'latest'])).toMatchObject({
    code: 1,
    err: expect.stringMatching(/--expect-head: expected seq:hash/),
  });
  expect(await audit(['export', '--after', 'x'])).toMatchObject({
    code: 1,
    err: expect.stringMatching(/--after: expected an entry seq/),
  });
});

// Last: these tamper with the log.
test('verify exits 1 and names the seq of a deleted entry, and of a cut-off tail', async () => {
  const keys = new AuditKeys(t.prefix);
  await redis.hdel(keys.entries(), '5');
  await redis.hset(keys.head(), 'seq', '4', 'hash', entries[3]!.hash);
  // The tail cut with the head rewound: consistent on its own, caught by the archived head.
  expect((await audit(['verify'])).code).toBe(0);
  const cut = await audit(['verify', '--expect-head', head()]);
  expect(cut.code).toBe(1);
  expect(cut.out).toBe(
    'audit log NOT intact: 1 problem in 4 entries\n' +
      '  seq 5: the log ends at 4 but an earlier head was 5: entries were cut off\n' +
      `head 4:${entries[3]!.hash}\n`,
  );

  await redis.hdel(keys.entries(), '2');
  const deleted = await audit(['verify']);
  expect(deleted.code).toBe(1);
  expect(deleted.out).toContain('  seq 2: entry 2 is missing (deleted)\n');
});
