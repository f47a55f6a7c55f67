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

/** Journey 6, post-purchase care: the sofa care guide three days after delivery, at 19:30 local time. */
const sim = useJourneySimulator('post-purchase-care');

test('leather sofa: the leather care email at 19:30 three days after delivery', async () => {
  const r = await sim.run('leather-sofa-email');
  expect(r.outcome).toBe('completed');
  expect(trail(r)).toEqual([
    'enter:',
    'wait:wait-delivery',
    'step:remember-sofa',
    'wait:settle-in',
    'wait:evening',
    'step:pick-guide',
    'send:guide-leather',
    'step:end',
    'exit:end',
  ]);
  expect(only(r, 'step', 'remember-sofa').traits).toMatchObject({ sofaMaterial: 'leather' });
  const email = only(r, 'send', 'guide-leather');
  expectAt(email.at, '2026-03-15T19:30:00+08:00');
  expect(email).toMatchObject({
    channel: 'email',
    template: 'sofa-care-leather',
    locale: 'zh-CN',
    to: 'jiang.tao@example.com',
    subject: '蒋涛，您的皮沙发清洁保养指南',
  });
  expect(email.body).toContain('<strong>每三个月护理一次</strong>');
  expect(email.body).toContain('utm_campaign=post-purchase-care');
});

test('fabric sofa in Los Angeles: English fabric guide at 19:30 Los Angeles time, the next evening', async () => {
  const r = await sim.run('fabric-sofa-los-angeles');
  expect(r.timeZone).toBe('America/Los_Angeles');
  expect(r.outcome).toBe('completed');
  // Delivered 21:30 on 12 March; three days later is 21:30, past 19:30: the next evening.
  expect(only(r, 'wait', 'evening')).toMatchObject({
    wakeAt: '2026-03-16T19:30:00-07:00',
    timeZone: 'America/Los_Angeles',
  });
  const email = only(r, 'send', 'guide-fabric');
  expectAt(email.at, '2026-03-16T19:30:00-07:00');
  expect(email).toMatchObject({ locale: 'en', subject: 'Emily, caring for your fabric sofa' });
  expect(email.body).toContain('<strong>Vacuum once a week</strong>');
  expect(sent(r)).toHaveLength(1);
});

test('no email address: the mini-program message; a rug delivery does not count', async () => {
  const r = await sim.run('no-email-miniprogram');
  expect(r.outcome).toBe('completed');
  expect(routed(r)).toEqual([
    ['order_completed', 'entered'],
    ['order_delivered', 'signalled'], // the rug: heard, not the awaited sofa
    ['order_delivered', 'signalled'],
  ]);
  expect(only(r, 'wait', 'wait-delivery')).toMatchObject({ outcome: 'event', event: 'order_delivered' });
  expect(only(r, 'step', 'remember-sofa').traits).toMatchObject({ sofaMaterial: 'tech-fabric' });
  expect(only(r, 'step', 'pick-guide')).toMatchObject({ goto: 'guide-miniprogram' });
  const message = only(r, 'send', 'guide-miniprogram');
  expectAt(message.at, '2026-03-14T19:30:00+08:00');
  expect(message).toMatchObject({ channel: 'miniprogram', to: 'oQm1hN0wKz4Lt8Xr2Vq6Js9Hd3Pb' });
  expect(message.body).toBe(
    'thing1: 沙发清洁保养指南\nthing2: 日常清洁·污渍处理·防晒\nthing3: 点击查看图文版指南',
  );
});

test('never delivered: ends after 30 days without a touch; other furniture does not enter', async () => {
  const r = await sim.run('never-delivered');
  expect(routed(r)).toEqual([
    ['order_completed', 'ignored'],
    ['order_completed', 'entered'],
  ]);
  expect(trail(r)).toEqual(['enter:', 'wait:wait-delivery', 'step:end', 'exit:end']);
  expect(only(r, 'wait', 'wait-delivery').outcome).toBe('timeout');
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-04-04T11:05:00+08:00');
  expect(ofKind(r, 'send')).toEqual([]);
  expect(r.outcome).toBe('completed');
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('post-purchase-care', sim.ran);
});
