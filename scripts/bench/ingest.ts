import autocannon from 'autocannon';
import { Queue, type JobsOptions } from 'bullmq';
import IORedis from 'ioredis';
import { EVENTS_QUEUE, eventJobId, type IngestEvent } from '../../queues/events';
import { EVENT_JOB_OPTIONS } from '../../server/ingest/enqueue';
import { CpuMeter } from './machine';
import { log, type BenchContext } from './setup';
import { perSecond, round, summarize } from './stats';
import { authHeader, PRODUCT_VIEW } from './traffic';

/**
 * Ingest: events/s the HTTP API accepts (202 = the events are in the BullMQ `events` queue on
 * Redis) on /v1/track and /v1/batch, beside BullMQ `add` / `addBulk` of the same jobs (same data,
 * options and job ids as the API makes) straight from this process on the same Redis.
 *
 * The events queue is paused meanwhile, so the router (connected, which the API's health needs)
 * takes nothing and only the API and Redis work; what was queued is counted (it must equal what
 * was accepted) and drained after each run.
 */
export interface IngestOptions {
  durationS: number;
  connections: number;
  batchSize: number;
}

export async function runIngest(ctx: BenchContext, opts: IngestOptions) {
  const events = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: ctx.redis, prefix: ctx.queuePrefix });
  await events.pause();
  try {
    const track = await ctx.profiled('ingest-track', () =>
      httpRun(ctx, events, opts, '/v1/track', trackBody(), 1),
    );
    const batch = await ctx.profiled('ingest-batch', () =>
      httpRun(ctx, events, opts, '/v1/batch', batchBody(opts.batchSize), opts.batchSize),
    );
    const raw = await rawRuns(ctx, opts);
    return {
      method:
        `autocannon, ${opts.connections} connections, ${opts.durationS} s per run, unique messageIds; ` +
        `raw: the same jobs with ${opts.connections} calls in flight on one connection, as the API has; ` +
        'the events queue is paused (router connected but idle) and drained after each run',
      track,
      batch,
      raw,
      httpOverRaw: {
        track: round(track.eventsPerSec / raw.add.eventsPerSec, 2),
        batch: round(batch.eventsPerSec / raw.addBulk.eventsPerSec, 2),
      },
    };
  } finally {
    await events.drain();
    await events.resume();
    await events.close();
  }
}

/** One event as a Segment client sends it; `[<id>]` is replaced per request by autocannon. */
function trackBody(): string {
  return JSON.stringify({
    userId: 'ingest-customer',
    event: 'product_viewed',
    messageId: '[<id>]',
    properties: PRODUCT_VIEW,
  });
}

function batchBody(size: number): string {
  return JSON.stringify({
    batch: Array.from({ length: size }, (_, i) => ({
      type: 'track',
      userId: `ingest-customer-${i}`,
      event: 'product_viewed',
      messageId: `[<id>]-${i}`,
      properties: PRODUCT_VIEW,
    })),
  });
}

async function httpRun(
  ctx: BenchContext,
  events: Queue<IngestEvent>,
  opts: IngestOptions,
  route: string,
  body: string,
  eventsPerRequest: number,
) {
  log(`ingest: POST ${route} for ${opts.durationS} s, ${opts.connections} connections`);
  const cpu = new CpuMeter({ api: ctx.api.pid, redis: ctx.serverPids.redis });
  const result = await autocannon({
    url: `${ctx.api.baseUrl}${route}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: authHeader(ctx) },
    body,
    idReplacement: true, // a fresh id for every request: no messageId repeats
    connections: opts.connections,
    duration: opts.durationS,
  });
  const cpuPercent = cpu.stop();
  const accepted = result['2xx'];
  const queued = await events.getWaitingCount(); // a paused queue keeps its jobs waiting
  await events.drain();
  const eventsPerSec = perSecond(accepted * eventsPerRequest, result.duration * 1000);
  log(`ingest: ${route} ${eventsPerSec} events/s, p99 ${result.latency.p99} ms`);
  return {
    eventsPerSec,
    requestsPerSec: perSecond(accepted, result.duration * 1000),
    eventsPerRequest,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    requests: accepted,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    /** Jobs found on the queue afterwards: at least accepted × eventsPerRequest (more: answers cut off at the end). */
    queuedEvents: queued,
    lostEvents: Math.max(0, accepted * eventsPerRequest - queued),
    cpuPercent,
  };
}

/** BullMQ straight from this process: one connection like the API's producer, same jobs. */
async function rawRuns(ctx: BenchContext, opts: IngestOptions) {
  const producer = new IORedis({ ...ctx.redisOptions, enableOfflineQueue: false });
  const queue = new Queue<IngestEvent>(`${ctx.runId}-raw-events`, {
    connection: producer,
    prefix: ctx.queuePrefix,
  });
  await queue.waitUntilReady();
  let n = 0;
  const job = (userId: string) => {
    const messageId = `raw-${ctx.runId}-${n++}`;
    const now = new Date().toISOString();
    const data: IngestEvent = {
      type: 'track',
      userId,
      messageId,
      timestamp: now,
      receivedAt: now,
      event: 'product_viewed',
      properties: PRODUCT_VIEW,
    };
    const jobOpts: JobsOptions = { ...EVENT_JOB_OPTIONS, jobId: eventJobId(messageId) };
    return { name: 'track', data, opts: jobOpts };
  };
  try {
    const add = await rawRun(ctx, 'add', opts, 1, async () => {
      const { name, data, opts: o } = job('ingest-customer');
      await queue.add(name, data, o);
    });
    await queue.obliterate({ force: true });
    const addBulk = await rawRun(ctx, 'addBulk', opts, opts.batchSize, async () => {
      await queue.addBulk(Array.from({ length: opts.batchSize }, (_, i) => job(`ingest-customer-${i}`)));
    });
    return { add, addBulk };
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
    await producer.quit();
  }
}

/** `connections` lanes, each calling `call` back to back until the time is up (closed loop). */
async function rawRun(
  ctx: BenchContext,
  name: string,
  opts: IngestOptions,
  eventsPerCall: number,
  call: () => Promise<void>,
) {
  log(`ingest: raw BullMQ ${name} for ${opts.durationS} s, ${opts.connections} in flight`);
  const cpu = new CpuMeter({ redis: ctx.serverPids.redis });
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + opts.durationS * 1000;
  const lane = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await call();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, lane));
  const elapsed = performance.now() - started;
  const cpuPercent = cpu.stop();
  const latency = summarize(latencies, 2);
  const eventsPerSec = perSecond(latencies.length * eventsPerCall, elapsed);
  log(`ingest: raw ${name} ${eventsPerSec} events/s`);
  return {
    eventsPerSec,
    callsPerSec: perSecond(latencies.length, elapsed),
    eventsPerCall,
    latencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
    calls: latencies.length,
    cpuPercent,
  };
}
