import path from 'node:path';
import { Queue } from 'bullmq';
import pino from 'pino';
import { projectRoot } from '../../config/settings';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { EVENTS_QUEUE, type IngestEvent } from '../../queues/events';
import { SegmentCatalog } from '../../segmentation/catalog';
import { SegmentEngine } from '../../segmentation/engine';
import { SegmentKeys } from '../../segmentation/keys';
import { loadSegments } from '../../segmentation/load';
import { reevaluateAll } from '../../segmentation/reevaluate';
import { CpuMeter } from './machine';
import { log, type BenchContext } from './setup';
import { round } from './stats';

const DAY_MS = 86_400_000;
const PAGE = 1000;

/**
 * Segment re-evaluation for N customers: the scheduled pass (segmentation/reevaluate.ts) over N
 * profile hashes written straight into Redis under a prefix of its own, with the shipped segments
 * (segments/*.yaml). Timed twice: the first pass, where 15 % of the customers enter a segment
 * (their RFM groups) and their `segment_entered` events are queued; then a pass with nothing to
 * change, as most scheduled ticks are. Baseline: a raw SCAN + pipelined HGETALL pass over the same
 * keys, the least any pass over every profile costs.
 */
export async function runSegments(ctx: BenchContext, customers: number) {
  const keyPrefix = `${ctx.keyPrefix}-segments`;
  const keys = new RedisKeys(keyPrefix);
  const segmentDefinitions = loadSegments(path.join(projectRoot, 'segments'));
  // Segment events go to a queue nobody consumes; counted, then removed.
  const events = new Queue<IngestEvent>(EVENTS_QUEUE, {
    connection: ctx.redis,
    prefix: `${ctx.queuePrefix}-segments`,
  });
  await events.pause();
  try {
    const written = performance.now();
    await writeProfiles(ctx, keys, customers);
    log(`segments: wrote ${customers} profiles in ${round((performance.now() - written) / 1000)} s`);
    const memory = await usedMemoryMiB(ctx);

    const engine = new SegmentEngine({
      redis: ctx.redis,
      keys: new SegmentKeys(keyPrefix),
      profiles: new ProfileStore(ctx.redis, keys),
      catalog: new SegmentCatalog(segmentDefinitions),
      eventsQueue: events,
      logger: pino({ level: 'warn' }, pino.destination(2)),
      timeZone: 'Asia/Shanghai',
    });
    const pass = async (label: string) => {
      log(`segments: re-evaluation, ${label}`);
      const cpu = new CpuMeter({ bench: process.pid, redis: ctx.serverPids.redis });
      const nowMs = Date.now();
      const result = await reevaluateAll(engine, keys, {
        nowMs,
        causeId: `reevaluate:${nowMs}`,
        pageSize: PAGE,
      });
      const out = {
        ...result,
        seconds: round(result.ms / 1000, 2),
        customersPerSec: round((result.scanned * 1000) / result.ms),
        cpuPercent: cpu.stop(),
      };
      log(`segments: ${label}: ${out.seconds} s`);
      return out;
    };
    const first = await pass('first pass (15 % enter)');
    const queuedEvents = await events.getWaitingCount();
    await events.obliterate({ force: true });
    await events.pause();
    const steady = await pass('second pass (no change)');

    log('segments: baseline, SCAN + HGETALL over the same profiles');
    const cpu = new CpuMeter({ bench: process.pid, redis: ctx.serverPids.redis });
    const started = performance.now();
    let scanned = 0;
    let cursor = '0';
    const match = `${keys.profile('').replace(/[*?[\]\\]/g, '\\$&')}*`;
    do {
      const [next, found] = await ctx.redis.scan(cursor, 'MATCH', match, 'COUNT', PAGE, 'TYPE', 'hash');
      cursor = next;
      const pipeline = ctx.redis.pipeline();
      for (const key of found) pipeline.hgetall(key);
      await pipeline.exec();
      scanned += found.length;
    } while (cursor !== '0');
    const rawMs = performance.now() - started;
    const baseline = {
      name: `SCAN (COUNT ${PAGE}) + pipelined HGETALL of each page`,
      scanned,
      seconds: round(rawMs / 1000, 2),
      customersPerSec: round((scanned * 1000) / rawMs),
      cpuPercent: cpu.stop(),
    };
    return {
      method:
        `${customers} profile hashes (name, city, order count and spend, last order 10–400 days ago, RFM group: ` +
        '5 % each high-value, dormant, at-risk) written straight into Redis; segmentation/reevaluate.ts run in ' +
        `this process with the shipped segments (${segmentDefinitions.map((s) => s.id).join(', ')}), pages of ${PAGE}; ` +
        'baseline: a raw SCAN + HGETALL pass over the same keys',
      customers,
      redisUsedMemoryMiBWithProfiles: memory,
      firstPass: { ...first, queuedSegmentEvents: queuedEvents },
      steadyPass: steady,
      baseline,
      ratio: {
        firstPass: round(baseline.seconds / first.seconds, 3),
        steadyPass: round(baseline.seconds / steady.seconds, 3),
      },
    };
  } finally {
    await events.obliterate({ force: true }).catch(() => undefined);
    await events.close();
    log('segments: removing the profiles');
    await removeKeys(ctx, `${keyPrefix}:*`);
  }
}

/** Profiles as the router writes them: trait → JSON value, in pipelines of a thousand. */
async function writeProfiles(ctx: BenchContext, keys: RedisKeys, customers: number): Promise<void> {
  const now = Date.now();
  const groups = ['high-value', 'dormant', 'at-risk'];
  for (let from = 0; from < customers; from += PAGE) {
    const pipeline = ctx.redis.pipeline();
    for (let i = from; i < Math.min(customers, from + PAGE); i++) {
      const group = i % 20 < 3 ? groups[i % 20]! : i % 2 === 0 ? 'potential' : 'new';
      pipeline.hset(
        keys.profile(`seg-${i}`),
        'name',
        JSON.stringify(`Customer ${i}`),
        'city',
        JSON.stringify(i % 3 === 0 ? 'Shanghai' : 'Hangzhou'),
        'orderCount',
        JSON.stringify(1 + (i % 12)),
        'totalSpend',
        JSON.stringify(100 + (i % 90) * 53),
        'lastOrderAt',
        JSON.stringify(new Date(now - (10 + (i % 390)) * DAY_MS).toISOString()),
        'rfmGroup',
        JSON.stringify(group),
      );
    }
    await pipeline.exec();
  }
}

async function usedMemoryMiB(ctx: BenchContext): Promise<number> {
  const info = await ctx.redis.info('memory');
  return round(Number(/used_memory:(\d+)/.exec(info)?.[1]) / 2 ** 20);
}

async function removeKeys(ctx: BenchContext, match: string): Promise<void> {
  for await (const found of ctx.redis.scanStream({ match, count: 5000 }) as AsyncIterable<string[]>) {
    if (found.length > 0) await ctx.redis.unlink(...found);
  }
}
