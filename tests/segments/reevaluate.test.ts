import path from 'node:path';
import pino from 'pino';
import { loadSegments } from '../../segmentation/load';
import { reevaluateAll } from '../../segmentation/reevaluate';
import { REEVALUATE_SCHEDULER, SegmentSchedule } from '../../segmentation/schedule';
import { eventually } from '../support/eventually';
import { DAY, segment, startSegments, type SegmentsFixture } from './support';

/** The scheduled pass: time alone moves customers (the shipped dormant segment here). */
const shipped = loadSegments(path.resolve(__dirname, '../../segments'));
const logger = pino({ level: 'silent' });
const at = (iso: string) => Date.parse(iso);

let s: SegmentsFixture;
let schedule: SegmentSchedule | undefined;
beforeEach(async () => {
  s = await startSegments(shipped, { start: at('2026-03-10T12:00:00+08:00') });
});
afterEach(async () => {
  await schedule?.close();
  schedule = undefined;
  await s.close();
});

const newSchedule = (everyMs: number | false = 15 * 60_000) =>
  new SegmentSchedule({
    connection: s.redis,
    prefix: `${s.prefix}-bull`,
    engine: s.engine,
    customerKeys: s.customerKeys,
    everyMs,
    pageSize: 7,
    logger,
  });

test('a customer becomes dormant without any event: the 91st day without an order', async () => {
  // Last order 80 days ago, no RFM group yet: the fallback rule (no order in 90 days) applies.
  await s.identify('quiet', { name: '唐宁', lastOrderAt: new Date(s.clock.now - 80 * DAY).toISOString() });
  await s.identify('recent', { lastOrderAt: new Date(s.clock.now - 5 * DAY).toISOString() });
  await s.identify('never-ordered', { name: '于晴' });
  for (let i = 0; i < 20; i++) await s.identify(`other-${i}`, { rfmGroup: 'potential' });
  expect(await s.changes()).toEqual([]);

  schedule = newSchedule();
  const tick = at('2026-03-21T12:00:00+08:00');
  s.clock.now = tick; // 91 days after the last order
  const result = await schedule.runTick(tick);
  expect(result).toMatchObject({ entered: 1, exited: 0 });
  expect(result.scanned).toBeGreaterThanOrEqual(23); // SCAN may visit a key twice, never skip one
  expect(await s.engine.members.of('quiet')).toEqual(['dormant']);
  expect(await s.queued()).toEqual([
    expect.objectContaining({
      event: 'segment_entered',
      properties: { segment: 'dormant' },
      customerId: 'quiet',
      messageId: `segment:entered:dormant:quiet:reevaluate:${new Date(tick).toISOString()}`,
      timestamp: new Date(tick).toISOString(),
    }),
  ]);

  // The next tick changes nothing; the RFM job naming the group takes over from the fallback.
  s.clock.now += 15 * 60_000;
  expect(await schedule.runTick(s.clock.now)).toMatchObject({ entered: 0, exited: 0 });
  await s.identify('quiet', { rfmGroup: 'dormant' });
  await s.identify('quiet', { rfmGroup: 'at-risk' });
  expect(await s.changes()).toEqual([
    'entered:at-risk:quiet',
    'entered:dormant:quiet',
    'exited:dormant:quiet',
  ]);
});

test('a retried tick queues what it changed once, even when the first attempt died before queueing', async () => {
  await s.identify('q1', { lastOrderAt: new Date(s.clock.now - 95 * DAY).toISOString() });
  await s.identify('q2', { lastOrderAt: new Date(s.clock.now - 99 * DAY).toISOString() });
  await s.redis.del(s.keys.customerSegments('q1'), s.keys.customerSegments('q2'));
  await s.redis.del(s.keys.members('dormant'));
  await s.queue.obliterate({ force: true });
  // A tick whose queueing fails: memberships applied, nothing queued.
  const addBulk = s.queue.addBulk.bind(s.queue);
  s.queue.addBulk = () => Promise.reject(new Error('redis went away'));
  const tick = s.clock.now;
  const cause = `reevaluate:${new Date(tick).toISOString()}`;
  await expect(reevaluateAll(s.engine, s.customerKeys, { nowMs: tick, causeId: cause })).rejects.toThrow(
    'redis went away',
  );
  // The pass died at its first page's queueing: that page's memberships are applied (on a busy
  // Redis SCAN may put q1 and q2 on different pages, so one or both).
  const applied = await s.engine.members.size('dormant');
  expect(applied).toBeGreaterThanOrEqual(1);
  expect(await s.queued()).toEqual([]);

  s.queue.addBulk = addBulk;
  // Without `retry` the pass sees only what the dead attempt did not apply...
  expect(await reevaluateAll(s.engine, s.customerKeys, { nowMs: tick, causeId: cause })).toMatchObject({
    entered: 2 - applied,
  });
  // ...a retried tick reads the records of its cause and queues the changes it made.
  for (let i = 0; i < 2; i++) {
    await reevaluateAll(s.engine, s.customerKeys, { nowMs: tick, causeId: cause, retry: true });
  }
  expect(await s.changes()).toEqual(['entered:dormant:q1', 'entered:dormant:q2']);
});

test('the job scheduler runs the pass every `segments.reevaluate`, on the engine’s clock', async () => {
  await s.identify('sleepy', { lastOrderAt: new Date(s.clock.now - 89 * DAY).toISOString() });
  s.clock.now += 2 * DAY;
  schedule = newSchedule(60_000);
  await schedule.start();
  const [scheduler] = await schedule.queue.getJobSchedulers();
  expect(scheduler).toMatchObject({ key: REEVALUATE_SCHEDULER, every: 60_000 });
  // The first tick runs at once: the pass judges at the engine's clock (2 days on).
  const changes = await eventually(async () => {
    const found = await s.changes();
    return found.length > 0 ? found : undefined;
  }, 60_000);
  expect(changes).toEqual(['entered:dormant:sleepy']);
  await schedule.close();

  // `reevaluate: false` removes the scheduler.
  schedule = newSchedule(false);
  await schedule.start();
  expect(await schedule.queue.getJobSchedulers()).toEqual([]);
});

test('customers are read a page at a time, whatever the number of segments', async () => {
  const many = Array.from({ length: 30 }, (_, i) =>
    segment(`tier-${i}`, ['name: tier', `where: { trait: tier, eq: ${i} }`]),
  );
  const big = await startSegments(many);
  try {
    for (let i = 0; i < 60; i++) await big.profiles.merge(`c${i}`, { tier: i % 30 });
    const result = await reevaluateAll(big.engine, big.customerKeys, {
      nowMs: big.clock.now,
      causeId: 'reevaluate:x',
      pageSize: 10,
    });
    expect(result).toMatchObject({ entered: 60, exited: 0 });
    expect(result.scanned).toBeGreaterThanOrEqual(60);
    expect(await big.engine.members.size('tier-7')).toBe(2);
  } finally {
    await big.close();
  }
});
