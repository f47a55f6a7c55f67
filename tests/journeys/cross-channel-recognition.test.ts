import {
  expectAt,
  expectEveryScenarioRun,
  ofKind,
  only,
  routed,
  trail,
  useJourneySimulator,
} from './support';

/**
 * Journey 10, cross-channel recognition (the claim event carries the store member id for now):
 * the membership written to the online profile, confirmed in the mini-program, a coupon reminder.
 */
const sim = useJourneySimulator('cross-channel-recognition');

test('a store member claims an online coupon: linked, tagged, welcomed; an online order converts', async () => {
  const r = await sim.run('store-member-orders-online');
  expect(r.outcome).toBe('converted');
  expect(trail(r)).toEqual([
    'enter:',
    'step:link-member',
    'tag:tag-omnichannel',
    'send:welcome',
    'wait:give-it-time',
    'exit:give-it-time',
  ]);
  expect(only(r, 'step', 'link-member').traits).toMatchObject({
    memberId: 'CY00012345',
    offlineMember: true,
    memberStore: '驰跃杭州湖滨店',
    recognisedVia: 'miniprogram',
  });
  expect(only(r, 'tag', 'tag-omnichannel').tags).toEqual(['omnichannel']);
  const welcome = only(r, 'send', 'welcome');
  expectAt(welcome.at, '2026-03-06T12:10:00+08:00');
  expect(welcome).toMatchObject({
    channel: 'miniprogram',
    to: 'oCy9mZ3kLq7Wx1Rn5Vt9Hs2Jd6Pc',
    subject: '门店会员已绑定',
  });
  expect(welcome.body).toBe(
    'thing1: 驰跃门店会员已绑定\nthing2: 积分与等级线上线下通用\nthing3: 优惠券已放入卡包',
  );
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'order_completed' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-07T12:10:00+08:00');
});

test('late claim, store order only: welcome at 09:00, reminder at 20:00, completed after 14 days; never again', async () => {
  const r = await sim.run('late-claim-store-order-only');
  expect(trail(r)).toEqual([
    'enter:',
    'step:link-member',
    'tag:tag-omnichannel',
    'step:welcome',
    'send:welcome',
    'wait:give-it-time',
    'wait:evening',
    'send:coupon-reminder',
    'step:end',
    'exit:end',
  ]);
  expectAt(only(r, 'send', 'welcome').at, '2026-03-07T09:00:00+08:00');
  // Three days after the welcome (10 March 09:00), then the next 20:00.
  const reminder = only(r, 'send', 'coupon-reminder');
  expectAt(reminder.at, '2026-03-10T20:00:00+08:00');
  expect(reminder).toMatchObject({
    channel: 'push',
    to: 'sport-online-9034',
    subject: '贺婷，你领的券还没用哦',
  });
  expect(reminder.body).toMatch(/^券码CY-3H7P-Q9，线上下单就能用/);
  // The store order is heard but is not the goal; the run completes when the window closes.
  expect(routed(r)).toEqual([
    ['coupon_claimed', 'entered'],
    ['order_completed', 'signalled'],
    ['coupon_claimed', 'refused:reentry'],
  ]);
  expect(r.outcome).toBe('completed');
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-20T22:50:00+08:00');
});

test('a claim without a store member id, or from an unknown source, is not a recognition', async () => {
  const r = await sim.run('online-only-not-recognised');
  expect(r.outcome).toBe('none');
  expect(routed(r)).toEqual([
    ['coupon_claimed', 'ignored'],
    ['coupon_claimed', 'ignored'],
  ]);
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('cross-channel-recognition', sim.ran);
});
