import { evaluate } from '../../language/conditions';
import type { Condition } from '../../language/types';
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
 * Journey 7, birthday benefit: the daily 09:00 schedule enrols customers whose birthday is within
 * 7 days (the scenarios enrol at the tick themselves); the customer picks coupon or class.
 */
const sim = useJourneySimulator('birthday-benefit');

test('the schedule picks birthdays within the next 7 days', () => {
  const journey = sim.journey();
  expect(journey.entry).toMatchObject({
    schedule: { cron: '0 9 * * *', timezone: 'Asia/Shanghai' },
    reentry: { mode: 'after', cooldownMs: 300 * 86_400_000 },
  });
  const { where } = journey.entry as { where?: Condition };
  const at = (birthday: string) =>
    evaluate(where!, {
      traits: { birthday },
      properties: {},
      nowMs: Date.parse('2026-05-01T09:00:00+08:00'),
      timeZone: 'Asia/Shanghai',
    });
  expect(at('1994-05-08')).toBe(true);
  expect(at('1990-05-03')).toBe(true);
  expect(at('1994-05-09')).toBe(false);
  expect(at('1994-04-30')).toBe(false);
});

test('picks the class: WeCom message with store and time, no coupon; attending converts', async () => {
  const r = await sim.run('picks-the-class');
  expect(r.outcome).toBe('converted');
  expect(trail(r)).toEqual([
    'enter:',
    'send:offer-choice',
    'wait:wait-choice',
    'step:which-gift',
    'tag:class-booked',
    'send:class-invite',
    'step:end',
    'exit:end',
  ]);
  const choice = only(r, 'send', 'offer-choice');
  expectAt(choice.at, '2026-05-01T09:00:00+08:00');
  expect(choice.body).toBe(
    '【初澜美妆】谢雯，生日快到啦！生日礼二选一：100元生日券，或到店免费上一节生日妆容体验课。5天内在 m.chulan.example.com/bday 选择。退订回TD',
  );
  const invite = only(r, 'send', 'class-invite');
  expectAt(invite.at, '2026-05-02T12:00:00+08:00');
  expect(invite.body).toContain('门店：杭州湖滨银泰店\n时间：5月9日 14:00\n');
  expect(ofKind(r, 'coupon')).toEqual([]);
  // The steps ended on 2 May; the 30-day conversion window kept the run open for the class.
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'class_attended' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-05-09T15:10:00+08:00');
});

test('picks the coupon: ¥100 coupon by SMS with code and expiry; redeeming it converts', async () => {
  const r = await sim.run('picks-the-coupon');
  expect(r.outcome).toBe('converted');
  const coupon = only(r, 'coupon', 'birthday-coupon');
  expect(coupon).toMatchObject({
    campaign: 'birthday-gift',
    value: 100,
    currency: 'CNY',
    expiresAt: '2026-05-31T15:00:00+08:00',
  });
  const sms = only(r, 'send', 'coupon-sms');
  expectAt(sms.at, '2026-05-01T15:00:00+08:00');
  expect(sms.body).toBe(
    `【初澜美妆】曹雨，生日快乐！你的100元生日券已到账，券码${coupon.code as string}，5月31日前在门店或小程序满300元可用。退订回TD`,
  );
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'coupon_redeemed' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-05-08T16:00:00+08:00');
  expect(sent(r).map((e) => e.stepId)).toEqual(['offer-choice', 'coupon-sms']);
});

test('no pick: the coupon after 5 days, a reminder a week before it expires, completed after 30 days; once a year', async () => {
  const r = await sim.run('no-pick-then-once-a-year');
  expect(trail(r)).toEqual([
    'enter:',
    'send:offer-choice',
    'wait:wait-choice',
    'coupon:birthday-coupon',
    'send:coupon-sms',
    'wait:before-expiry',
    'send:coupon-reminder',
    'step:end',
    'exit:end',
  ]);
  expect(only(r, 'wait', 'wait-choice').outcome).toBe('timeout');
  const code = only(r, 'coupon', 'birthday-coupon').code as string;
  expect(only(r, 'send', 'offer-choice')).toMatchObject({ locale: 'en' });
  expect(only(r, 'send', 'offer-choice').body).toContain(
    'Pick your gift: a CN¥100 birthday coupon or a free in-store birthday makeup class',
  );
  const sms = only(r, 'send', 'coupon-sms');
  expectAt(sms.at, '2026-05-06T09:00:00+08:00');
  expect(sms.body).toBe(
    `Chulan Beauty: Happy birthday, Lu Pan! Your CN¥100 birthday coupon is here: ${code}, valid until Jun 5 on orders over CN¥300 in store or in our mini-program. Reply TD to opt out`,
  );
  const reminder = only(r, 'send', 'coupon-reminder');
  expectAt(reminder.at, '2026-05-29T09:00:00+08:00');
  expect(reminder.body).toContain(`your birthday coupon (${code}) expires in 7 days`);
  expect(r.runs).toEqual([expect.objectContaining({ outcome: 'completed' })]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-05-31T09:00:00+08:00');
  expect(routed(r)).toEqual([
    ['journey_enrolled', 'entered'],
    ['journey_enrolled', 'refused:reentry'],
  ]);
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('birthday-benefit', sim.ran);
});
