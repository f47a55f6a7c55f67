import { stat } from 'node:fs/promises';
import v8 from 'node:v8';
import { enterJourney } from './entry';
import { rssMiB } from './machine';
import { log, type BenchContext } from './setup';
import { round, sleep } from './stats';
import { identifyCustomers } from './traffic';

/** Pause after the last entry before measuring, so the burst's garbage can be collected. */
const SETTLE_MS = 3000;

/**
 * Footprint: Redis memory, worker RSS and the dev server's db before and after N customers have
 * entered dormant-reactivation and sleep in its 7-day waitFor; deltas scaled to 10 000 customers.
 * Also what one customer's keys in Redis weigh, by kind (MEMORY USAGE over a sample).
 */
export async function runFootprint(ctx: BenchContext, customers: number) {
  const ids = Array.from({ length: customers }, (_, i) => `${ctx.runId}-sleep-${i}`);
  const halves = [ids.slice(0, customers / 2), ids.slice(customers / 2)];
  const warmUp = Array.from({ length: 20 }, (_, i) => `${ctx.runId}-warm-${i}`);
  await identifyCustomers(ctx, [...warmUp, ...ids]);
  await enterJourney(ctx, warmUp); // so that code loading and first allocations are not counted
  await sleep(SETTLE_MS);
  const keysBefore = await keyNames(ctx);
  // Two halves: if the second adds as much as the first, the growth is per customer, not warm-up.
  const snapshots = [await snapshot(ctx)];
  for (const half of halves) {
    log(`footprint: ${half.length} customers enter and go to sleep`);
    await enterJourney(ctx, half);
    await sleep(SETTLE_MS);
    snapshots.push(await snapshot(ctx));
  }
  const [before, middle, after] = snapshots as [Snapshot, Snapshot, Snapshot];
  const per10k = (key: keyof Snapshot, from = before, to = after, n = customers) => {
    const a = to[key];
    const b = from[key];
    return a === undefined || b === undefined ? null : round(((a - b) * 10_000) / n);
  };
  const halves10k = (key: keyof Snapshot) => [
    per10k(key, before, middle, halves[0]!.length),
    per10k(key, middle, after, halves[1]!.length),
  ];
  const cacheSize = defaultMaxCachedWorkflows();
  const workerRss = per10k('workerRssMiB');
  const running = await ctx.temporal.workflow.count(
    `TaskQueue = '${ctx.taskQueue}' AND ExecutionStatus = 'Running'`,
  );
  return {
    method:
      `${customers} customers entered in two halves, each measured ${SETTLE_MS / 1000} s after its last ` +
      'WeCom send; deltas scaled linearly to 10 000 customers (extrapolated, not measured at 10 000)',
    customers,
    snapshots: { before, middle, after },
    per10kCustomers: {
      redisUsedMemoryMiB: per10k('redisUsedMemoryMiB'),
      redisKeys: per10k('redisKeys'),
      temporalDbAndWalMiB: per10k('temporalDbMiB'),
      temporalServerRssMiB: per10k('temporalRssMiB'),
      /** Only `workerMaxCachedWorkflows` runs stay in worker memory; the rest are evicted. */
      workerRssMiB: workerRss === null ? null : round((workerRss * Math.min(10_000, cacheSize)) / 10_000),
    },
    /** The same per-10k figures from each half alone: equal halves mean growth per customer. */
    halvesPer10k: {
      redisUsedMemoryMiB: halves10k('redisUsedMemoryMiB'),
      workerRssMiB: halves10k('workerRssMiB'),
      temporalServerRssMiB: halves10k('temporalRssMiB'),
      temporalDbAndWalMiB: halves10k('temporalDbMiB'),
    },
    workerRssKiBPerCachedRun: workerRss === null ? null : round((workerRss * 1024) / 10_000),
    /** The SDK default from the heap limit (Touchpoint sets none). */
    workerMaxCachedWorkflows: cacheSize,
    redisBytesPerCustomer: await newKeysPerCustomer(ctx, keysBefore, customers),
    runningJourneysOnTaskQueue: running.count,
  };
}

interface Snapshot {
  redisUsedMemoryMiB: number;
  redisKeys: number;
  workerRssMiB?: number;
  temporalRssMiB?: number;
  temporalDbMiB?: number;
}

async function snapshot(ctx: BenchContext): Promise<Snapshot> {
  const info = await ctx.redis.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
  const size = async (file: string) => (await stat(file).catch(() => undefined))?.size ?? 0;
  const db = ctx.temporalDb;
  return {
    redisUsedMemoryMiB: round(used / 2 ** 20, 2),
    redisKeys: await ctx.redis.dbsize(),
    workerRssMiB: ctx.worker.pid ? rssMiB(ctx.worker.pid) : undefined,
    temporalRssMiB: ctx.serverPids.temporal ? rssMiB(ctx.serverPids.temporal) : undefined,
    temporalDbMiB: db ? round(((await size(db)) + (await size(`${db}-wal`))) / 2 ** 20, 2) : undefined,
  };
}

/** Every key name in Redis (the bench's own servers, or its prefixes on given ones). */
async function keyNames(ctx: BenchContext): Promise<Set<string>> {
  const names = new Set<string>();
  const stream = ctx.redis.scanStream({ match: `${ctx.keyPrefix}*`, count: 1000 });
  for await (const keys of stream as AsyncIterable<string[]>) for (const key of keys) names.add(key);
  return names;
}

/**
 * What the keys that appeared while the customers entered weigh (MEMORY USAGE), by kind, per
 * customer: Touchpoint's own keys by their name (`<prefix>:profile:…` is `profile`), BullMQ's by
 * queue (job records are kept after completion: a day, at most 100 000 per queue). Growth of
 * keys that existed before (queue indexes, counters) is in used_memory only.
 */
async function newKeysPerCustomer(ctx: BenchContext, before: Set<string>, customers: number) {
  const added = [...(await keyNames(ctx))].filter((key) => !before.has(key));
  const bytes: Record<string, number> = {};
  for (let i = 0; i < added.length; i += 1000) {
    const chunk = added.slice(i, i + 1000);
    const pipeline = ctx.redis.pipeline();
    for (const key of chunk) pipeline.memory('USAGE', key, 'SAMPLES', 0); // 0: every field, not an estimate
    const sizes = (await pipeline.exec()) ?? [];
    chunk.forEach((key, j) => {
      const kind = kindOf(ctx, key);
      bytes[kind] = (bytes[kind] ?? 0) + Number(sizes[j]?.[1] ?? 0);
    });
  }
  const perCustomer = Object.fromEntries(
    Object.entries(bytes)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, total]): [string, number] => [kind, Math.round(total / customers)])
      .filter(([, perCustomer]) => perCustomer !== 0), // e.g. a queue's meta key, made once
  );
  return {
    ...perCustomer,
    total: Object.values(perCustomer).reduce((a, b) => a + b, 0),
    keysPerCustomer: round(added.length / customers, 1),
  };
}

function kindOf(ctx: BenchContext, key: string): string {
  if (key.startsWith(`${ctx.queuePrefix}:`)) return `bullmq ${key.split(':')[1]} jobs`;
  return key.slice(ctx.keyPrefix.length + 1).split(':')[0] ?? key;
}

/** @temporalio/worker's default for reuseV8Context workers, from this Node's heap limit. */
function defaultMaxCachedWorkflows(): number {
  const heapMiB = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  return Math.max(Math.floor((Math.max(heapMiB - 200, 0) * 600) / 1024), 10);
}
