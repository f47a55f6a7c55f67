import type { MergeRecord } from '../../customers/merge';
import { counterId } from '../../segmentation/counters';
import { SegmentMergeParticipant } from '../../segmentation/merge';
import { segment, startSegments, type SegmentsFixture } from './support';

/** Two customers found to be one (customers/merge.ts): their segment data becomes the winner's. */
const browsers = segment('browsers', [
  'name: Browsers',
  'where: { count: { event: content_viewed }, within: 7d, gte: 3 }',
]);
const hangzhou = segment('hangzhou', ['name: Hangzhou', 'where: { trait: city, eq: 杭州 }']);
const counter = counterId({ event: 'content_viewed' });

let s: SegmentsFixture;
beforeEach(async () => {
  s = await startSegments([browsers, hangzhou]);
});
afterEach(async () => {
  await s.close();
});

const record = (loser: string, winner: string): MergeRecord => ({
  id: `m-1#${loser}`,
  at: s.clock.now,
  messageId: 'm-1',
  winner,
  loser,
  loserAliases: [],
  via: [{ type: 'phone', f: 'x' }],
});

test('the loser’s counts add to the winner’s, the loser leaves its segments, the winner is re-evaluated once', async () => {
  await s.track('anon:device-1', 'content_viewed');
  await s.track('anon:device-1', 'content_viewed');
  await s.identify('anon:device-1', { city: '杭州' });
  await s.track('member-7', 'content_viewed');
  expect(await s.changes()).toEqual(['entered:hangzhou:anon:device-1']);
  // The profile participant (identity) has merged the traits by now.
  await s.profiles.merge('member-7', { city: '杭州' });

  const participant = new SegmentMergeParticipant(s.engine);
  for (let i = 0; i < 2; i++)
    await participant.mergeInto('anon:device-1', 'member-7', record('anon:device-1', 'member-7'));

  const counts = await s.engine.counters.read('member-7', s.clock.now);
  expect(counts.count(counter, 7)).toBe(3);
  expect(await s.redis.exists(s.keys.eventCounts('anon:device-1'))).toBe(0);
  expect(await s.engine.members.of('anon:device-1')).toEqual([]);
  expect(await s.engine.members.of('member-7')).toEqual(['browsers', 'hangzhou']);
  expect(await s.engine.members.size('hangzhou')).toBe(1);
  // The loser left silently; the winner's entries are announced once, under the merge.
  expect((await s.queued()).map((e) => e.messageId)).toEqual([
    expect.stringMatching(/^segment:entered:hangzhou:anon:device-1:/),
    'segment:entered:browsers:member-7:merge:m-1#anon:device-1',
    'segment:entered:hangzhou:member-7:merge:m-1#anon:device-1',
  ]);
});
