import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { DEFAULT_CONCURRENCY, runImport } from '../../bulk/import';
import { mapOrder } from '../../bulk/map-orders';
import { readCsv } from '../../bulk/read-csv';
import { EVENTS_QUEUE, type IngestEvent } from '../../queues/events';
import { CpuMeter } from './machine';
import { log, type BenchContext } from './setup';
import { forEachConcurrently, perSecond, round } from './stats';

/** Batches in flight, for the import and its baseline alike: the CLI's default unless BENCH_IMPORT_CONCURRENCY. */
const CONCURRENCY = Number(process.env.BENCH_IMPORT_CONCURRENCY ?? DEFAULT_CONCURRENCY);
const BATCH = 500;

/**
 * Import: rows/s of `touchpoint import --kind orders` (bulk/import.ts, in this process) of a
 * generated orders CSV into the API process, beside a baseline that posts the same messages
 * (pre-built `/v1/batch` bodies of 500, other messageIds) with the same concurrency: what
 * reading, parsing, mapping and checkpointing cost on top of the API's own work.
 *
 * As in the ingest phase the events queue is paused (the router is connected but idle); every
 * accepted row must be on it afterwards, and it is drained after each run.
 */
export async function runImportBench(ctx: BenchContext, rows: number) {
  const file = path.join(ctx.dir, 'orders-import.csv');
  const events = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: ctx.redis, prefix: ctx.queuePrefix });
  await events.pause();
  try {
    const generated = performance.now();
    await writeOrders(file, rows);
    const bytes = (await stat(file)).size;
    log(
      `import: generated ${rows} orders, ${round(bytes / 2 ** 20)} MiB, in ${round((performance.now() - generated) / 1000)} s`,
    );

    log(`import: touchpoint import --kind orders, ${CONCURRENCY} batches of ${BATCH} in flight`);
    const cpu = new CpuMeter({ importer: process.pid, api: ctx.api.pid, redis: ctx.serverPids.redis });
    const rssBefore = process.memoryUsage().rss;
    let rssMax = rssBefore;
    const result = await runImport({
      file,
      kind: 'orders',
      url: ctx.api.baseUrl,
      writeKey: ctx.writeKey,
      batchSize: BATCH,
      concurrency: CONCURRENCY,
      timeZone: 'Asia/Shanghai',
      progress: {
        start() {},
        stop() {},
        update: () => void (rssMax = Math.max(rssMax, process.memoryUsage().rss)),
      },
    });
    const cpuPercent = cpu.stop();
    const queued = await events.getWaitingCount();
    log(`import: ${result.rowsPerSec} rows/s; draining ${queued} queued events`);
    await events.drain();

    log('import: baseline, building the same messages as /v1/batch bodies (not timed)');
    const bodies = await batchBodies(file, ctx.writeKey);
    log(`import: baseline, POST /v1/batch of ${bodies.length} pre-built bodies, ${CONCURRENCY} in flight`);
    const rawCpu = new CpuMeter({ poster: process.pid, api: ctx.api.pid, redis: ctx.serverPids.redis });
    const started = performance.now();
    let refused = 0;
    await forEachConcurrently(bodies, CONCURRENCY, async (body) => {
      const res = await fetch(`${ctx.api.baseUrl}/v1/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ctx.writeKey}`, 'content-type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      if (res.status !== 202) refused += 1;
    });
    const rawMs = performance.now() - started;
    const rawCpuPercent = rawCpu.stop();
    const rawQueued = await events.getWaitingCount();
    await events.drain();
    const rawPerSec = perSecond(rows, rawMs);
    log(`import: baseline ${rawPerSec} rows/s`);
    return {
      method:
        `a generated CSV of ${rows} orders (identifiers, total, currency, category, a JSON items list, local ` +
        `time, store) imported with ${CONCURRENCY} batches of ${BATCH} in flight into the API process; ` +
        'baseline: the same messages as pre-built /v1/batch bodies posted with the same concurrency; the ' +
        'events queue paused (router idle) and drained after each run',
      rows,
      fileMiB: round(bytes / 2 ** 20),
      rowsPerSec: result.rowsPerSec,
      durationS: round(result.durationMs / 1000),
      accepted: result.accepted,
      rejected: result.rejected,
      queuedEvents: queued,
      lostEvents: Math.max(0, result.accepted - queued),
      importerRssMiB: { before: round(rssBefore / 2 ** 20), max: round(rssMax / 2 ** 20) },
      cpuPercent,
      baseline: {
        name: `POST /v1/batch of pre-built bodies (${BATCH} messages), ${CONCURRENCY} in flight`,
        rowsPerSec: rawPerSec,
        refusedRequests: refused,
        queuedEvents: rawQueued,
        cpuPercent: rawCpuPercent,
      },
      ratio: round(result.rowsPerSec / rawPerSec, 2),
    };
  } finally {
    await events.resume();
    await events.close();
    await rm(file, { force: true });
  }
}

/** Orders as a shop system exports them: 2 in 5 known by phone only, the rest by member card. */
async function writeOrders(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('order_id,member_id,phone,total,currency,category,items,time,store\n');
  for (let i = 1; i <= rows; i++) {
    const byPhone = i % 5 < 2;
    const member = byPhone ? '' : `M${i % 200_000}`;
    const phone = byPhone ? `1380013${String(i % 10_000).padStart(4, '0')}` : '';
    const items = `"[{""sku"":""SKU-${i % 977}"",""qty"":${1 + (i % 3)},""price"":${(i % 500) + 0.5}}]"`;
    const day = String(1 + (i % 28)).padStart(2, '0');
    const line = `O${i},${member},${phone},${(i % 5000) + 0.99},CNY,cat-${i % 17},${items},2024-05-${day} ${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00,S-${i % 40}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

/** The import's own messages for the file, under other messageIds, as /v1/batch bodies of BATCH. */
async function batchBodies(file: string, writeKey: string): Promise<string[]> {
  const ctx = { timeZone: 'Asia/Shanghai', fileKey: 'baseline', pseudonymKey: writeKey };
  const bodies: string[] = [];
  let batch: string[] = [];
  for await (const item of readCsv(file, { offset: 0, line: 0 }, { bytes: 0 })) {
    if (item.kind !== 'row') continue;
    const message = mapOrder({ line: item.line, fields: item.fields }, ctx);
    batch.push(JSON.stringify({ ...message, messageId: `raw:${message.messageId}` }));
    if (batch.length === BATCH) {
      bodies.push(`{"batch":[${batch.join(',')}]}`);
      batch = [];
    }
  }
  if (batch.length > 0) bodies.push(`{"batch":[${batch.join(',')}]}`);
  return bodies;
}
