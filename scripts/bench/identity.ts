import type { IngestEvent } from '../../queues/events';
import { startCustomerRouter, type CustomerRouter } from './customer-router';
import { CpuMeter } from './machine';
import { log, type BenchContext } from './setup';
import { forEachConcurrently, perSecond, round } from './stats';

const DAY_MS = 86_400_000;

/**
 * Three events per customer as a shop sends them: an identify from the app (userId with phone,
 * email and member card: identity links them), an order from the POS known only by the member
 * card (the resolver finds the customer through it; computed traits count it), and a content view
 * (segment counters). Orders lie 10–200 days back, so some customers are dormant.
 */
export function customerEvents(runId: string, from: number, count: number): IngestEvent[] {
  const now = Date.now();
  const at = (ms: number) => new Date(ms).toISOString();
  const identifies: IngestEvent[] = [];
  const orders: IngestEvent[] = [];
  const views: IngestEvent[] = [];
  for (let i = from; i < from + count; i++) {
    const userId = `${runId}-u${i}`;
    const memberId = `${runId}-M${i}`;
    const received = at(now);
    identifies.push({
      type: 'identify',
      userId,
      messageId: `${runId}-identify-${i}`,
      timestamp: received,
      receivedAt: received,
      traits: {
        phone: `+86139${String(i).padStart(8, '0')}`,
        email: `customer${i}@example.com`,
        memberId,
        name: `Customer ${i}`,
        birthday: '1990-05-01',
        city: 'Shanghai',
      },
    });
    orders.push({
      type: 'track',
      anonymousId: `member:${memberId}`,
      messageId: `${runId}-order-${i}`,
      timestamp: at(now - (10 + (i % 190)) * DAY_MS),
      receivedAt: received,
      context: { traits: { memberId } },
      event: 'order_completed',
      properties: {
        orderId: `${runId}-O${i}`,
        total: 100 + (i % 50) * 37,
        currency: 'CNY',
        category: `cat-${i % 7}`,
      },
    });
    views.push({
      type: 'track',
      userId,
      messageId: `${runId}-view-${i}`,
      timestamp: received,
      receivedAt: received,
      event: 'content_viewed',
      properties: { category: i % 3 === 0 ? 'living-room-decoration' : 'kitchen', title: 'Ideas' },
    });
  }
  return [...identifies, ...orders, ...views];
}

/** Which of the customer pipeline's hooks left data in Redis (a hook not wired in leaves none). */
export async function hooksSeen(ctx: BenchContext, keyPrefix: string, sampleCustomer: string) {
  const exists = async (pattern: string) => {
    const [, keys] = await ctx.redis.scan('0', 'MATCH', pattern, 'COUNT', 100_000);
    return keys.length > 0;
  };
  const profile = await ctx.redis.hgetall(`${keyPrefix}:profile:${sampleCustomer}`);
  return {
    identity: await exists(`${keyPrefix}:identity:id:*`),
    computedTraits: 'orderCount' in profile || 'totalSpend' in profile,
    segments: await exists(`${keyPrefix}:segment:*:members`),
  };
}

/**
 * Identity resolution and profile updates: events/s through the router's customer pipeline
 * (identity, profile merge, computed traits, segments) in a router process without journeys, 8
 * jobs at once as the router runs; beside a baseline of one raw Redis HSET per event from this
 * process with 8 in flight, on the same Redis.
 */
export async function runIdentity(ctx: BenchContext, customers: number) {
  let router: CustomerRouter | undefined;
  try {
    router = await startCustomerRouter(ctx, 'identity');
    // Other numbers than the measured customers': phones and emails are identifiers too.
    const warm = customerEvents(`${ctx.runId}-warm`, 900_000, 50);
    await router.process(warm); // code loaded, connections and scripts ready
    const events = customerEvents(ctx.runId, 0, customers);
    log(
      `identity: ${events.length} events (${customers} customers × identify, order, view) through the router`,
    );
    const cpu = new CpuMeter({ router: router.app.pid, redis: ctx.serverPids.redis });
    const { ms, failed } = await router.process(events);
    const cpuPercent = cpu.stop();
    const eventsPerSec = perSecond(events.length, ms);
    log(`identity: ${eventsPerSec} events/s`);
    const hooks = await hooksSeen(ctx, router.keyPrefix, `${ctx.runId}-u1`);

    log('identity: baseline, raw HSET per event, 8 in flight');
    const rawCpu = new CpuMeter({ redis: ctx.serverPids.redis });
    const started = performance.now();
    await forEachConcurrently(events, 8, async (event, i) => {
      const customer = event.userId ?? event.anonymousId ?? String(i);
      const value = JSON.stringify(
        event.type === 'identify' ? event.traits : event.type === 'track' ? event.properties : {},
      );
      await ctx.redis.hset(`${router!.keyPrefix}:raw-profile:${customer}`, `m${i}`, value);
    });
    const rawMs = performance.now() - started;
    const rawPerSec = perSecond(events.length, rawMs);
    return {
      method:
        `${customers} customers, 3 events each (identify with phone/email/memberId; an order known by memberId ` +
        'only; a content view), queued on a paused queue, then timed from resume until all are done, in a ' +
        'router process of its own without journeys (concurrency 8); baseline: one HSET per event, 8 in flight',
      events: events.length,
      eventsPerSec,
      failed,
      /** Which hooks did their work (data found in Redis): identity index, computed traits, segment sets. */
      hooks,
      cpuPercent,
      baseline: {
        name: 'raw Redis HSET per event, 8 in flight',
        eventsPerSec: rawPerSec,
        cpuPercent: rawCpu.stop(),
      },
      ratio: round(eventsPerSec / rawPerSec, 3),
    };
  } finally {
    await router?.stop();
  }
}
