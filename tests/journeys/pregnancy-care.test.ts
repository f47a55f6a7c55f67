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
 * Journey 2, pregnancy care: entered when `dueDate` is set; weekly content in a guarded loop;
 * the store check, the hospital bag, newborn care and first solids all follow from the due date.
 */
const sim = useJourneySimulator('pregnancy-care');

/** Mondays 10:00 (Shanghai) from the first date, `n` of them. */
const mondays = (first: string, n: number) =>
  Array.from({ length: n }, (_, i) => new Date(Date.parse(first) + i * 7 * 86_400_000).toISOString());

test('pregnancy to first solids: every stage from the due date', async () => {
  const r = await sim.run('pregnancy-to-first-solids');
  expect(r.outcome).toBe('completed');
  expect(routed(r)).toEqual([['identify', 'entered']]);
  expect(r.runs).toEqual([expect.objectContaining({ entryEvent: 'identify', outcome: 'completed' })]);

  // Pregnancy: the welcome and the trial SMS were due at 22:30, inside quiet hours: 09:00.
  expect(only(r, 'step', 'welcome')).toMatchObject({
    outcome: 'deferred',
    deferredUntil: '2026-03-05T09:00:00+08:00',
  });
  const welcome = only(r, 'send', 'welcome');
  expectAt(welcome.at, '2026-03-05T09:00:00+08:00');
  expect(welcome).toMatchObject({
    channel: 'miniprogram',
    template: 'pregnancy-welcome',
    to: 'oBh2mTq9Vx3Lr8Ny1Kp6Jd0Wc4Sa',
  });
  expect(welcome.body).toBe(
    'thing1: 孕期周报已为你开启\nthing2: 每周一上午10点更新本周指南\ndate3: 2026年5月20日',
  );
  const trial = only(r, 'coupon', 'trial-coupon');
  expect(trial).toMatchObject({
    campaign: 'pregnancy-trial',
    value: 30,
    currency: 'CNY',
    expiresAt: '2026-04-04T09:00:00+08:00',
  });
  const sms = only(r, 'send', 'trial-sms');
  expectAt(sms.at, '2026-03-05T09:00:00+08:00');
  expect(sms.body).toBe(
    `【贝禾母婴】王芳，恭喜好孕！送你一份孕妈试用礼：30元试用券，券码${trial.code as string}，孕妇护肤、防溢乳垫体验装均可抵用，4月4日前到店或在小程序使用。退订回TD`,
  );

  // Weekly content every Monday 10:00 from 9 March to 11 May (10 weeks), the loop counting up.
  const weekly = ofKind(r, 'send').filter((e) => e.stepId === 'weekly-guide');
  expect(weekly.map((e) => new Date(Date.parse(e.at)).toISOString().slice(0, 16))).toEqual(
    mondays('2026-03-09T02:00:00Z', 10).map((t) => t.slice(0, 16)),
  );
  weekly.forEach((e) => expect(e.body).toContain('thing1: 本周孕期指南已更新'));
  expect(
    ofKind(r, 'step')
      .filter((e) => e.stepId === 'every-week')
      .map((e) => e.iteration),
  ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

  // The store check: the first Monday less than 8 weeks (56 days) before 20 May is 30 March; once.
  const invite = only(r, 'send', 'store-check-invite');
  expectAt(invite.at, '2026-03-30T10:00:00+08:00');
  expect(invite).toMatchObject({ channel: 'wecom', to: 'wmBh2eCQAAq1Z7sPlx9KmR0fTt5yUeWg' });
  expect(invite.body).toContain('免费的孕晚期检查');
  expect(only(r, 'tag', 'mark-invited').tags).toEqual(['store-check-invited']);

  // The last week (18 May, due 20 May): the hospital-bag push instead of the weekly content.
  const dueSoon = only(r, 'send', 'due-soon');
  expectAt(dueSoon.at, '2026-05-18T10:00:00+08:00');
  expect(dueSoon).toMatchObject({ channel: 'push', subject: '王芳，待产包准备好了吗？' });

  // Newborn: due date + 14 days, 10:00; six months: due date + 180 days, 10:00, with a coupon.
  expectAt(only(r, 'send', 'newborn-guide').at, '2026-06-03T10:00:00+08:00');
  expect(only(r, 'send', 'newborn-guide').body).toContain('thing1: 新生儿护理指南');
  const food = only(r, 'coupon', 'baby-food-coupon');
  expect(food).toMatchObject({ campaign: 'organic-baby-food', value: 20 });
  const solids = only(r, 'send', 'organic-baby-food');
  expectAt(solids.at, '2026-11-16T10:00:00+08:00');
  expect(solids.body).toContain(`送你一张20元辅食尝鲜券，券码 ${food.code as string}，12月16日前有效。`);

  // The stage on the profile and the tags follow.
  expect(
    ofKind(r, 'step')
      .filter((e) => e.type === 'setTrait')
      .map((e) => (e.traits as Record<string, unknown>).babyStage),
  ).toEqual(['pregnancy', 'newborn', '6-12m']);
  expect(ofKind(r, 'tag').map((e) => `${e.action as string} ${(e.tags as string[]).join(',')}`)).toEqual([
    'tag pregnant',
    'tag store-check-invited',
    'untag pregnant,store-check-invited',
    'tag newborn',
    'untag pregnant,store-check-invited,newborn',
    'tag baby-6-12m',
  ]);
  expect(sent(r).map((e) => e.stepId)).toEqual([
    'welcome',
    'trial-sms',
    'weekly-guide',
    'weekly-guide',
    'weekly-guide',
    'store-check-invite',
    'weekly-guide',
    ...Array(6).fill('weekly-guide'),
    'due-soon',
    'newborn-guide',
    'organic-baby-food',
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-11-16T10:00:00+08:00');
});

test('a corrected due date: the same run follows it, the store check moves a week later', async () => {
  const r = await sim.run('due-date-corrected');
  expect(r.outcome).toBe('running');
  expect(r.runs).toHaveLength(1);
  // The correction is not a new entry: the customer is already in the journey.
  expect(routed(r)[0]).toEqual(['identify', 'entered']);
  expect(routed(r)[1]![1]).not.toBe('entered');
  const welcome = only(r, 'send', 'welcome');
  expectAt(welcome.at, '2026-03-04T10:00:00+08:00');
  expect(welcome.body).toContain('date3: 2026年5月20日');
  // Due 27 May: 30 March is 58 days before it (no invitation); 6 April is 51 days before.
  expectAt(only(r, 'send', 'store-check-invite').at, '2026-04-06T10:00:00+08:00');
  expect(ofKind(r, 'send').filter((e) => e.stepId === 'weekly-guide')).toHaveLength(5);
});

test('a baby already born: newborn care at once, first solids at six months, no pregnancy steps', async () => {
  const r = await sim.run('baby-already-born');
  expect(r.outcome).toBe('completed');
  expect(trail(r)).toEqual([
    'enter:',
    'step:which-stage',
    'wait:newborn',
    'step:stage-newborn',
    'tag:untag-pregnant',
    'tag:tag-newborn',
    'send:newborn-guide',
    'wait:six-months',
    'step:stage-solids',
    'tag:untag-newborn',
    'tag:tag-solids',
    'coupon:baby-food-coupon',
    'send:organic-baby-food',
    'step:end',
    'exit:end',
  ]);
  expect(only(r, 'step', 'which-stage')).toMatchObject({ goto: 'newborn' });
  // Due date + 14 days is already past: the wait ends at once.
  expect(only(r, 'wait', 'newborn').wakeAt).toBe('2026-01-24T10:00:00+08:00');
  expectAt(only(r, 'send', 'newborn-guide').at, '2026-03-04T10:00:00+08:00');
  expectAt(only(r, 'send', 'organic-baby-food').at, '2026-07-09T10:00:00+08:00');
  expect(only(r, 'send', 'organic-baby-food').body).toMatch(/^孙雅，宝宝快半岁啦/);
});

test('a due date too long ago, or an identify without one, does not enter', async () => {
  const r = await sim.run('old-due-date-ignored');
  expect(r.outcome).toBe('none');
  expect(r.runs).toEqual([]);
  expect(routed(r)).toEqual([
    ['identify', 'ignored'],
    ['identify', 'ignored'],
  ]);
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('pregnancy-care', sim.ran);
});
