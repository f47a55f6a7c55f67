import fs from 'node:fs';
import path from 'node:path';
import { integrationTargets, loadIntegrationsConfig } from '../../config/integrations';
import { formatIssue } from '../../language/errors';
import { checkJourney, JOURNEY_FILE, loadJourneys } from '../../language/load';
import { buildRenderContext } from '../../messages/context';
import { loadTemplates } from '../../messages/templates';
import type { SendStep } from '../../language/types';

const root = path.join(__dirname, '../..');
const templates = loadTemplates(path.join(root, 'templates'));
const journeys = loadJourneys(path.join(root, 'journeys'), { templates });
const byId = (id: string) => journeys.find((j) => j.id === id)!;

it('loads every shipped journey cleanly against the real templates', () => {
  // The other seed journeys are pinned by their own scenarios (tests/journeys/).
  expect(journeys.map((j) => j.id)).toEqual(
    expect.arrayContaining(['browse-intent', 'dormant-reactivation']),
  );
});

it('shipped journeys and test fixtures have no warnings either (no unreachable steps)', () => {
  for (const dir of ['journeys', 'tests/fixtures/journeys']) {
    for (const name of fs.readdirSync(path.join(root, dir)).filter((f) => /\.ya?ml$/.test(f))) {
      const file = path.join(root, dir, name);
      const result = checkJourney(fs.readFileSync(file, 'utf8'), file, { templates, checkFileName: true });
      expect([name, result.issues, result.warnings]).toEqual([name, [], []]);
    }
  }
});

it('the end-to-end fixture still compiles as it did, plus the default re-entry rule', () => {
  const [quick] = loadJourneys(path.join(root, 'tests/fixtures/journeys'), { templates });
  expect(quick).toEqual({
    id: 'quick-browse',
    name: 'Browse intent (fast, for end-to-end tests)',
    version: 1,
    defaultLocale: 'zh-CN',
    entry: {
      event: 'content_viewed',
      where: { property: 'category', eq: 'living-room-decoration' },
      reentry: { mode: 'always' },
    },
    exit: [{ event: 'order_completed' }],
    steps: [
      { id: 'push-plan', type: 'send', channel: 'push', template: 'living-room-plan' },
      {
        id: 'wait-order',
        type: 'waitFor',
        event: 'order_completed',
        timeoutMs: 6000,
        onEvent: 'done',
        onTimeout: 'remind-plan',
      },
      { id: 'remind-plan', type: 'send', channel: 'miniprogram', template: 'living-room-plan-reminder' },
      { id: 'done', type: 'exit' },
    ],
  });
});

it('browse intent: push the plan soon after the view, remind in the mini-program after 72 h', () => {
  const journey = byId('browse-intent');
  expect(journey.entry).toEqual({
    event: 'content_viewed',
    where: { property: 'category', eq: 'living-room-decoration' },
    reentry: { mode: 'always' },
  });
  expect(journey.exit).toEqual([{ event: 'order_completed' }]);
  expect(journey.steps).toEqual([
    { id: 'let-it-settle', type: 'wait', durationMs: 30 * 60_000 },
    { id: 'push-plan', type: 'send', channel: 'push', template: 'living-room-plan' },
    {
      id: 'wait-order',
      type: 'waitFor',
      event: 'order_completed',
      timeoutMs: 72 * 3600_000,
      onEvent: 'done',
      onTimeout: 'remind-plan',
    },
    { id: 'remind-plan', type: 'send', channel: 'miniprogram', template: 'living-room-plan-reminder' },
    { id: 'done', type: 'exit' },
  ]);
});

it('dormant reactivation: a coupon by SMS and group-buy invite, a week to order, then a different email', () => {
  const journey = byId('dormant-reactivation');
  expect(journey.entry).toEqual({
    event: 'segment_entered',
    where: { property: 'segment', eq: 'dormant' },
    reentry: { mode: 'always' },
  });
  expect(journey.exit).toEqual([
    { event: 'order_completed' },
    { event: 'coupon_redeemed', where: { property: 'campaign', eq: 'dormant-reactivation' } },
  ]);
  expect(journey.steps.map((s) => [s.id, s.type, (s as SendStep).channel])).toEqual([
    ['exclusive-coupon', 'issueCoupon', undefined],
    ['offer-sms', 'send', 'sms'],
    ['group-buy-invite', 'send', 'wecom'],
    ['wait-order', 'waitFor', undefined],
    ['last-chance-email', 'send', 'email'],
    ['done', 'exit', undefined],
  ]);
  expect(journey.steps[0]).toEqual({
    id: 'exclusive-coupon',
    type: 'issueCoupon',
    campaign: 'dormant-reactivation',
    value: 50,
    currency: 'CNY',
    expiresInMs: 14 * 86_400_000,
  });
  expect(journey.steps[3]).toMatchObject({
    timeoutMs: 7 * 86_400_000,
    onEvent: 'done',
    onTimeout: 'last-chance-email',
  });
});

describe('the ten seed journeys (DESIGN.md)', () => {
  // What touchpoint.example.yaml configures, read the way start-up reads it: journey 9's
  // `supply-chain` webhook and `service-team` alerts must be among them.
  const targets = (() => {
    const vars = ['SUPPLY_CHAIN_TOKEN', 'WECOM_SERVICE_ROBOT_KEY', 'OPS_HOOK_TOKEN'];
    const saved = vars.map((v) => process.env[v]);
    vars.forEach((v) => (process.env[v] ??= 'example'));
    try {
      return integrationTargets(loadIntegrationsConfig(path.join(root, 'touchpoint.example.yaml')));
    } finally {
      vars.forEach((v, i) => (saved[i] === undefined ? delete process.env[v] : (process.env[v] = saved[i])));
    }
  })();
  const files = fs
    .readdirSync(path.join(root, 'journeys'))
    .filter((f) => JOURNEY_FILE.test(f))
    .sort();

  it('are all in journeys/', () => {
    expect(files).toEqual([
      'birthday-benefit.yaml',
      'browse-intent.yaml',
      'cross-channel-recognition.yaml',
      'dormant-reactivation.yaml',
      'event-registration.yaml',
      'high-value-invite.yaml',
      'lifecycle-aipl.yaml',
      'negative-review.yaml',
      'post-purchase-care.yaml',
      'pregnancy-care.yaml',
    ]);
    expect(targets.webhookTargets).toContain('supply-chain');
    expect(targets.notifyTargets).toContain('service-team');
  });

  it.each(files)('%s validates with no errors and no warnings (templates, targets, graph)', (name) => {
    const file = path.join(root, 'journeys', name);
    const result = checkJourney(fs.readFileSync(file, 'utf8'), file, {
      templates,
      ...targets,
      checkFileName: true,
    });
    expect({ issues: result.issues.map(formatIssue), warnings: result.warnings.map(formatIssue) }).toEqual({
      issues: [],
      warnings: [],
    });
    expect(result.journey?.id).toBe(name.replace(/\.yaml$/, ''));
  });

  it('use every shipped template, and only shipped ones', () => {
    const used = new Set<string>();
    for (const journey of journeys)
      for (const step of journey.steps) {
        if (step.type === 'send') used.add(`${step.channel}/${step.template}`);
        if (step.type === 'notify') used.add(`notify/${step.template}`);
      }
    const shipped = new Set(templates.list().map((t) => `${t.channel}/${t.name}`));
    expect([...used].sort()).toEqual([...shipped].sort());
  });
});

it('has every shipped template in zh-CN and en', () => {
  const names = new Set(templates.list().map((t) => `${t.channel}/${t.name}`));
  for (const name of names) {
    const [channel, template] = name.split('/') as ['sms', string];
    expect([name, templates.has(channel, template, 'zh-CN'), templates.has(channel, template, 'en')]).toEqual(
      [name, true, true],
    );
  }
});

describe('shipped templates render with typical values', () => {
  const dormant = byId('dormant-reactivation');
  const browse = byId('browse-intent');
  const context = (
    journey: typeof dormant,
    properties: Record<string, unknown>,
    traits: Record<string, unknown> = { name: '李娜' },
    coupons: Record<string, unknown> = {},
  ) =>
    buildRenderContext({
      customerId: 'c-1',
      traits,
      event: { event: (journey.entry as { event: string }).event, properties },
      journey,
      coupons,
    });
  // What the journey's issueCoupon step hands the later sends.
  const issued = {
    'exclusive-coupon': {
      code: 'QM8D-2KXA-7HTB',
      campaign: 'dormant-reactivation',
      value: 50,
      currency: 'CNY',
      expiresAt: '2026-05-15T02:00:00.000Z',
    },
  };

  it('dormant-offer SMS: short, with the issued coupon’s value and code and the opt-out', () => {
    const withCode = templates.render(
      'sms',
      'dormant-offer',
      'zh-CN',
      context(dormant, { segment: 'dormant' }, { name: '李娜' }, issued),
    );
    expect(withCode.body).toBe(
      '【栖木家居】李娜，好久不见！送您一张50元专属回归券，券码QM8D-2KXA-7HTB，14天内下单可用。退订回TD',
    );
    expect(withCode.body.length).toBeLessThan(70);
    const without = templates.render(
      'sms',
      'dormant-offer',
      'zh-CN',
      context(dormant, { segment: 'dormant' }, {}),
    );
    expect(without.body).toBe(
      '【栖木家居】好久不见！送您一张专属回归券，已放入您的账户，14天内下单可用。退订回TD',
    );
    const en = templates.render('sms', 'dormant-offer', 'en', context(dormant, {}, { name: 'Lina' }, issued));
    expect(en.body).toBe(
      "Qimu Home: Lina, we miss you! Here's an exclusive welcome-back coupon worth CNY 50: QM8D-2KXA-7HTB. Valid for 14 days. Reply TD to opt out",
    );
    expect(en.body.length).toBeLessThanOrEqual(160);
  });

  it('group-buy invite carries the link, or tells the customer where to start one', () => {
    const url = 'https://qimu.example.com/g/abc123';
    expect(
      templates.render('wecom', 'group-buy-invite', 'zh-CN', context(dormant, { groupBuyUrl: url })).body,
    ).toContain(url);
    expect(
      templates.render('wecom', 'group-buy-invite', 'en', context(dormant, { groupBuyUrl: url })).body,
    ).toContain(url);
    expect(templates.render('wecom', 'group-buy-invite', 'zh-CN', context(dormant, {})).body).toContain(
      '小程序',
    );
  });

  it('last-chance email: subject from front matter, HTML-escaped body', () => {
    const rendered = templates.render(
      'email',
      'dormant-last-chance',
      'zh-CN',
      context(dormant, {}, { name: 'Li <Na>' }, issued),
    );
    expect(rendered.subject).toBe('Li <Na>，为您留的回归礼遇即将结束');
    expect(rendered.body).toContain('Li &lt;Na&gt;，您好');
    expect(rendered.body).toContain('一张50元专属回归券（券码 <strong>QM8D-2KXA-7HTB</strong>）');
    expect(rendered.body).toContain('utm_campaign=dormant-reactivation');
    const en = templates.render('email', 'dormant-last-chance', 'en', context(dormant, {}, {}));
    expect(en.subject).toBe('Your welcome-back offer ends soon');
    expect(en.body).toContain('an exclusive welcome-back coupon for you, and it expires soon');
    expect(en.body).not.toContain('code <strong>');
    const enWithCode = templates.render(
      'email',
      'dormant-last-chance',
      'en',
      context(dormant, {}, {}, issued),
    );
    expect(enWithCode.body).toContain('worth CNY 50 (code <strong>QM8D-2KXA-7HTB</strong>)');
    const zhWithout = templates.render('email', 'dormant-last-chance', 'zh-CN', context(dormant, {}, {}));
    expect(zhWithout.body).toContain('上周我们为您准备了一张专属回归券，它很快就要到期了。');
  });

  it('living-room plan push names the viewed content; the reminder falls back without it', () => {
    const push = templates.render(
      'push',
      'living-room-plan',
      'zh-CN',
      context(browse, { title: '奶油风客厅这样搭' }),
    );
    expect(push).toEqual({
      subject: '李娜，你的客厅搭配方案已备好',
      body: expect.stringMatching(/^刚看了「奶油风客厅这样搭」？/),
      locale: 'zh-CN',
    });
    const en = templates.render(
      'push',
      'living-room-plan',
      'en-GB',
      context(browse, { title: 'Cream-style living rooms' }, { name: 'Lina' }),
    );
    expect(en.subject).toBe('Lina, your living-room plan is ready');
    expect(en.body).toMatch(/^Loved "Cream-style living rooms"\?/);
    const reminder = templates.render(
      'miniprogram',
      'living-room-plan-reminder',
      'zh-CN',
      context(browse, {}, {}),
    );
    // Subscription-message fields, one per line, each within WeChat's 20-character `thing` limit.
    expect(reminder.body.split('\n')).toEqual([
      'thing1: 客厅搭配方案还为你保留着',
      'thing2: 本周下单免费送货安装',
      'thing3: 进入小程序一键加购整套',
    ]);
    const titled = templates.render(
      'miniprogram',
      'living-room-plan-reminder',
      'zh-CN',
      context(browse, { title: '奶油风客厅这样搭' }, {}),
    );
    expect(titled.body).toContain('thing2: 灵感来自「奶油风客厅这样搭」');
  });
});
