import { Queue } from 'bullmq';
import { EVENTS_QUEUE } from '../../queues/events';
import type { BenchContext } from './setup';
import { forEachConcurrently, until } from './stats';

/** Event properties of a typical product view, used wherever size matters. */
export const PRODUCT_VIEW = {
  productId: 'sku-10293',
  title: 'Nordic three-seat sofa, oak legs',
  category: 'living-room',
  price: 2999,
  currency: 'CNY',
  source: 'mini-program',
};

export function authHeader(ctx: BenchContext): string {
  return `Basic ${Buffer.from(`${ctx.writeKey}:`).toString('base64')}`;
}

/** POST to the API; throws unless it answers 2xx. */
export async function post(ctx: BenchContext, route: string, body: unknown): Promise<void> {
  const res = await fetch(`${ctx.api.baseUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: authHeader(ctx) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${route} answered ${res.status}: ${await res.text()}`);
}

/** The entry event of dormant-reactivation, whose first step sends an SMS at once. */
export function dormantEntry(customerId: string) {
  return {
    userId: customerId,
    event: 'segment_entered',
    messageId: `${customerId}-dormant`,
    properties: { segment: 'dormant', couponCode: 'BACK-8K2Q', groupBuyUrl: 'https://m.example.com/g/42' },
  };
}

/**
 * Gives customers the traits the dormant journey sends to (phone, WeCom id), in batches of 100,
 * and waits until the router has stored them, so that entry measurements start from known profiles.
 */
export async function identifyCustomers(ctx: BenchContext, customerIds: string[]): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < customerIds.length; i += 100) batches.push(customerIds.slice(i, i + 100));
  await forEachConcurrently(batches, 8, async (batch) => {
    await post(ctx, '/v1/batch', {
      batch: batch.map((id) => ({
        type: 'identify',
        userId: id,
        messageId: `${id}-identify`,
        traits: { name: 'Li', phone: '+8613800138000', wecomExternalUserId: `wm-${id}`, locale: 'zh-CN' },
      })),
    });
  });
  await waitForEventsRouted(ctx, 120_000);
}

/** Until the router has taken every event off the `events` queue. */
export async function waitForEventsRouted(ctx: BenchContext, timeoutMs: number): Promise<void> {
  const queue = new Queue(EVENTS_QUEUE, { connection: ctx.redis, prefix: ctx.queuePrefix });
  try {
    await until('the router to empty the events queue', () => queueIdle(queue), timeoutMs, 100);
  } finally {
    await queue.close();
  }
}

export async function queueIdle(queue: Queue): Promise<boolean> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return Object.values(counts).every((n) => n === 0);
}
