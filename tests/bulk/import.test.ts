import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkpointPath, readCheckpoint } from '../../bulk/checkpoint';
import { runImport, type ImportOptions } from '../../bulk/import';
import type { IngestEvent } from '../../queues/events';
import { cli, ROOT } from '../cli/support';
import { KEYS, readRejects, startImportServer, tempDir, writeFile, type ImportServer } from './support';

/*
 * `touchpoint import` against the real ingestion API (the app in-process on a real port, its
 * BullMQ queue on the test Redis): what lands on the queue, rejects with their lines, the API's
 * 400s and 413s, retries, and resuming after Ctrl-C or a crash without losing or doubling rows.
 */

let server: ImportServer;
let dir: string;
beforeEach(async () => {
  server = await startImportServer();
  dir = tempDir();
});
afterEach(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (file: string, opts: Partial<ImportOptions> & Pick<ImportOptions, 'kind'>) =>
  runImport({ file, url: server.url, writeKey: KEYS.writeKey, timeZone: 'Asia/Shanghai', ...opts });

const queued = async () => (await server.app.jobs()).map((job) => job.data);
const byMessageId = (events: IngestEvent[]) => new Map(events.map((e) => [e.messageId, e]));

/** An orders CSV of `n` rows, order ids O-1..O-n, two members. */
function ordersCsv(n: number): string {
  const lines = ['orderId,memberId,total,currency,category,time'];
  for (let i = 1; i <= n; i++) lines.push(`O-${i},M${i % 2},${i}.5,CNY,cat-${i % 3},2024-05-01 10:00:00`);
  return `${lines.join('\n')}\n`;
}

test('members CSV: one identify per row on the queue, nothing left behind', async () => {
  const file = writeFile(
    dir,
    'members.csv',
    'memberId,userId,phone,name,level\nM1,,13800138000,Ann,gold\nM2,u-2,,Bo,\nM3,,,Cy,silver\n',
  );
  const result = await run(file, { kind: 'members' });
  expect(result).toMatchObject({
    rows: 3,
    accepted: 3,
    rejected: 0,
    interrupted: false,
    line: 4,
    batches: 1,
  });
  const events = await queued();
  expect(events.map((e) => [e.type, e.userId ?? null, e.anonymousId ?? null])).toEqual([
    ['identify', null, 'member:M1'],
    ['identify', 'u-2', null],
    ['identify', null, 'member:M3'],
  ]);
  expect(events[0]).toMatchObject({
    traits: { memberId: 'M1', phone: '13800138000', name: 'Ann', memberLevel: 'gold' },
  });
  expect(fs.existsSync(checkpointPath(file))).toBe(false);
  expect(fs.existsSync(`${file}.rejects.jsonl`)).toBe(false);
});

test('orders JSONL and events JSONL land as tracks with their times', async () => {
  const orders = writeFile(
    dir,
    'orders.jsonl',
    '{"orderId":"O-1","userId":"u-1","total":120,"time":"2024-05-01T08:00:00Z","category":"sofa"}\n',
  );
  const events = writeFile(
    dir,
    'events.jsonl',
    '{"type":"track","event":"content_viewed","userId":"u-1","timestamp":"2024-05-02T00:00:00Z","properties":{"title":"t"}}\n',
  );
  await run(orders, { kind: 'orders' });
  await run(events, { kind: 'events' });
  const got = byMessageId(await queued());
  expect(got.get('import:orders:O-1')).toMatchObject({
    type: 'track',
    event: 'order_completed',
    userId: 'u-1',
    timestamp: '2024-05-01T08:00:00.000Z',
    properties: { orderId: 'O-1', total: 120, category: 'sofa' },
  });
  expect([...got.keys()].find((id) => id.startsWith('import:events:'))).toMatch(
    /^import:events:[0-9a-f]{16}:1$/,
  );
});

test('bad rows go to the rejects file with their line and reason; the good ones all land', async () => {
  const longId = 'u'.repeat(300); // the mapping passes it, the API refuses it (ids ≤ 256)
  const csv = [
    'orderId,userId,memberId,total,time',
    'O-1,,M1,10,2024-05-01', // 2 ok
    'O-2,,M1,ten,2024-05-01', // 3 mapping: total
    'O-3,,M1,10', // 4 parse: 4 fields
    `O-4,${longId},,10,2024-05-01`, // 5 API: userId
    'O-5,,M2,10,2024-05-01', // 6 ok
    'O-6,,M2,"20\n",2024-05-01', // 7-8 ok (a line break inside quotes)
    'O-7,,,10,2024-05-01', // 9 mapping: identifier
    `O-8,${longId},,10,2024-05-01`, // 10 API
    'O-9,,M3,30,2024-05-01', // 11 ok
  ].join('\n');
  const file = writeFile(dir, 'orders.csv', `${csv}\n`);
  const result = await run(file, { kind: 'orders', batchSize: 3 });
  expect(result).toMatchObject({ rows: 9, accepted: 4, rejected: 5 });
  const rejects = readRejects(file);
  expect(rejects.map((r) => [r.line, r.reason])).toEqual([
    [3, 'total: "ten" is not a number'],
    [4, '4 fields, the header has 5'],
    [5, 'refused by the server: userId: must be at most 256 characters'],
    [9, expect.stringContaining('no identifier')],
    [10, 'refused by the server: userId: must be at most 256 characters'],
  ]);
  expect(rejects[0]!.row).toMatchObject({ orderId: 'O-2', total: 'ten' });
  expect(rejects[2]!.row).toMatchObject({ orderId: 'O-4' });
  expect([...byMessageId(await queued()).keys()].sort()).toEqual([
    'import:orders:O-1',
    'import:orders:O-5',
    'import:orders:O-6',
    'import:orders:O-9',
  ]);
  // Each batch of 3 held one refused row: answered 400 naming it, then sent again without it.
  // (Two batches in flight at once: in any order.)
  expect(server.requests.map((r) => `${r.status} ${r.messageIds.length}`).sort()).toEqual([
    '202 2',
    '202 2',
    '400 3',
    '400 3',
  ]);
});

test('a row larger than the body limit (413) is rejected alone; its batch goes on', async () => {
  const big = 'x'.repeat(600_000);
  const lines = [
    { type: 'track', event: 'e', userId: 'u-1', messageId: 'a' },
    { type: 'track', event: 'e', userId: 'u-1', messageId: 'b', properties: { big } },
    { type: 'track', event: 'e', userId: 'u-1', messageId: 'c' },
  ];
  const file = writeFile(dir, 'events.jsonl', lines.map((l) => JSON.stringify(l)).join('\n'));
  const result = await run(file, { kind: 'events', maxBatchBytes: 10_000_000 }); // one batch: 413
  expect(result).toMatchObject({ accepted: 2, rejected: 1 });
  expect(readRejects(file).map((r) => [r.line, r.reason])).toEqual([
    [2, "refused by the server: larger than the server's request body limit"],
  ]);
  expect([...byMessageId(await queued()).keys()].sort()).toEqual(['import:events:a', 'import:events:c']);
});

test('5xx and 429 are retried (Retry-After honoured); a wrong key stops with a clear message', async () => {
  const file = writeFile(dir, 'orders.csv', ordersCsv(5));
  server.failNext(2, 503);
  const retries: string[] = [];
  const result = await runImport({
    file,
    kind: 'orders',
    url: server.url,
    writeKey: KEYS.writeKey,
    retry: { baseDelayMs: 10 },
    progress: { start() {}, stop() {}, update: (s) => s.note && retries.push(s.note) },
  });
  expect(result).toMatchObject({ accepted: 5, rejected: 0 });
  expect(retries[0]).toMatch(
    /^retrying in \d+\.\d s: the server answered 503: unavailable: injected failure$/,
  );

  server.failNext(1, 429, { 'Retry-After': '1' });
  const started = Date.now();
  await run(writeFile(dir, 'again.csv', ordersCsv(2)), { kind: 'orders', retry: { baseDelayMs: 10 } });
  expect(Date.now() - started).toBeGreaterThanOrEqual(900);

  await expect(
    runImport({
      file: writeFile(dir, 'x.csv', ordersCsv(1)),
      kind: 'orders',
      url: server.url,
      writeKey: 'wrong',
    }),
  ).rejects.toThrow(/answered 401: unauthorized: invalid API key \(the write key: --write-key/);
});

test('Ctrl-C: stops with a checkpoint; a plain rerun refuses; --resume finishes, nothing lost or doubled', async () => {
  const rows = 300;
  const file = writeFile(dir, 'orders.csv', ordersCsv(rows));
  const controller = new AbortController();
  // Slow batches; interrupt once a few of them are done.
  server.before.push((req, _res, next) => void setTimeout(next, req.path === '/v1/batch' ? 20 : 0));
  let commits = 0;
  const first = await run(file, {
    kind: 'orders',
    batchSize: 10,
    concurrency: 2,
    signal: controller.signal,
    progress: {
      start() {},
      stop() {},
      update: () => {
        if (++commits === 6) controller.abort();
      },
    },
  });
  expect(first.interrupted).toBe(true);
  expect(first.accepted).toBeGreaterThan(0);
  expect(first.accepted).toBeLessThan(rows);
  const checkpoint = readCheckpoint(file)!;
  expect(checkpoint).toMatchObject({
    kind: 'orders',
    format: 'csv',
    line: first.line,
    counts: { accepted: first.accepted },
  });
  expect(checkpoint.line).toBe(first.accepted + 1); // header + the rows done

  await expect(run(file, { kind: 'orders' })).rejects.toThrow(
    `an earlier import of ${file} stopped at line ${checkpoint.line}`,
  );
  await expect(run(file, { kind: 'members', mode: 'resume' })).rejects.toThrow(
    'it was an import of orders, not members',
  );

  const second = await run(file, { kind: 'orders', batchSize: 10, mode: 'resume' });
  expect(second).toMatchObject({ rows, accepted: rows, rejected: 0, resumedFrom: { line: checkpoint.line } });
  expect(fs.existsSync(checkpointPath(file))).toBe(false);
  const ids = server.acceptedIds();
  expect(new Set(ids).size).toBe(rows);
  // At most the batches in flight at the interruption were sent twice (2 × 10 rows).
  expect(ids.length - rows).toBeLessThanOrEqual(20);
  expect(await server.app.queue.getWaitingCount()).toBe(rows);
});

test('resume refuses a changed file; --restart starts over and rewrites the rejects file', async () => {
  const file = writeFile(dir, 'orders.csv', `${ordersCsv(20)}O-x,M1,nope,CNY,c,2024-05-01\n`);
  const controller = new AbortController();
  server.before.push((req, _res, next) => void setTimeout(next, req.path === '/v1/batch' ? 30 : 0));
  await run(file, {
    kind: 'orders',
    batchSize: 5,
    concurrency: 1,
    signal: controller.signal,
    progress: { start() {}, stop() {}, update: (s) => s.accepted >= 5 && controller.abort() },
  });
  expect(readCheckpoint(file)).toBeDefined();
  fs.appendFileSync(file, 'O-99,M1,1,CNY,c,2024-05-01\n');
  await expect(run(file, { kind: 'orders', mode: 'resume' })).rejects.toThrow(
    /cannot resume from .*: the file's size changed .* Use --restart/,
  );
  const result = await run(file, { kind: 'orders', mode: 'restart' });
  expect(result).toMatchObject({ rows: 22, accepted: 21, rejected: 1 });
  expect(readRejects(file).map((r) => r.line)).toEqual([22]);
});

test('a crash (SIGKILL) mid-import: --resume goes on from the checkpoint, every row once on the queue', async () => {
  const rows = 600;
  const file = writeFile(dir, 'orders.csv', ordersCsv(rows));
  server.before.push((req, _res, next) => void setTimeout(next, req.path === '/v1/batch' ? 25 : 0));
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'tests/bulk/children/run.js'),
      'import',
      'import',
      file,
      '--kind',
      'orders',
      '--url',
      server.url,
      '--write-key',
      KEYS.writeKey,
      '--batch',
      '10',
      '--timezone',
      'Asia/Shanghai',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Killed once a good part is done, with batches in flight.
  const deadline = Date.now() + 60_000;
  while ((readCheckpoint(file)?.counts.accepted ?? 0) < 200) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no progress:\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  expect(await exited).toBeNull();
  const checkpoint = readCheckpoint(file)!;
  expect(checkpoint.counts.accepted).toBeLessThan(rows);

  const resumed = await cli([
    'import',
    file,
    '--kind',
    'orders',
    '--url',
    server.url,
    '--write-key',
    KEYS.writeKey,
    '--batch',
    '10',
    '--resume',
  ]);
  expect(resumed.err).not.toContain('touchpoint import:');
  expect(resumed.code).toBe(0);
  expect(resumed.out).toBe(
    `imported ${file} (resumed after line ${checkpoint.line}): ${rows} rows, ${rows} accepted, 0 rejected in ` +
      `${resumed.out.match(/ in (\S+) /)![1]} (${resumed.out.match(/\((\d+) rows\/s\)/)![1]} rows/s)\n`,
  );
  const ids = server.acceptedIds();
  expect(new Set(ids).size).toBe(rows);
  expect(ids.length - rows).toBeLessThanOrEqual(20); // the two batches in flight at the kill, at most
  expect(await server.app.queue.getWaitingCount()).toBe(rows);
}, 120_000);

test('the CLI: options, plain progress lines on a pipe, the summary and the rejects file', async () => {
  const file = writeFile(dir, 'members.jsonl', '{"memberId":"M1"}\n{"name":"nobody"}\n');
  const run1 = await cli(['import', file, '--kind', 'members', '--url', server.url, '--key', KEYS.adminKey]);
  expect(run1.code).toBe(0);
  expect(run1.out).toMatch(
    new RegExp(`^imported ${file}: 2 rows, 1 accepted, 1 rejected in \\d+s \\(\\d+ rows/s\\)\n`),
  );
  expect(run1.out).toContain(`rejected rows, with their line and reason: ${file}.rejects.jsonl\n`);

  const noKey = await cli(['import', file, '--kind', 'members', '--url', server.url], {
    TOUCHPOINT_DATA_DIR: dir,
  });
  expect(noKey).toMatchObject({ code: 1 });
  expect(noKey.err).toContain('no write key: pass --write-key or set TOUCHPOINT_WRITE_KEY');
  expect(noKey.err).toContain('keeps only the SHA-256 of the keys');
  const badKind = await cli(['import', file, '--kind', 'people']);
  expect(badKind.code).not.toBe(0);
  expect(badKind.err).toContain("argument 'people' is invalid. Allowed choices are members, orders, events");
  const unknownFormat = await cli([
    'import',
    writeFile(dir, 'x.txt', ''),
    '--kind',
    'members',
    '--write-key',
    'k',
  ]);
  expect(unknownFormat.err).toContain(
    'cannot tell the format from the extension; pass --format csv or --format jsonl',
  );
});

test('no server at the URL: said within seconds, not after minutes of retries', async () => {
  const file = writeFile(dir, 'm.csv', 'memberId\nM1\n');
  const port = new URL(server.url).port;
  await server.close();
  server = await startImportServer(); // afterEach closes this one
  const started = Date.now();
  await expect(
    runImport({
      file,
      kind: 'members',
      url: `http://127.0.0.1:${port}`,
      writeKey: 'k',
      retry: { baseDelayMs: 50 },
    }),
  ).rejects.toThrow(
    /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/batch: it could not connect \(ECONNREFUSED\)\. Is the server running\?/,
  );
  expect(Date.now() - started).toBeLessThan(5000);
});
