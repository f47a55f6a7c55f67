import path from 'node:path';
import { counterId, dayNumber } from '../../segmentation/counters';
import { loadSegments } from '../../segmentation/load';
import { reevaluateAll } from '../../segmentation/reevaluate';
import { DAY, startSegments, type SegmentsFixture } from './support';

/**
 * The scheduled pass over many customers, with the shipped segments, a page at a time: every
 * customer is visited, entries match the segments' sizes and their events are queued once.
 * SEGMENTS_SCALE sets the number of customers (default 5,000 to keep the suite quick) and prints
 * the figures (docs/segments.md was measured with 100,000; the bench measures 1,000,000).
 */
const N = Number(process.env.SEGMENTS_SCALE ?? 5000);
const GROUPS = ['high-value', 'potential', 'new', 'at-risk', 'dormant'];

let s: SegmentsFixture;
beforeAll(async () => {
  s = await startSegments(loadSegments(path.resolve(__dirname, '../../segments')));
});
afterAll(async () => {
  await s.close();
});

/** N profiles like the RFM job leaves them; one in five has content views in the last week. */
async function populate(): Promise<void> {
  const views = counterId({
    event: 'content_viewed',
    where: { property: 'category', eq: 'living-room-decoration' },
  });
  const today = dayNumber(s.clock.now, 'Asia/Shanghai');
  for (let from = 0; from < N; from += 5000) {
    const pipeline = s.redis.pipeline();
    for (let i = from; i < Math.min(N, from + 5000); i++) {
      const id = `c${i}`;
      const lastOrderAt = new Date(s.clock.now - (i % 200) * DAY).toISOString();
      const traits: Record<string, unknown> = {
        name: `客户${i}`,
        phone: `+86138${String(i).padStart(8, '0')}`,
        city: i % 3 === 0 ? '杭州' : '成都',
        orderCount: (i % 9) + 1,
        totalSpend: (i % 50) * 100,
        lastOrderAt,
        lastSeenAt: lastOrderAt,
        lifecycleStage: 'purchase',
      };
      // Half the customers have an RFM group; the others fall back on lastOrderAt (dormant).
      if (i % 2 === 0) traits.rfmGroup = GROUPS[(i / 2) % GROUPS.length];
      pipeline.hset(
        s.customerKeys.profile(id),
        ...Object.entries(traits).flatMap(([k, v]) => [k, JSON.stringify(v)]),
      );
      if (i % 5 === 0)
        pipeline.hset(
          s.keys.eventCounts(id),
          `${views}:${today}`,
          String(i % 4),
          `${views}:${today - 1}`,
          '1',
        );
    }
    await pipeline.exec();
  }
}

test(`re-evaluates ${N} customers a page at a time`, async () => {
  await populate();
  const first = await reevaluateAll(s.engine, s.customerKeys, {
    nowMs: s.clock.now,
    causeId: 'reevaluate:1',
  });
  const again = await reevaluateAll(s.engine, s.customerKeys, {
    nowMs: s.clock.now,
    causeId: 'reevaluate:2',
  });
  const sizes = Object.fromEntries(
    await Promise.all(
      s.engine.catalog.list().map(async (seg) => [seg.id, await s.engine.members.size(seg.id)]),
    ),
  );
  // Redis memory of the segment data (member sets, each customer's set, buckets) per customer.
  let bytes = 0;
  for (const seg of s.engine.catalog.list())
    bytes += (await s.redis.memory('USAGE', s.keys.members(seg.id), 'SAMPLES', '0')) ?? 0;
  for (let i = 0; i < N; i += Math.max(1, Math.floor(N / 1000))) {
    const sample = Math.max(1, Math.floor(N / 1000));
    bytes += ((await s.redis.memory('USAGE', s.keys.customerSegments(`c${i}`))) ?? 0) * sample;
    bytes += ((await s.redis.memory('USAGE', s.keys.eventCounts(`c${i}`))) ?? 0) * sample;
  }
  if (process.env.SEGMENTS_SCALE)
    console.log(
      JSON.stringify({
        segmentBytesPerCustomer: Math.round(bytes / N),
        customers: N,
        firstPass: { ...first, perSecond: Math.round((first.scanned / first.ms) * 1000) },
        steadyPass: { ...again, perSecond: Math.round((again.scanned / again.ms) * 1000) },
        sizes,
      }),
    );
  expect(first.scanned).toBeGreaterThanOrEqual(N);
  expect(again).toMatchObject({ entered: 0, exited: 0 });
  expect(again.scanned).toBeGreaterThanOrEqual(N);
  expect(first.entered).toBe(Object.values(sizes).reduce((a: number, b) => a + (b as number), 0));
  expect(await s.queue.count()).toBe(first.entered);
}, 900_000);
