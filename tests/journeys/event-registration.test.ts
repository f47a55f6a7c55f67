import { expectAt, expectEveryScenarioRun, ofKind, only, sent, trail, useJourneySimulator } from './support';

/**
 * Journey 8, event registration: eligibility, transactional SMS confirmation, the reminder at
 * 10:00 the day before (from the event time saved on the profile), a follow-up for no-shows.
 */
const sim = useJourneySimulator('event-registration');

test('member checks in: confirmation at once, reminder at 10:00 the day before, check-in converts', async () => {
  const r = await sim.run('member-checks-in');
  expect(r.outcome).toBe('converted');
  expect(trail(r)).toEqual([
    'enter:',
    'step:eligible',
    'step:save-event',
    'send:confirm',
    'wait:day-before',
    'send:remind',
    'wait:day-after',
    'exit:day-after',
  ]);
  expect(only(r, 'step', 'save-event').traits).toEqual({
    nextEventId: 'nr-2026-04-18',
    nextEventName: '驰跃城市夜跑·西湖10K',
    nextEventAt: '2026-04-18T19:00:00+08:00',
    nextEventVenue: '杭州西湖断桥集合点',
  });
  const confirm = only(r, 'send', 'confirm');
  expectAt(confirm.at, '2026-04-01T12:30:00+08:00');
  expect(confirm).toMatchObject({ channel: 'sms', to: '+8618400184000' });
  expect(confirm.body).toBe(
    '【驰跃运动】杨帆，你已成功报名「驰跃城市夜跑·西湖10K」，时间：4月18日 19:00，地点：杭州西湖断桥集合点。活动前一天我们会再提醒你，现场凭手机号签到。',
  );
  expect(only(r, 'wait', 'day-before').wakeAt).toBe('2026-04-17T10:00:00+08:00');
  const remind = only(r, 'send', 'remind');
  expectAt(remind.at, '2026-04-17T10:00:00+08:00');
  expect(remind.body).toBe(
    '【驰跃运动】提醒：你报名的「驰跃城市夜跑·西湖10K」明天19:00开始，地点：杭州西湖断桥集合点。建议提前30分钟到场热身，现场凭手机号签到。',
  );
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'event_checked_in' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-04-18T18:40:00+08:00');
});

test('no show: after the confirmation and the reminder, a push about the next event the day after', async () => {
  const r = await sim.run('no-show');
  expect(r.outcome).toBe('completed');
  expect(sent(r).map((e) => [e.stepId, e.channel, e.template])).toEqual([
    ['confirm', 'sms', 'event-confirmed'],
    ['remind', 'sms', 'event-reminder'],
    ['missed-you', 'push', 'event-missed'],
  ]);
  expectAt(only(r, 'send', 'remind').at, '2026-04-17T10:00:00+08:00');
  expect(only(r, 'send', 'remind').body).toContain('「驰跃周末训练营·体能入门」明天09:30开始');
  const missed = only(r, 'send', 'missed-you');
  expectAt(missed.at, '2026-04-19T10:00:00+08:00');
  expect(missed.body).toMatch(/^「驰跃周末训练营·体能入门」已经圆满结束啦/);
});

test('not a member: the SMS says why; nothing else', async () => {
  const r = await sim.run('not-a-member');
  expect(r.outcome).toBe('completed');
  expect(trail(r)).toEqual(['enter:', 'step:eligible', 'send:not-eligible', 'step:end', 'exit:end']);
  expect(only(r, 'step', 'eligible')).toMatchObject({ outcome: 'else', goto: 'not-eligible' });
  expect(only(r, 'send', 'not-eligible').body).toBe(
    '【驰跃运动】很抱歉，「驰跃城市夜跑·西湖10K」仅限驰跃会员报名，且需在活动开始前完成，你这次的报名未成功。在小程序「驰跃运动」免费注册会员后即可重新报名。',
  );
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-04-01T12:30:00+08:00');
});

test('late-night registration from Berlin: confirmation at once (transactional), reminder at 10:00 Berlin time', async () => {
  const r = await sim.run('late-registration-abroad');
  expect(r.timeZone).toBe('Europe/Berlin');
  // Transactional: not held for quiet hours, even at 23:30.
  expect(ofKind(r, 'step').filter((e) => e.outcome === 'deferred')).toEqual([]);
  const confirm = only(r, 'send', 'confirm');
  expectAt(confirm.at, '2026-04-15T23:30:00+02:00');
  expect(confirm).toMatchObject({ locale: 'en', to: '+491701234567' });
  // The event's time is shown where the event is (China), the reminder comes at the customer's 10:00.
  expect(confirm.body).toBe(
    'Chiyue Sports: Max, you\'re registered for "Chiyue West Lake 10K Night Run" on Apr 18, 7:00 PM (China time) at Broken Bridge, West Lake. We\'ll remind you the day before. Check in with your phone number.',
  );
  const remind = only(r, 'send', 'remind');
  expectAt(remind.at, '2026-04-17T10:00:00+02:00');
  expect(remind.body).toContain('starts tomorrow at 7:00 PM China time at Broken Bridge, West Lake');
  expectAt(only(r, 'send', 'missed-you').at, '2026-04-19T10:00:00+02:00');
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('event-registration', sim.ran);
});
