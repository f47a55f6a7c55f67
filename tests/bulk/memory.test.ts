import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { runImport } from '../../bulk/import';
import { tempDir } from './support';

/*
 * Memory stays flat however long the file: a 200 000-row orders CSV (~17 MB) imported into a
 * server that only counts what it gets (so that this process's memory is the importer's), with
 * RSS and heap sampled along the way. Holding the rows (or what was sent) would grow them by
 * hundreds of MB; the importer holds at most `concurrency` batches.
 */

const ROWS = 200_000;

/** A full GC before each sample, so that what is measured is memory held, not garbage not yet collected. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

test('RSS and heap do not grow with the rows read', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'orders.csv');
  const out = fs.createWriteStream(file);
  out.write('orderId,memberId,phone,total,currency,category,items,time,store\n');
  for (let i = 1; i <= ROWS; i++) {
    const items = `"[{""sku"":""SKU-${i % 977}"",""qty"":${1 + (i % 3)},""price"":${(i % 500) + 0.5}}]"`;
    const line = `O-${i},M${i % 50_000},1380013${String(i % 10_000).padStart(4, '0')},${(i % 5000) + 0.99},CNY,cat-${i % 17},${items},2024-05-01 10:${String(i % 60).padStart(2, '0')}:00,S-${i % 40}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
  const size = fs.statSync(file).size;

  let received = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received += (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { batch: unknown[] }).batch.length;
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}');
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));

  const samples: { at: number; rss: number; heap: number }[] = [];
  const started = Date.now();
  const result = await runImport({
    file,
    kind: 'orders',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    writeKey: 'k',
    progress: {
      start() {},
      stop() {},
      update: (state) => {
        if (samples.length > 0 && state.bytes - samples[samples.length - 1]!.at < size / 50) return;
        gc();
        const m = process.memoryUsage();
        samples.push({ at: state.bytes, rss: m.rss, heap: m.heapUsed });
      },
    },
  });
  const seconds = (Date.now() - started) / 1000;
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });

  expect(result).toMatchObject({ rows: ROWS, accepted: ROWS, rejected: 0 });
  expect(received).toBe(ROWS);
  // From a quarter of the file on (warm: code loaded, buffers and pools at their size) to the end.
  const MiB = 2 ** 20;
  const warm = samples.filter((s) => s.at >= size / 4);
  const rss = warm.map((s) => s.rss / MiB);
  const heap = warm.map((s) => s.heap / MiB);
  const growth = { rss: Math.max(...rss) - rss[0]!, heap: Math.max(...heap) - heap[0]! };
  process.stderr.write(
    `[memory] ${ROWS} rows, ${(size / MiB).toFixed(1)} MiB in ${seconds.toFixed(1)} s (${Math.round(ROWS / seconds)} rows/s): ` +
      `RSS ${rss[0]!.toFixed(0)} → max ${Math.max(...rss).toFixed(0)} MiB (+${growth.rss.toFixed(1)}), ` +
      `heap ${heap[0]!.toFixed(0)} → max ${Math.max(...heap).toFixed(0)} MiB (+${growth.heap.toFixed(1)}) over the last 3/4 of the file\n`,
  );
  expect(warm.length).toBeGreaterThan(30);
  // Flat: a leak of even 200 bytes per row would be +30 MiB here.
  expect(growth.rss).toBeLessThan(30);
  expect(growth.heap).toBeLessThan(30);
}, 300_000);
