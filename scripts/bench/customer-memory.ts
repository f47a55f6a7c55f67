import { customerEvents, hooksSeen } from './identity';
import { startCustomerRouter, type CustomerRouter } from './customer-router';
import { log, type BenchContext } from './setup';
import { round, sleep } from './stats';

/** Keys kept per event rather than per customer, and only for a while (dedupe markers). */
const PER_EVENT = new Set(['processed', 'identify-merged', 'segment-counted', 'segment-changes']);

/**
 * Redis memory per customer: INFO used_memory before and after N customers went through the
 * customer pipeline (identify with phone, email and member card; an order; a content view), so
 * each has a profile (sensitive traits encrypted), identity records, computed traits, event
 * counters and segment memberships; plus MEMORY USAGE of the keys that appeared, by kind.
 */
export async function runCustomerMemory(ctx: BenchContext, customers: number) {
  let router: CustomerRouter | undefined;
  try {
    router = await startCustomerRouter(ctx, 'memory');
    await router.process(customerEvents(`${ctx.runId}-mwarm`, 900_000, 50));
    await sleep(1000);
    const keysBefore = await keyNames(ctx, router);
    const before = await usedMemory(ctx);
    const events = customerEvents(`${ctx.runId}-m`, 0, customers);
    log(`memory: ${customers} customers (${events.length} events) through the router`);
    const { failed } = await router.process(events);
    await sleep(2000);
    const after = await usedMemory(ctx);
    const added = [...(await keyNames(ctx, router))].filter((k) => !keysBefore.has(k));
    const bytes: Record<string, number> = {};
    const keyCounts: Record<string, number> = {};
    for (let i = 0; i < added.length; i += 1000) {
      const chunk = added.slice(i, i + 1000);
      const pipeline = ctx.redis.pipeline();
      for (const key of chunk) pipeline.memory('USAGE', key, 'SAMPLES', 0);
      const sizes = (await pipeline.exec()) ?? [];
      chunk.forEach((key, j) => {
        const kind = kindOf(router!, key);
        bytes[kind] = (bytes[kind] ?? 0) + Number(sizes[j]?.[1] ?? 0);
        keyCounts[kind] = (keyCounts[kind] ?? 0) + 1;
      });
    }
    const perCustomer = (n: number) => Math.round(n / customers);
    const byKind = Object.fromEntries(
      Object.entries(bytes)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, total]) => [
          kind,
          { bytes: perCustomer(total), keys: round(keyCounts[kind]! / customers, 2) },
        ]),
    );
    const sum = (filter: (kind: string) => boolean) =>
      perCustomer(
        Object.entries(bytes)
          .filter(([k]) => filter(k))
          .reduce((n, [, b]) => n + b, 0),
      );
    return {
      method:
        `${customers} customers after a 50-customer warm-up, in a router process of its own without journeys; ` +
        'used_memory before and 2 s after; MEMORY USAGE (all samples) of every key that appeared, by kind',
      customers,
      failed,
      hooks: await hooksSeen(ctx, router.keyPrefix, `${ctx.runId}-m-u1`),
      usedMemoryBytesPerCustomer: perCustomer(after - before),
      /** The customer's own data: profile, identity, computed traits, counters, segment sets. */
      customerDataBytesPerCustomer: sum((k) => !k.startsWith('bullmq') && !PER_EVENT.has(k)),
      /** Dedupe markers per event (kept a week) and BullMQ's completed job records (a day, ≤ 100 000). */
      transientBytesPerCustomer: {
        perEventMarkers: sum((k) => PER_EVENT.has(k)),
        bullmqJobRecords: sum((k) => k.startsWith('bullmq')),
      },
      byKind,
    };
  } finally {
    await router?.stop();
  }
}

async function usedMemory(ctx: BenchContext): Promise<number> {
  const info = await ctx.redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function keyNames(ctx: BenchContext, router: CustomerRouter): Promise<Set<string>> {
  const names = new Set<string>();
  for (const match of [`${router.keyPrefix}:*`, `${router.queuePrefix}:*`]) {
    const stream = ctx.redis.scanStream({ match, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) for (const key of keys) names.add(key);
  }
  return names;
}

/** `identity id`, `customer segments`, `segment members`, `profile`, `bullmq events jobs`… */
function kindOf(router: CustomerRouter, key: string): string {
  if (key.startsWith(`${router.queuePrefix}:`)) return `bullmq ${key.split(':')[1]} jobs`;
  const rest = key.slice(router.keyPrefix.length + 1);
  const identity = /^identity:([a-z-]+)(:|$)/.exec(rest);
  if (identity) return `identity ${identity[1]}`;
  const customer = /^customer:.*:([a-z-]+)$/.exec(rest);
  if (customer) return `customer ${customer[1]}`;
  if (/^segment:.*:members$/.test(rest)) return 'segment members';
  return rest.split(':')[0] ?? rest;
}
