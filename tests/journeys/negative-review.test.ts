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
 * Journey 9, negative review → service recovery: supply-chain webhook, service-team alert,
 * apology with a coupon, a 24-hour handling deadline with escalation.
 */
const sim = useJourneySimulator('negative-review');

const recovery = ['tag:open-case', 'step:which-problem'];

test('damaged packaging, resolved in time: packaging alert, team alert, apology with coupon, case closed', async () => {
  const r = await sim.run('packaging-resolved-in-time');
  expect(r.outcome).toBe('completed');
  expect(trail(r)).toEqual([
    'enter:',
    ...recovery,
    'webhook:alert-packaging',
    'notify:alert-service',
    'coupon:apology-coupon',
    'send:apology-sms',
    'wait:handling-deadline',
    'step:resolved',
    'tag:close-case',
    'step:end',
    'exit:end',
  ]);
  const hook = only(r, 'webhook', 'alert-packaging');
  expectAt(hook.at, '2026-03-10T14:20:00+08:00');
  expect(hook).toMatchObject({
    outcome: 'sent',
    target: 'supply-chain',
    body: {
      issue: 'packaging-damaged',
      action: 'check-stock-and-packing',
      orderId: 'SL20260306-1187',
      sku: 'LJ-MQ-250',
      rating: 1,
      review: '收到时包装破损，茶叶撒了小半罐，很失望。',
    },
  });
  const alert = only(r, 'notify', 'alert-service');
  expect(alert).toMatchObject({ outcome: 'sent', target: 'service-team', template: 'complaint-alert' });
  expect(alert.text).toBe(
    [
      '【差评预警】山岚茶事 · 售后挽回',
      '顾客：tea-shen-yi（沈怡）',
      '订单：SL20260306-1187　商品：明前龙井·特级 250g　评分：1星',
      '评价原文：收到时包装破损，茶叶撒了小半罐，很失望。',
      '已自动处理：推送供应链、向顾客发送致歉券。请在24小时内联系顾客，处理完毕后在客服系统点「已解决」。',
    ].join('\n'),
  );
  const coupon = only(r, 'coupon', 'apology-coupon');
  expect(coupon).toMatchObject({ campaign: 'review-apology', value: 20, currency: 'CNY' });
  const sms = only(r, 'send', 'apology-sms');
  expectAt(sms.at, '2026-03-10T14:20:00+08:00');
  expect(sms.body).toBe(
    `【山岚茶事】沈怡，非常抱歉「明前龙井·特级 250g」给您带来了不好的体验，客服会在24小时内联系您处理退换。送您一张20元致歉券，券码${coupon.code as string}，4月9日前有效。`,
  );
  expect(only(r, 'wait', 'handling-deadline')).toMatchObject({
    outcome: 'event',
    event: 'complaint_resolved',
  });
  expect(ofKind(r, 'tag').map((e) => [e.action, e.tags])).toEqual([
    ['tag', ['complaint-open']],
    ['untag', ['complaint-open']],
  ]);
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-10T20:20:00+08:00');
  expect(ofKind(r, 'notify')).toHaveLength(1); // no escalation
});

test('taste complaint not resolved in 24 hours: formula alert, then the team lead is alerted', async () => {
  const r = await sim.run('taste-overdue-escalated');
  expect(r.outcome).toBe('completed');
  expect(trail(r)).toEqual([
    'enter:',
    ...recovery,
    'webhook:alert-taste',
    'notify:alert-service',
    'coupon:apology-coupon',
    'send:apology-sms',
    'wait:handling-deadline',
    'notify:escalate',
    'wait:still-open',
    'step:resolved',
    'tag:close-case',
    'step:end',
    'exit:end',
  ]);
  expect(only(r, 'webhook', 'alert-taste').body).toMatchObject({
    issue: 'taste',
    action: 'review-formula-and-batch',
    sku: 'BLC-YA-100',
  });
  const escalate = only(r, 'notify', 'escalate');
  expectAt(escalate.at, '2026-03-11T10:00:00+08:00');
  expect(escalate).toMatchObject({ target: 'service-team', template: 'complaint-overdue' });
  expect(escalate.text).toContain(
    '【差评超时】顾客 tea-du-xuan（杜萱） 的差评已超过24小时仍未处理完毕，请组长跟进。',
  );
  expect(escalate.text).toContain('评价原文：口感差，和上次买的完全不一样，发苦。');
  expectAt(only(r, 'step', 'resolved').at, '2026-03-11T16:00:00+08:00');
});

test('midnight review, never resolved: alerts at once, apology at 09:00, escalation, the case stays open', async () => {
  const r = await sim.run('midnight-review-never-resolved');
  expect(r.outcome).toBe('completed');
  // Both keywords: the packaging branch is checked first.
  expect(only(r, 'step', 'which-problem').goto).toBe('alert-packaging');
  expectAt(only(r, 'webhook', 'alert-packaging').at, '2026-03-10T23:40:00+08:00');
  expectAt(only(r, 'notify', 'alert-service').at, '2026-03-10T23:40:00+08:00');
  expect(only(r, 'step', 'apology-sms')).toMatchObject({
    outcome: 'deferred',
    reason: 'quiet_hours',
    deferredUntil: '2026-03-11T09:00:00+08:00',
  });
  expectAt(only(r, 'send', 'apology-sms').at, '2026-03-11T09:00:00+08:00');
  // The 24 hours count from the apology.
  expectAt(only(r, 'notify', 'escalate').at, '2026-03-12T09:00:00+08:00');
  expect(only(r, 'wait', 'still-open').outcome).toBe('timeout');
  expectAt(ofKind(r, 'exit')[0]!.at, '2026-03-18T09:00:00+08:00');
  // Not resolved: the tag stays for the service team (and marketing journeys) to see.
  expect(ofKind(r, 'tag').map((e) => e.stepId)).toEqual(['open-case']);
});

test('praise does not enter; a second complaint reaches the open case; after it, a new case', async () => {
  const r = await sim.run('praise-and-second-complaint');
  expect(routed(r)).toEqual([
    ['review_submitted', 'ignored'],
    ['review_submitted', 'entered'],
    ['review_submitted', 'signalled'],
    ['complaint_resolved', 'signalled'],
    ['review_submitted', 'entered'],
  ]);
  expect(r.runs.map((run) => run.outcome)).toEqual(['completed', 'running']);
  expect(ofKind(r, 'webhook').map((e) => [e.stepId, (e.body as Record<string, unknown>).orderId])).toEqual([
    ['alert-taste', 'SL-2'],
    ['alert-packaging', 'SL-3'],
  ]);
  const codes = ofKind(r, 'coupon').map((e) => e.code);
  expect(codes).toHaveLength(2);
  expect(codes[0]).not.toBe(codes[1]);
  // Without a product name the apology still reads well.
  expect(ofKind(r, 'send')[0]!.body).toMatch(/^【山岚茶事】康宁，非常抱歉给您带来了不好的体验，/);
});

test('every scenario of the journey is pinned above', () => {
  expectEveryScenarioRun('negative-review', sim.ran);
});
