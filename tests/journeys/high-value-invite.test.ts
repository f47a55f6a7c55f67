import {
  expectAt,
  expectEveryScenarioRun,
  ofKind,
  only,
  routed,
  sent,
  trail,
  useJourneySimulator,
} from './support';

/**
 * Journey 4, high-value customers: entering the `high-value` segment (segments/high-value.yaml,
 * given here as the `segment_entered` event the segments engine queues) brings a WeCom invitation
 * at the next 10:30, tasting near a store or the private live stream; registration converts
 * within 14 days; one invitation a quarter.
 */
const sim = useJourneySimulator('high-value-invite');

test('tasting registered: invitation at 10:30 the next morning, registration converts', async () => {
  const r = await sim.run('tasting-registered');
  expect(r.outcome).toBe('converted');
  expect(trail(r)).toEqual([
    'enter:',
    'tag:tag-high-value',
    'step:note-invited',
    'wait:next-morning',
    'step:near-a-store',
    'send:tasting-invite',
    'wait:tasting-reply',
    'exit:tasting-reply',
  ]);
  expect(only(r, 'tag', 'tag-high-value').tags).toEqual(['high-value']);
  const invite = only(r, 'send', 'tasting-invite');
  expectAt(invite.at, '2026-03-11T10:30:00+08:00');
  expect(invite).toMatchObject({ channel: 'wecom', locale: 'zh-CN', to: 'wmTe4eCQAAk2Hq8Zr5Lm1Xw9Pd3VbNcY' });
  expect(invite.body).toMatch(/^何君，您好，我是山岚茶事的茶顾问阿岚/);
  expect(invite.body).toContain('我们在杭州门店办一场小范围的新茶品鉴会');
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'tasting_registered' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-11T12:00:00+08:00');
});

test('no reply: the live stream 3 days later, the last call 3 days after; a reservation within 14 days converts', async () => {
  const r = await sim.run('no-reply-then-live-reserved');
  expect(r.outcome).toBe('converted');
  expect(sent(r).map((e) => [e.stepId, e.channel, e.template])).toEqual([
    ['tasting-invite', 'wecom', 'tea-tasting-invite'],
    ['tasting-alternative', 'wecom', 'tea-live-invite'],
    ['live-last-call', 'miniprogram', 'tea-live-reminder'],
  ]);
  expectAt(only(r, 'send', 'tasting-invite').at, '2026-03-11T10:30:00+08:00');
  expectAt(only(r, 'send', 'tasting-alternative').at, '2026-03-14T10:30:00+08:00');
  expectAt(only(r, 'send', 'live-last-call').at, '2026-03-17T10:30:00+08:00');
  expect(only(r, 'send', 'tasting-alternative').body).toContain('私享直播');
  expect(only(r, 'send', 'live-last-call').body).toBe(
    'thing1: 山岚新茶私享直播\nthing2: 老客专享价·抽整罐新茶\nthing3: 点击预约，开播前提醒你',
  );
  // The steps ended on 17 March; the run stayed open for the conversion window (14 days).
  expectAt(only(r, 'step', 'end').at, '2026-03-17T10:30:00+08:00');
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'live_stream_reserved' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-22T15:20:00+08:00');
});

test('far from a store: straight to the live stream; a reservation after the window does not count', async () => {
  const r = await sim.run('far-from-store');
  expect(r.outcome).toBe('completed');
  expect(only(r, 'step', 'near-a-store')).toMatchObject({ outcome: 'else', goto: 'live-invite' });
  expect(sent(r).map((e) => e.stepId)).toEqual(['live-invite', 'live-last-call']);
  // Entered the segment at 08:05: the invitation goes at 10:30 the same morning.
  expectAt(only(r, 'send', 'live-invite').at, '2026-03-10T10:30:00+08:00');
  expect(only(r, 'send', 'live-invite').body).toMatch(/^罗意，您好/);
  expectAt(only(r, 'send', 'live-last-call').at, '2026-03-13T10:30:00+08:00');
  // Completed when the 14-day window closed; the reservation a day later reaches no run.
  expect(ofKind(r, 'exit')).toEqual([expect.objectContaining({ outcome: 'completed' })]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-24T08:05:00+08:00');
  expect(routed(r)).toEqual([
    ['segment_entered', 'entered'],
    ['live_stream_reserved', 'ignored'],
  ]);
});

test('another segment: ignored; after a conversion, the 90-day cool-down on re-entering; a new run after it', async () => {
  const r = await sim.run('quarterly-cooldown');
  expect(routed(r)).toEqual([
    ['segment_entered', 'ignored'], // at-risk: not this journey's segment
    ['segment_entered', 'entered'], // high-value
    ['tasting_registered', 'signalled'],
    ['segment_exited', 'ignored'],
    ['segment_entered', 'refused:reentry'], // back in the segment a month after the conversion
    ['segment_entered', 'entered'], // 100 days after the first invitation
  ]);
  expect(r.runs.map((run) => run.outcome)).toEqual(['converted', 'running']);
  expect(r.outcome).toBe('running');
  const invites = ofKind(r, 'send').filter((e) => e.stepId === 'tasting-invite');
  expect(invites).toHaveLength(2);
  expectAt(invites[0]!.at, '2026-03-11T10:30:00+08:00');
  expectAt(invites[1]!.at, '2026-06-20T10:30:00+08:00');
  expect(invites[1]!.body).toContain('我们在北京门店办一场');
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('high-value-invite', sim.ran);
});
