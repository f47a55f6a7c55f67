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

/** Journey 5, browse intent: the furniture plan by push within 24 h, a mini-program reminder after 72 h. */
const sim = useJourneySimulator('browse-intent');

test('ordered after the push: converted, no reminder', async () => {
  const r = await sim.run('ordered-after-push');
  expect(r.outcome).toBe('converted');
  expect(trail(r)).toEqual([
    'enter:',
    'wait:let-it-settle',
    'send:push-plan',
    'wait:wait-order',
    'exit:wait-order',
  ]);
  const push = only(r, 'send', 'push-plan');
  expectAt(push.at, '2026-03-07T14:30:00+08:00');
  expect(push).toMatchObject({
    channel: 'push',
    template: 'living-room-plan',
    locale: 'zh-CN',
    to: 'home-liu-yang',
    subject: '刘洋，你的客厅搭配方案已备好',
  });
  expect(push.body).toMatch(/^刚看了「奶油风客厅这样搭」？/);
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'order_completed' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-08T14:00:00+08:00');
});

test('no order in 72 hours: the mini-program reminder, then completed', async () => {
  const r = await sim.run('reminder-after-72h');
  expect(r.outcome).toBe('completed');
  expect(trail(r)).toEqual([
    'enter:',
    'wait:let-it-settle',
    'send:push-plan',
    'wait:wait-order',
    'send:remind-plan',
    'step:done',
    'exit:done',
  ]);
  const reminder = only(r, 'send', 'remind-plan');
  expectAt(reminder.at, '2026-03-10T14:30:00+08:00');
  expect(reminder.body).toBe(
    'thing1: 客厅搭配方案还为你保留着\nthing2: 灵感来自「奶油风客厅这样搭」\nthing3: 进入小程序一键加购整套',
  );
});

test('late-evening view: the push waits for 09:00 and the 72 hours count from then; other content does not enter', async () => {
  const r = await sim.run('late-evening-view');
  expect(routed(r)).toEqual([
    ['content_viewed', 'ignored'],
    ['content_viewed', 'entered'],
  ]);
  expect(only(r, 'step', 'push-plan')).toMatchObject({
    outcome: 'deferred',
    reason: 'quiet_hours',
    deferredUntil: '2026-03-08T09:00:00+08:00',
  });
  const push = only(r, 'send', 'push-plan');
  expectAt(push.at, '2026-03-08T09:00:00+08:00');
  expect(push).toMatchObject({ locale: 'en', subject: 'Vivian, your living-room plan is ready' });
  expect(push.body).toMatch(/^Loved "Cream-style living rooms"\?/);
  expectAt(only(r, 'send', 'remind-plan').at, '2026-03-11T09:00:00+08:00');
  expect(only(r, 'send', 'remind-plan').body).toBe(
    'thing1: Your plan is saved\nthing2: Free delivery now\nthing3: Add the set in 1 tap',
  );
  expect(sent(r)).toHaveLength(2);
  expect(r.outcome).toBe('completed');
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('browse-intent', sim.ran);
});
