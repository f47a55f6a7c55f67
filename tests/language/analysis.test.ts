import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkMigration, reachableFrom, stepEdges } from '../../language/analysis';
import type { Journey } from '../../language/types';
import { loadTemplates } from '../../messages/templates';
import { check, compile, fakeCatalog, journey, pointed, warnings } from './support';

describe('unreachable steps', () => {
  it('are warnings, and the journey still loads', () => {
    const lines = journey([
      '  - { id: a, type: wait, duration: 1h, next: c }',
      '  - { id: b, type: wait, duration: 1h }', // line 7: nothing leads here
      '  - { id: c, type: exit }',
      '  - { id: d, type: wait, duration: 1h, next: b }', // line 9: only reachable from itself
    ]);
    const result = check(lines);
    expect(result.journey).toBeDefined();
    expect(result.issues).toEqual([]);
    expect(warnings(lines)).toEqual([
      '7:5 [b] steps[1]: step `b` is never reached: no step leads to it (point a `next`, branch `goto` or other step reference at it, or remove it)',
      '9:5 [d] steps[3]: step `d` is never reached: no step leads to it (point a `next`, branch `goto` or other step reference at it, or remove it)',
    ]);
  });

  it('follows every kind of edge: branches, waitFor outcomes, split arms, onMissing, onFailure, goto', () => {
    const lines = journey([
      '  - id: br',
      '    type: branch',
      '    branches: [{ when: { tag: vip }, goto: wf }]',
      '    else: ab',
      '  - { id: wf, type: waitFor, event: e, timeout: 1d, onEvent: w, onTimeout: end }',
      '  - id: ab',
      '    type: split',
      '    arms: [{ name: A, percent: 50, goto: wh }, { name: B, percent: 50, goto: end }]',
      '  - { id: w, type: wait, until: { trait: dueDate }, onMissing: n, next: end }',
      '  - { id: n, type: notify, target: ops, template: t, next: end }',
      '  - { id: wh, type: webhook, url: "https://x.example", onFailure: g, next: end }',
      '  - { id: g, type: goto, to: br, maxIterations: 2, next: after-loop }',
      '  - { id: after-loop, type: exit }',
      '  - { id: end, type: exit }',
    ]);
    expect(check(lines).issues).toEqual([]);
    expect(check(lines).warnings).toEqual([]);
    const j = compile(lines);
    expect(stepEdges(j, 0).map((e) => e.to)).toEqual(['wf', 'ab']);
    expect(stepEdges(j, 3).map((e) => [e.to, e.path.join('.')])).toEqual([
      ['end', 'steps.3.next'],
      ['n', 'steps.3.onMissing'],
    ]);
    expect(stepEdges(j, 6).map((e) => [e.to, e.guarded ?? false])).toEqual([
      ['br', true],
      ['after-loop', false],
    ]);
    expect(stepEdges(j, 8)).toEqual([]);
    expect([...reachableFrom(j, 'wh')].sort()).toEqual([
      'ab',
      'after-loop',
      'br',
      'end',
      'g',
      'n',
      'w',
      'wf',
      'wh',
    ]);
  });

  it('an implicit next off the last step ends the journey', () => {
    const j = compile(journey(['  - { id: a, type: wait, duration: 1h }']));
    expect(stepEdges(j, 0)).toEqual([{ to: undefined, path: ['steps', 0] }]);
  });
});

describe('loops without a goto guard', () => {
  it('are errors at the reference that closes the loop', () => {
    expect(
      pointed(
        journey([
          '  - { id: remind, type: send, channel: sms, template: t }',
          '  - { id: wait-order, type: waitFor, event: order, timeout: 7d, onEvent: done, onTimeout: remind }',
          '  - { id: done, type: exit }',
        ]),
      ),
    ).toEqual([
      '7:onTimeout [wait-order] steps[1].onTimeout: steps `remind` → `wait-order` form a loop without a `goto` guard: a customer could go round it forever (loop back through a `goto` step with `maxIterations` (e.g. `{ id: again, type: goto, to: remind, maxIterations: 10 }`))',
    ]);
  });

  it('finds loops through branches, splits and implicit next, each once', () => {
    expect(
      pointed(
        journey([
          '  - { id: a, type: wait, duration: 1d }',
          '  - id: b',
          '    type: branch',
          '    branches: [{ when: { tag: x }, goto: a }]', // line 9: closes a → b
          '  - { id: c, type: wait, duration: 1d }',
          '  - id: d',
          '    type: split',
          '    arms: [{ name: A, percent: 50, goto: c }, { name: B, percent: 50, goto: e }]', // line 13
          '  - { id: e, type: exit }',
        ]),
      ).map((issue) => issue.replace(/ \(loop back.*$/, '')),
    ).toEqual([
      '9:goto [b] steps[1].branches[0].goto: steps `a` → `b` form a loop without a `goto` guard: a customer could go round it forever',
      '13:goto [d] steps[3].arms[0].goto: steps `c` → `d` form a loop without a `goto` guard: a customer could go round it forever',
    ]);
  });

  it('a step that goes to itself is a loop', () => {
    expect(pointed(journey(['  - { id: a, type: wait, duration: 1d, next: a }']))).toEqual([
      '6:next [a] steps[0].next: steps `a` form a loop without a `goto` guard: a customer could go round it forever (loop back through a `goto` step with `maxIterations` (e.g. `{ id: again, type: goto, to: a, maxIterations: 10 }`))',
    ]);
  });

  it('a loop through a goto jump is guarded; one through its `next` is not', () => {
    const guarded = journey([
      '  - { id: weekly, type: wait, until: { weekday: mon, time: "10:00" } }',
      '  - { id: content, type: send, channel: miniprogram, template: t }',
      '  - { id: again, type: goto, to: weekly, maxIterations: 40 }',
      '  - { id: done, type: exit }',
    ]);
    expect(check(guarded).issues).toEqual([]);
    const leaky = journey([
      '  - { id: weekly, type: wait, duration: 7d }',
      '  - { id: again, type: goto, to: weekly, maxIterations: 40, next: weekly }',
    ]);
    expect(pointed(leaky).map((i) => i.replace(/ \(loop back.*$/, ''))).toEqual([
      '7:next [again] steps[1].next: steps `weekly` → `again` form a loop without a `goto` guard: a customer could go round it forever',
    ]);
  });
});

describe('template variables', () => {
  const header = ['entry: { event: x }', 'defaultLocale: zh-CN'];
  const both = (kind: string, name: string, vars: string[]) => ({
    [`${kind}/${name}/zh-CN`]: vars,
    [`${kind}/${name}/en`]: vars,
  });

  it('accepts what the render context provides', () => {
    const templates = fakeCatalog({
      ...both('sms', 'hello', [
        'customer.name',
        'traits.tier',
        'event.title',
        'journey.id',
        'journey.version',
        'timezone',
        'locale',
        'coupons',
      ]),
      ...both('email', 'mail', ['unsubscribeUrl', 'customer.email']),
    });
    const lines = journey(
      [
        '  - { id: s, type: send, channel: sms, template: hello }',
        '  - { id: m, type: send, channel: email, template: mail }',
      ],
      header,
    );
    expect(check(lines, { templates }).issues).toEqual([]);
  });

  it('reports unknown roots and fields with a hint, once for all locales', () => {
    const templates = fakeCatalog({
      ...both('sms', 'hello', ['custmer.name', 'journey.title', 'coupon.cdoe?']),
    });
    const lines = journey(
      [
        '  - { id: c, type: issueCoupon, campaign: x, value: 5, expiresIn: 7d }',
        '  - { id: s, type: send, channel: sms, template: hello }', // line 7
      ],
      header,
    );
    expect(pointed(lines, { templates })).toEqual([
      '7:template [s] steps[1].template: template `hello` (sms, zh-CN, en) uses `{{custmer.name}}`, but a template has no `custmer` (did you mean `customer`?)',
      '7:template [s] steps[1].template: template `hello` (sms, zh-CN, en) uses `{{journey.title}}`, but `journey` has only id, name and version (expected one of `id`, `name`, `version`)',
      '7:template [s] steps[1].template: template `hello` (sms, zh-CN, en) uses `{{coupon.cdoe}}`, but a coupon has no `cdoe` (did you mean `code`?)',
    ]);
  });

  it('coupon needs an issueCoupon step that can run before the send, unless the template guards it', () => {
    const templates = fakeCatalog({
      ...both('sms', 'offer', ['coupon.code']),
      ...both('sms', 'safe', ['coupon.code?']),
    });
    const before = journey(
      [
        '  - { id: c, type: issueCoupon, campaign: x, value: 5, expiresIn: 7d }',
        '  - { id: s, type: send, channel: sms, template: offer }',
      ],
      header,
    );
    expect(check(before, { templates }).issues).toEqual([]);
    const after = journey(
      [
        '  - { id: s, type: send, channel: sms, template: offer }',
        '  - { id: c, type: issueCoupon, campaign: x, value: 5, expiresIn: 7d }',
      ],
      header,
    );
    expect(pointed(after, { templates })).toEqual([
      '6:template [s] steps[0].template: template `offer` (sms, zh-CN, en) uses `{{coupon.code}}`, but no `issueCoupon` step runs before this step (add an `issueCoupon` step before it, or wrap the text in `{{#if coupon}}…{{/if}}`)',
    ]);
    const guarded = journey(['  - { id: s, type: send, channel: sms, template: safe }'], header);
    expect(check(guarded, { templates }).issues).toEqual([]);
    // On some path is enough: a branch that skips the coupon leaves it to the template to guard.
    const somePath = journey(
      [
        '  - id: b',
        '    type: branch',
        '    branches: [{ when: { tag: vip }, goto: s }]',
        '  - { id: c, type: issueCoupon, campaign: x, value: 5, expiresIn: 7d }',
        '  - { id: s, type: send, channel: sms, template: offer }',
      ],
      header,
    );
    expect(check(somePath, { templates }).issues).toEqual([]);
  });

  it('coupons.<id> must name an issueCoupon step that runs before the send', () => {
    const templates = fakeCatalog({
      ...both('sms', 'by-id', ['coupons.welcome.code']),
      ...both('sms', 'typo', ['coupons.welcom.code']),
      ...both('sms', 'field', ['coupons.welcome.amount?']),
    });
    const lines = (template: string, couponFirst = true) =>
      journey(
        couponFirst
          ? [
              '  - { id: welcome, type: issueCoupon, campaign: x, value: 5, expiresIn: 7d }',
              `  - { id: s, type: send, channel: sms, template: ${template} }`,
            ]
          : [
              `  - { id: s, type: send, channel: sms, template: ${template} }`,
              '  - { id: welcome, type: issueCoupon, campaign: x, value: 5, expiresIn: 7d }',
            ],
        header,
      );
    expect(check(lines('by-id'), { templates }).issues).toEqual([]);
    expect(pointed(lines('typo'), { templates })).toEqual([
      '7:template [s] steps[1].template: template `typo` (sms, zh-CN, en) uses `{{coupons.welcom.code}}`, but no `issueCoupon` step has the id `welcom` (did you mean `welcome`?)',
    ]);
    expect(pointed(lines('field'), { templates })).toEqual([
      '7:template [s] steps[1].template: template `field` (sms, zh-CN, en) uses `{{coupons.welcome.amount}}`, but a coupon has no `amount` (expected one of `code`, `campaign`, `value`, `currency`, `expiresAt`)',
    ]);
    expect(pointed(lines('by-id', false), { templates })).toEqual([
      '6:template [s] steps[0].template: template `by-id` (sms, zh-CN, en) uses `{{coupons.welcome.code}}`, but step `welcome` does not run before this step (move `welcome` before it, or wrap the text in `{{#if coupons.welcome}}…{{/if}}`)',
    ]);
  });

  it('unsubscribeUrl only in marketing email, unless guarded', () => {
    const templates = fakeCatalog({
      ...both('email', 'news', ['unsubscribeUrl']),
      ...both('sms', 'news', ['unsubscribeUrl']),
      ...both('sms', 'guarded', ['unsubscribeUrl?']),
    });
    const lines = (step: string) => journey([step], header);
    expect(
      check(lines('  - { id: s, type: send, channel: email, template: news }'), { templates }).issues,
    ).toEqual([]);
    expect(
      pointed(lines('  - { id: s, type: send, channel: email, template: news, transactional: true }'), {
        templates,
      }),
    ).toEqual([
      '6:template [s] steps[0].template: template `news` (email, zh-CN, en) uses `{{unsubscribeUrl}}`, which only marketing emails have (wrap it in `{{#if unsubscribeUrl}}…{{/if}}`)',
    ]);
    expect(
      pointed(lines('  - { id: s, type: send, channel: sms, template: news }'), { templates }),
    ).toHaveLength(1);
    expect(
      check(lines('  - { id: s, type: send, channel: sms, template: guarded }'), { templates }).issues,
    ).toEqual([]);
  });

  it('checks the locales a step asks for, naming only those with the problem', () => {
    const templates = fakeCatalog({
      'sms/hello/zh-CN': ['customer.name'],
      'sms/hello/en': ['customer.name'],
      'sms/hello/ja': ['custom.name'],
    });
    expect(
      pointed(journey(['  - { id: s, type: send, channel: sms, template: hello, locale: ja }'], header), {
        templates,
      }),
    ).toEqual([
      '6:template [s] steps[0].template: template `hello` (sms, ja) uses `{{custom.name}}`, but a template has no `custom` (did you mean `customer`?)',
    ]);
  });

  it('notify templates: must exist in the default locale and en, and are checked the same way', () => {
    const templates = fakeCatalog({
      'notify/alert/zh-CN': ['customer.id', 'event.review', 'coupon.code'],
    });
    expect(
      pointed(journey(['  - { id: n, type: notify, target: ops, template: alert }'], header), { templates }),
    ).toEqual([
      "6:template [n] steps[0].template: template `alert` for notify has no en version: expected templates/notify/alert.en.hbs (every template needs the journey's default locale (zh-CN) and `en`)",
      '6:template [n] steps[0].template: template `alert` (notify, zh-CN) uses `{{coupon.code}}`, but no `issueCoupon` step runs before this step (add an `issueCoupon` step before it, or wrap the text in `{{#if coupon}}…{{/if}}`)',
    ]);
  });

  it('works with the real template store and the shipped templates', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchpoint-analysis-'));
    try {
      fs.mkdirSync(path.join(dir, 'sms'));
      fs.mkdirSync(path.join(dir, 'notify'));
      for (const locale of ['zh-CN', 'en']) {
        fs.writeFileSync(path.join(dir, 'sms', `code.${locale}.hbs`), '{{customer.name}} {{coupon.code}}');
        fs.writeFileSync(path.join(dir, 'notify', `alert.${locale}.hbs`), '{{customer.id}} {{event.reveiw}}');
      }
      const templates = loadTemplates(dir);
      const lines = journey(
        [
          '  - { id: s, type: send, channel: sms, template: code }',
          '  - { id: n, type: notify, target: ops, template: alert }',
        ],
        header,
      );
      expect(pointed(lines, { templates })).toEqual([
        '6:template [s] steps[0].template: template `code` (sms, zh-CN, en) uses `{{coupon.code}}`, but no `issueCoupon` step runs before this step (add an `issueCoupon` step before it, or wrap the text in `{{#if coupon}}…{{/if}}`)',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('webhook and notify targets', () => {
  const lines = journey([
    '  - { id: wh, type: webhook, target: supply-chian }',
    '  - { id: raw, type: webhook, url: "https://x.example/hook" }',
    '  - { id: n, type: notify, target: service-team, template: t }',
  ]);

  it('are checked when the config file’s names are given', () => {
    expect(pointed(lines, { webhookTargets: ['supply-chain'], notifyTargets: [] })).toEqual([
      "6:target [wh] steps[0].target: no webhook target `supply-chian` in the config file's `webhooks:` section (did you mean `supply-chain`?)",
      "8:target [n] steps[2].target: no notify target `service-team` in the config file's `notify:` section (add it under `notify:` in the config file)",
    ]);
    expect(
      check(lines, { webhookTargets: ['supply-chian'], notifyTargets: ['service-team'] }).issues,
    ).toEqual([]);
  });

  it('are not checked otherwise', () => {
    expect(check(lines).issues).toEqual([]);
  });
});

describe('checkMigration', () => {
  const v = (version: number, ...ids: string[]): Journey => ({
    id: 'j',
    name: 'J',
    version,
    defaultLocale: 'zh-CN',
    entry: { event: 'x', reentry: { mode: 'always' } },
    exit: [],
    steps: ids.map((id) => ({ id, type: 'wait', durationMs: 1000 })),
  });

  it('same-id steps map to themselves; removed steps must be mapped', () => {
    const from = v(1, 'a', 'b', 'c');
    expect(checkMigration(from, v(2, 'a', 'b', 'c', 'd'), {})).toEqual([]);
    expect(checkMigration(from, v(2, 'a', 'c2'), { b: 'a', c: 'c2' })).toEqual([]);
    expect(checkMigration(from, v(2, 'a', 'c2'), { b: 'a' })).toEqual([
      {
        path: 'mapping.c',
        message: 'step `c` of version 1 is not in version 2: map it to a step of version 2',
      },
    ]);
    // A kept step may still be moved elsewhere.
    expect(checkMigration(from, v(2, 'a', 'b', 'c'), { a: 'c' })).toEqual([]);
  });

  it('mapping keys must be steps of the old version and values steps of the new one', () => {
    expect(
      checkMigration(v(1, 'wait-order', 'b'), v(2, 'wait-order', 'b2'), { wiat: 'b2', b: 'b3' }),
    ).toEqual([
      { path: 'mapping.wiat', message: 'version 1 has no step `wiat` (expected one of `wait-order`, `b`)' },
      { path: 'mapping.b', message: 'version 2 has no step `b3` (did you mean `b2`?)' },
    ]);
  });

  it('both versions must be of the same journey', () => {
    const other = { ...v(2, 'a'), id: 'k' };
    expect(checkMigration(v(1, 'a'), other, {})).toEqual([
      { path: 'to', message: 'versions of different journeys (`j`, `k`)' },
    ]);
  });
});
