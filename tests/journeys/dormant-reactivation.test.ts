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
 * Journey 3, dormant reactivation: entering the `dormant` segment (segments/dormant.yaml, given
 * here as the `segment_entered` event the segments engine queues; tests/segments/ has it end to
 * end) brings a coupon by SMS, a group-buy invitation on WeCom, a week to order, then a different
 * touch by email.
 */
const sim = useJourneySimulator('dormant-reactivation');

test('ordered within a week: coupon SMS and group-buy invitation at once, then converted', async () => {
  const r = await sim.run('ordered-within-a-week');
  expect(r.outcome).toBe('converted');
  expect(trail(r)).toEqual([
    'enter:',
    'coupon:exclusive-coupon',
    'send:offer-sms',
    'send:group-buy-invite',
    'wait:wait-order',
    'exit:wait-order',
  ]);
  const coupon = only(r, 'coupon', 'exclusive-coupon');
  expect(coupon).toMatchObject({ campaign: 'dormant-reactivation', value: 50, currency: 'CNY' });
  expect(coupon.expiresAt).toMatch(/^2026-03-23T10:00:0\d\+08:00$/);
  const sms = only(r, 'send', 'offer-sms');
  expectAt(sms.at, '2026-03-09T10:00:00+08:00');
  expect(sms.body).toBe(
    `【栖木家居】唐宁，好久不见！送您一张50元专属回归券，券码${coupon.code as string}，14天内下单可用。退订回TD`,
  );
  expect(only(r, 'send', 'group-buy-invite').body).toContain(
    '点这里一键发起拼团：https://qimu.example.com/g/8Kq2',
  );
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'order_completed' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-12T10:00:00+08:00');
});

test('no order in 7 days: the last-chance email names the same coupon', async () => {
  const r = await sim.run('last-chance-email');
  expect(r.outcome).toBe('completed');
  expect(sent(r).map((e) => [e.stepId, e.channel])).toEqual([
    ['offer-sms', 'sms'],
    ['group-buy-invite', 'wecom'],
    ['last-chance-email', 'email'],
  ]);
  const code = only(r, 'coupon', 'exclusive-coupon').code as string;
  const email = only(r, 'send', 'last-chance-email');
  expectAt(email.at, '2026-03-16T10:00:00+08:00');
  expect(email).toMatchObject({ to: 'yu.qing@example.com', subject: '于晴，为您留的回归礼遇即将结束' });
  expect(email.body).toContain(`50元专属回归券（券码 <strong>${code}</strong>）`);
  expect(email.body).toContain(
    '<p style="margin:0 0 24px;font-size:18px;letter-spacing:2px;color:#3d5a47">栖木家居</p>',
  );
  // Without groupBuyUrl the invitation points to the mini-program.
  expect(only(r, 'send', 'group-buy-invite').body).toContain(
    '打开「栖木家居」小程序，首页点「好友拼团」即可发起',
  );
});

test('redeeming the coupon in a store converts; another campaign does not', async () => {
  const r = await sim.run('coupon-redeemed-in-store');
  expect(r.outcome).toBe('converted');
  expect(routed(r)).toEqual([
    ['segment_entered', 'entered'],
    ['coupon_redeemed', 'signalled'],
    ['coupon_redeemed', 'signalled'],
  ]);
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'coupon_redeemed' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-11T10:00:00+08:00');
  expect(sent(r)).toHaveLength(2);
});

test('late-night entry: coupon at once, SMS and WeCom at 09:00, the week counted from then', async () => {
  const r = await sim.run('late-night-entry');
  expect(r.outcome).toBe('running');
  expect(trail(r)).toEqual([
    'enter:',
    'coupon:exclusive-coupon',
    'step:offer-sms',
    'send:offer-sms',
    'send:group-buy-invite',
    'wait:wait-order',
  ]);
  expectAt(only(r, 'coupon', 'exclusive-coupon').at, '2026-03-09T23:15:00+08:00');
  expect(only(r, 'step', 'offer-sms')).toMatchObject({ deferredUntil: '2026-03-10T09:00:00+08:00' });
  expectAt(only(r, 'send', 'offer-sms').at, '2026-03-10T09:00:00+08:00');
  expectAt(only(r, 'send', 'group-buy-invite').at, '2026-03-10T09:00:00+08:00');
  expect(only(r, 'wait', 'wait-order').timeoutAt).toMatch(/^2026-03-17T09:00:0\d\+08:00$/);
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('dormant-reactivation', sim.ran);
});
