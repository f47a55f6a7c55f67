import type { SimulationResult } from '../../simulation/types';
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
 * Journey 1, lifecycle (AIPL): stage by stage, each change written to the profile and mirrored in
 * a tag. 10% of entrants are held back (control: every step, no touch) and the first-order offer
 * is an A/B split, both decided per run: the assertions check whichever group and arm the run got.
 */
const sim = useJourneySimulator('lifecycle-aipl');

const control = (r: SimulationResult) => r.runs[0]?.group === 'control';
const arm = (r: SimulationResult) => only(r, 'split', 'first-order-offer').outcome;

/** Sends as [stepId, channel, template, status]: sent for treatment, skipped (holdback) for control. */
const touches = (r: SimulationResult) =>
  ofKind(r, 'send').map((e) => [e.stepId, e.channel, e.template, e.status]);
const expected = (r: SimulationResult, sends: [string, string, string][]) =>
  sends.map(([step, channel, template]) => [step, channel, template, control(r) ? 'skipped' : 'sent']);

const stageTraits = (r: SimulationResult) =>
  ofKind(r, 'step')
    .filter((e) => e.type === 'setTrait')
    .map((e) => (e.traits as Record<string, unknown>).aiplStage);

test('awareness to loyalty: every stage in turn, converted by the referral', async () => {
  const r = await sim.run('awareness-to-loyalty');
  expect(r.outcome).toBe('converted');
  expect(r.runs).toHaveLength(1);
  const interestOffer = arm(r) === 'arm:coupon' ? ['coupon:first-order-coupon'] : [];
  expect(trail(r)).toEqual([
    'enter:',
    'step:stage-awareness',
    'tag:tag-awareness',
    'send:sample-offer',
    'wait:wait-interest',
    'step:stage-interest',
    'tag:tag-interest',
    'tag:untag-awareness',
    'split:first-order-offer',
    ...interestOffer,
    'send:skin-consult',
    'wait:wait-first-order',
    'step:stage-purchase',
    'tag:tag-purchase',
    'tag:untag-earlier',
    'wait:let-it-arrive',
    'send:usage-guide',
    'wait:wait-repurchase',
    'step:stage-loyalty',
    'tag:tag-loyalty',
    'tag:untag-purchase',
    'send:referral-invite',
    'wait:referral-window',
    'exit:referral-window',
  ]);
  expect(stageTraits(r)).toEqual(['awareness', 'interest', 'purchase', 'loyalty']);
  expect(only(r, 'step', 'stage-awareness').traits).toMatchObject({ aiplSource: 'xiaohongshu' });
  expect(ofKind(r, 'tag').map((e) => [e.action, e.tags])).toEqual([
    ['tag', ['aipl-awareness']],
    ['tag', ['aipl-interest']],
    ['untag', ['aipl-awareness']],
    ['tag', ['aipl-purchase']],
    ['untag', ['aipl-awareness', 'aipl-interest']],
    ['tag', ['aipl-loyalty']],
    ['untag', ['aipl-purchase']],
  ]);
  expect(touches(r)).toEqual(
    expected(r, [
      ['sample-offer', 'sms', 'aipl-sample-offer'],
      ['skin-consult', 'wecom', 'aipl-skin-consult'],
      ['usage-guide', 'miniprogram', 'aipl-usage-guide'],
      ['referral-invite', 'wecom', 'aipl-referral-invite'],
    ]),
  );
  // Each track starts when its stage changes: the article on day 2, the order on day 4 (guide 3
  // days later), the repeat order on day 20.
  expectAt(only(r, 'send', 'sample-offer').at, '2026-03-02T10:00:00+08:00');
  expectAt(only(r, 'send', 'skin-consult').at, '2026-03-04T10:00:00+08:00');
  expectAt(only(r, 'send', 'usage-guide').at, '2026-03-09T10:00:00+08:00');
  expectAt(only(r, 'send', 'referral-invite').at, '2026-03-22T10:00:00+08:00');
  expect(ofKind(r, 'exit')).toEqual([
    expect.objectContaining({ outcome: 'converted', goal: 'referral_completed' }),
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-27T10:00:00+08:00');

  if (control(r)) {
    expect(ofKind(r, 'send').every((e) => e.reason === 'holdback')).toBe(true);
    return;
  }
  const sample = only(r, 'send', 'sample-offer');
  expect(sample).toMatchObject({ locale: 'zh-CN', to: '+8613800138000' });
  expect(sample.body).toBe(
    '【初澜美妆】李娜，感谢关注初澜！新客专享「小蓝瓶」精华体验装，0元申领仅付邮费，3天内有效：m.chulan.example.com/try 退订回TD',
  );
  const consult = only(r, 'send', 'skin-consult');
  expect(consult.to).toBe('wmQk8eCQAAsfx0m7uBv8HtWc2ICTV0Ag');
  expect(consult.body).toContain('看到你最近在看「油皮夏季护肤全攻略」');
  if (arm(r) === 'arm:coupon') {
    const coupon = only(r, 'coupon', 'first-order-coupon');
    expect(coupon).toMatchObject({ campaign: 'aipl-first-order', value: 30, currency: 'CNY' });
    expect(consult.body).toContain(`30元新客券，券码 ${coupon.code as string}，3月11日前首单可用`);
  } else {
    expect(arm(r)).toBe('arm:gift');
    expect(consult.body).toContain('首单任意消费还送「小蓝瓶」精华旅行装一支');
  }
  expect(only(r, 'send', 'usage-guide').body).toBe(
    'thing1: 你的精华使用指南\nthing2: 洁面后取2-3滴轻拍至吸收\nthing3: 点击查看完整早晚护肤步骤',
  );
  expect(only(r, 'send', 'referral-invite').body).toContain('好友首单立减30元');
});

test('an order without any content interaction: the purchase track after the awareness wait', async () => {
  const r = await sim.run('ordered-without-content');
  expect(r.outcome).toBe('completed');
  expect(trail(r)).toEqual([
    'enter:',
    'step:stage-awareness',
    'tag:tag-awareness',
    'send:sample-offer',
    'wait:wait-interest',
    'step:ordered-anyway',
    'step:stage-purchase',
    'tag:tag-purchase',
    'tag:untag-earlier',
    'wait:let-it-arrive',
    'send:usage-guide',
    'wait:wait-repurchase',
    'send:replenish',
    'wait:wait-repurchase-again',
    'step:end',
    'exit:end',
  ]);
  expect(only(r, 'wait', 'wait-interest').outcome).toBe('timeout');
  // The order of day 3 reached the run; the branch at the end of the 7-day wait finds it (`did`).
  expect(routed(r)).toEqual([
    ['ad_clicked', 'entered'],
    ['order_completed', 'signalled'],
  ]);
  expect(only(r, 'step', 'ordered-anyway')).toMatchObject({ outcome: 'branch:0', goto: 'stage-purchase' });
  expectAt(only(r, 'step', 'ordered-anyway').at, '2026-03-09T10:00:00+08:00');
  expect(stageTraits(r)).toEqual(['awareness', 'purchase']);
  expect(ofKind(r, 'split')).toEqual([]);
  expect(ofKind(r, 'coupon')).toEqual([]);
  expect(touches(r)).toEqual(
    expected(r, [
      ['sample-offer', 'sms', 'aipl-sample-offer'],
      ['usage-guide', 'miniprogram', 'aipl-usage-guide'],
      ['replenish', 'push', 'aipl-replenish'],
    ]),
  );
  expectAt(only(r, 'send', 'usage-guide').at, '2026-03-12T10:00:00+08:00');
  // No repeat order within 25 days of the guide: the replenishment push, then 14 more days.
  expectAt(only(r, 'send', 'replenish').at, '2026-04-06T10:00:00+08:00');
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-04-20T10:00:00+08:00');
  if (!control(r)) {
    expect(only(r, 'send', 'replenish')).toMatchObject({
      to: 'aipl-zhou-min',
      subject: '周敏，精华快用完了吗？',
      body: expect.stringContaining('现在回购享会员价，再送同系列面膜2片'),
    });
  }
});

test('interest without an order: the offer, a reminder naming the same offer 5 days later, the end', async () => {
  const r = await sim.run('interest-no-order');
  expect(r.outcome).toBe('completed');
  const coupon = arm(r) === 'arm:coupon';
  expect(trail(r)).toEqual([
    'enter:',
    'step:stage-awareness',
    'tag:tag-awareness',
    'send:sample-offer',
    'wait:wait-interest',
    'step:stage-interest',
    'tag:tag-interest',
    'tag:untag-awareness',
    'split:first-order-offer',
    ...(coupon ? ['coupon:first-order-coupon'] : []),
    'send:skin-consult',
    'wait:wait-first-order',
    'send:offer-reminder',
    'wait:last-chance',
    'step:end',
    'exit:end',
  ]);
  expect(stageTraits(r)).toEqual(['awareness', 'interest']);
  expectAt(only(r, 'send', 'skin-consult').at, '2026-03-03T10:00:00+08:00');
  expectAt(only(r, 'send', 'offer-reminder').at, '2026-03-08T10:00:00+08:00');
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-10T10:00:00+08:00');
  if (control(r)) return;
  const reminder = only(r, 'send', 'offer-reminder');
  if (coupon) {
    const code = only(r, 'coupon', 'first-order-coupon').code as string;
    expect(only(r, 'coupon', 'first-order-coupon').expiresAt).toMatch(/^2026-03-10T10:00:0\d\+08:00$/);
    expect(only(r, 'send', 'skin-consult').body).toContain(code);
    expect(reminder.body).toBe(
      `【初澜美妆】你的30元新客券（券码${code}）2天后到期，在小程序搜「初澜美妆」下单即可使用。退订回TD`,
    );
  } else {
    expect(reminder.body).toBe(
      '【初澜美妆】首单送「小蓝瓶」旅行装的活动即将结束，在小程序搜「初澜美妆」下单即可使用。退订回TD',
    );
  }
});

test('late-night click: the SMS waits for 09:00; a second click is just an event; the cool-down refuses a re-entry', async () => {
  const r = await sim.run('late-night-click-and-reentry');
  expect(r.outcome).toBe('completed');
  expect(routed(r)).toEqual([
    ['ad_clicked', 'entered'],
    ['ad_clicked', 'signalled'],
    ['ad_clicked', 'refused:reentry'],
  ]);
  expect(r.runs).toHaveLength(1);
  if (control(r)) {
    // A control run sends nothing, so nothing waits for quiet hours: the 7-day wait starts at once.
    expect(trail(r)).toEqual([
      'enter:',
      'step:stage-awareness',
      'tag:tag-awareness',
      'send:sample-offer',
      'wait:wait-interest',
      'step:ordered-anyway',
      'step:end',
      'exit:end',
    ]);
    expect(only(r, 'send', 'sample-offer')).toMatchObject({ status: 'skipped', reason: 'holdback' });
    expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-09T22:40:00+08:00');
    return;
  }
  expect(trail(r)).toEqual([
    'enter:',
    'step:stage-awareness',
    'tag:tag-awareness',
    'step:sample-offer', // deferred: quiet hours
    'send:sample-offer',
    'wait:wait-interest',
    'step:ordered-anyway',
    'step:end',
    'exit:end',
  ]);
  expect(only(r, 'step', 'sample-offer')).toMatchObject({ outcome: 'deferred', reason: 'quiet_hours' });
  expect(only(r, 'step', 'sample-offer').deferredUntil).toBe('2026-03-03T09:00:00+08:00');
  expectAt(only(r, 'send', 'sample-offer').at, '2026-03-03T09:00:00+08:00');
  expect(only(r, 'send', 'sample-offer').body).toContain('林悦，感谢关注初澜');
  // The 7-day wait starts after the SMS went out.
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-10T09:00:00+08:00');
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('lifecycle-aipl', sim.ran);
});
