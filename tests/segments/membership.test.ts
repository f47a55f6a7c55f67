import type { SegmentEngine } from '../../segmentation/engine';
import { segmentMessageId } from '../../segmentation/events';
import { segment, startSegments, type SegmentsFixture } from './support';

/** Membership on each change: only the segments a change can affect, events queued exactly once. */
const highValue = segment('high-value', ['name: High value', 'where: { trait: rfmGroup, eq: high-value }']);
const hangzhou = segment('hangzhou', ['name: Hangzhou', 'where: { trait: address.city, eq: 杭州 }']);
const vip = segment('vip', ['name: VIP', 'where: { tag: vip }']);
const browsers = segment('browsers', [
  'name: Browsers',
  'where: { count: { event: content_viewed }, within: 7d, gte: 2 }',
]);

let s: SegmentsFixture;
beforeEach(async () => {
  s = await startSegments([highValue, hangzhou, vip, browsers]);
});
afterEach(async () => {
  await s.close();
});

/** Which segments each evaluation looked at (the `wanted` map given to the member sets). */
function watchEvaluations(engine: SegmentEngine): string[][] {
  const seen: string[][] = [];
  const apply = engine.members.apply.bind(engine.members);
  engine.members.apply = (customerId, causeId, wanted) => {
    seen.push([...wanted.keys()]);
    return apply(customerId, causeId, wanted);
  };
  return seen;
}

test('entering and leaving queue segment_entered / segment_exited with deterministic messageIds', async () => {
  await s.identify('c1', { rfmGroup: 'high-value' }, 'identify-1');
  await s.identify('c1', { rfmGroup: 'at-risk' }, 'identify-2');
  const events = await s.queued();
  expect(events).toEqual([
    expect.objectContaining({
      type: 'track',
      event: 'segment_entered',
      properties: { segment: 'high-value' },
      customerId: 'c1',
      messageId: 'segment:entered:high-value:c1:identify-1',
    }),
    expect.objectContaining({
      event: 'segment_exited',
      properties: { segment: 'high-value' },
      customerId: 'c1',
      messageId: 'segment:exited:high-value:c1:identify-2',
    }),
  ]);
  expect(events[0]!.userId).toBeUndefined();
  expect(await s.engine.members.of('c1')).toEqual([]);
  expect(await s.engine.members.size('high-value')).toBe(0);
});

test('a trait change evaluates only the segments reading that trait; an unrelated one reads nothing', async () => {
  const seen = watchEvaluations(s.engine);
  const reads = jest.spyOn(s.profiles, 'getWithTags');
  await s.identify('c2', { name: '何君', email: 'he@example.com' });
  expect(seen).toEqual([]);
  expect(reads).not.toHaveBeenCalled();
  await s.identify('c2', { rfmGroup: 'high-value' });
  await s.identify('c2', { address: { city: '杭州' } });
  expect(seen).toEqual([['high-value'], ['hangzhou']]);
  expect(await s.engine.members.of('c2')).toEqual(['hangzhou', 'high-value']);
  expect(await s.changes()).toEqual(['entered:hangzhou:c2', 'entered:high-value:c2']);
});

test('an event evaluates only the segments counting it', async () => {
  const seen = watchEvaluations(s.engine);
  await s.track('c3', 'order_completed', { total: 100 });
  expect(seen).toEqual([]);
  await s.track('c3', 'content_viewed');
  await s.track('c3', 'content_viewed');
  expect(seen).toEqual([['browsers'], ['browsers']]);
  expect(await s.changes()).toEqual(['entered:browsers:c3']);
});

test('a retried change queues its events once', async () => {
  await s.identify('c4', { rfmGroup: 'high-value' }, 'identify-9');
  // The router's retry of the same job: the profile reports the same change, the hook runs again.
  await s.identify('c4', { rfmGroup: 'high-value' }, 'identify-9');
  await s.engine.onCustomerChanged('c4', { messageId: 'identify-9', traits: ['rfmGroup'] });
  expect(await s.queued()).toHaveLength(1);
  expect(await s.engine.members.size('high-value')).toBe(1);
});

test('a crash between the membership change and the queueing: the retry queues the event', async () => {
  const addBulk = s.queue.addBulk.bind(s.queue);
  let fail = true;
  s.queue.addBulk = (jobs) => {
    if (fail) {
      fail = false;
      return Promise.reject(new Error('connection lost'));
    }
    return addBulk(jobs);
  };
  await expect(s.identify('c5', { rfmGroup: 'high-value' }, 'identify-5')).rejects.toThrow('connection lost');
  // The membership changed; nothing was queued.
  expect(await s.engine.members.of('c5')).toEqual(['high-value']);
  expect(await s.queued()).toEqual([]);
  // BullMQ retries the job: the profile is unchanged by now, yet the recorded change is queued.
  await s.identify('c5', { rfmGroup: 'high-value' }, 'identify-5');
  expect((await s.queued()).map((e) => e.messageId)).toEqual(['segment:entered:high-value:c5:identify-5']);
  // A third attempt (say the job stalled after queueing) adds nothing.
  await s.identify('c5', { rfmGroup: 'high-value' }, 'identify-5');
  expect(await s.queued()).toHaveLength(1);
});

test('a crash after a track event moved the customer: the retry, with no computed change left, queues it', async () => {
  const addBulk = s.queue.addBulk.bind(s.queue);
  s.queue.addBulk = () => Promise.reject(new Error('connection lost'));
  await s.profiles.merge('c8', { rfmGroup: 'high-value' }); // what computed traits wrote for the order
  const order = {
    messageId: 'order-8',
    event: 'order_completed',
    properties: { total: 5000 },
    timestamp: new Date(s.clock.now).toISOString(),
  };
  await expect(
    s.engine.onCustomerChanged('c8', {
      messageId: 'order-8',
      event: order,
      traits: ['orderCount', 'rfmGroup'],
    }),
  ).rejects.toThrow('connection lost');
  s.queue.addBulk = addBulk;
  // The retry: the order was counted the first time, so computed traits report no change.
  await s.engine.onCustomerChanged('c8', { messageId: 'order-8', event: order, traits: [] });
  expect((await s.queued()).map((e) => e.messageId)).toEqual(['segment:entered:high-value:c8:order-8']);
});

test('two events of one customer at once: one entry, one event', async () => {
  await s.profiles.merge('c6', { rfmGroup: 'high-value' });
  await Promise.all(
    ['a', 'b', 'c', 'd'].map((id) =>
      s.engine.onCustomerChanged('c6', { messageId: id, traits: ['rfmGroup'] }),
    ),
  );
  expect(await s.changes()).toEqual(['entered:high-value:c6']);
});

test('tags are read as the customer has them (changed by steps: seen at the next evaluation)', async () => {
  await s.profiles.addTags('c7', ['vip']);
  expect(await s.engine.evaluate('c7', 'tick')).toEqual([{ segment: 'vip', kind: 'entered' }]);
  expect(segmentMessageId({ segment: 'vip', kind: 'entered' }, 'c7', 'tick')).toBe(
    'segment:entered:vip:c7:tick',
  );
  const page = await s.engine.members.page('vip', '0', 10);
  expect(page).toEqual({ cursor: '0', members: ['c7'] });
});
