import { counterId, dayNumber } from '../../segmentation/counters';
import { DAY, segment, startSegments, type SegmentsFixture } from './support';

/** Event counts in time windows: daily buckets in the segments' zone (Asia/Shanghai here). */
const browsers = segment('living-room-browsers', [
  'name: Living-room browsers',
  'where:',
  '  count: { event: content_viewed, where: { property: category, eq: living-room-decoration } }',
  '  within: 7d',
  '  gte: 3',
]);
const lapsed = segment('lapsed-buyers', [
  'name: Buyers without an order in 30 days',
  'where:',
  '  all:',
  '    - { trait: orderCount, gte: 1 }',
  '    - { count: { event: order_completed }, within: 30d, eq: 0 }',
]);
const viewsCounter = counterId((browsers.where as { count: { event: string } }).count);
const at = (iso: string) => Date.parse(iso);
const living = { category: 'living-room-decoration' };

let s: SegmentsFixture;
beforeEach(async () => {
  s = await startSegments([browsers, lapsed], { start: at('2026-03-10T12:00:00+08:00') });
});
afterEach(async () => {
  await s.close();
});

const views = async (customerId: string) =>
  (await s.engine.counters.read(customerId, s.clock.now)).count(viewsCounter, 7);

test('within 7d is today and the six days before; an event drops out at midnight', async () => {
  await s.track('c1', 'content_viewed', living, { at: at('2026-03-03T23:59:00+08:00') }); // 7 days ago
  await s.track('c1', 'content_viewed', living, { at: at('2026-03-04T00:01:00+08:00') }); // 6 days ago
  await s.track('c1', 'content_viewed', living, { at: at('2026-03-10T09:00:00+08:00') });
  expect(await views('c1')).toBe(2);
  expect(await s.changes()).toEqual([]);
  await s.track('c1', 'content_viewed', living, { at: at('2026-03-10T11:00:00+08:00') });
  expect(await views('c1')).toBe(3);
  expect(await s.changes()).toEqual(['entered:living-room-browsers:c1']);

  s.clock.now = at('2026-03-10T23:59:59+08:00');
  expect(await s.engine.evaluate('c1', 'late')).toEqual([]);
  // Midnight in Shanghai (16:00 UTC): 4 March leaves the window.
  s.clock.now = at('2026-03-11T00:00:01+08:00');
  expect(await views('c1')).toBe(2);
  expect(await s.engine.evaluate('c1', 'midnight')).toEqual([
    { segment: 'living-room-browsers', kind: 'exited' },
  ]);
  expect(await s.changes()).toEqual(['entered:living-room-browsers:c1', 'exited:living-room-browsers:c1']);
});

test('a retried event counts once; other events and other categories are not stored', async () => {
  for (let i = 0; i < 3; i++) await s.track('c2', 'content_viewed', living, { messageId: 'view-1' });
  expect(await views('c2')).toBe(1);
  await s.track('c3', 'content_viewed', { category: 'sofa' });
  await s.track('c3', 'page_viewed', living);
  expect(await s.redis.exists(s.keys.eventCounts('c3'))).toBe(0);
});

test('an event from the future counts today; one older than the longest window nowhere', async () => {
  await s.track('c4', 'content_viewed', living, { at: s.clock.now + 3 * DAY });
  await s.track('c4', 'content_viewed', living, { at: s.clock.now - 40 * DAY });
  const today = dayNumber(s.clock.now, 'Asia/Shanghai');
  const raw = await s.redis.hgetall(s.keys.eventCounts('c4'));
  expect(raw).toEqual({ [`${viewsCounter}:${today}`]: '1', _day: String(today) });
});

test('buckets are kept as long as the longest window (30d here): pruned after, the key expires', async () => {
  await s.track('c5', 'content_viewed', living);
  const key = s.keys.eventCounts('c5');
  const ttl = await s.redis.ttl(key);
  expect(ttl).toBeGreaterThan(30 * 86_400);
  expect(ttl).toBeLessThanOrEqual(31 * 86_400);
  const first = `${viewsCounter}:${dayNumber(s.clock.now, 'Asia/Shanghai')}`;

  s.clock.now += 29 * DAY;
  await s.track('c5', 'content_viewed', living);
  expect(Object.keys(await s.redis.hgetall(key))).toContain(first); // 29 days old: kept
  s.clock.now += 1 * DAY;
  await s.track('c5', 'content_viewed', living);
  expect(Object.keys(await s.redis.hgetall(key))).not.toContain(first); // 30 days: out of every window
  expect(Object.keys(await s.redis.hgetall(key))).toHaveLength(3); // two days and `_day`
});

test('`eq: 0` over 30 days: a buyer enters when the last order leaves the window, leaves on an order', async () => {
  await s.track('c6', 'order_completed', { total: 99 });
  await s.identify('c6', { orderCount: 1 });
  expect(await s.changes()).toEqual([]);
  s.clock.now += 30 * DAY; // the order's day is 30 days ago: out of the window
  expect(await s.engine.evaluate('c6', 'tick-1')).toEqual([{ segment: 'lapsed-buyers', kind: 'entered' }]);
  await s.track('c6', 'order_completed', { total: 120 });
  expect(await s.changes()).toEqual(['entered:lapsed-buyers:c6', 'exited:lapsed-buyers:c6']);
});
