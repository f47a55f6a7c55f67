import { compile, journey, pointed } from './support';

const DONE = '  - { id: done, type: exit }';
/** Compiles the given steps (plus a final `done` exit) and returns the first step. */
const first = (...steps: string[]) => compile(journey([...steps, DONE])).steps[0];
/** The issues of the given steps (from line 6) plus a final `done` exit. */
const errors = (...steps: string[]) => pointed(journey([...steps, DONE]));

describe('wait', () => {
  it('a duration, as before', () => {
    expect(first('  - { id: w, type: wait, duration: 2h }')).toEqual({
      id: 'w',
      type: 'wait',
      durationMs: 7_200_000,
    });
  });

  it('until a time of day, a weekday (one or a list), a date from a trait, a fixed moment', () => {
    expect(first('  - { id: w, type: wait, until: { time: "09:00" } }')).toEqual({
      id: 'w',
      type: 'wait',
      until: { time: '09:00' },
    });
    expect(first('  - { id: w, type: wait, until: { weekday: mon, time: "10:00" } }')).toMatchObject({
      until: { weekday: ['mon'], time: '10:00' },
    });
    expect(first('  - { id: w, type: wait, until: { weekday: [Monday, THU, mon] } }')).toMatchObject({
      until: { weekday: ['mon', 'thu'] },
    });
    expect(
      first(
        '  - { id: w, type: wait, until: { trait: dueDate, offset: -30d, time: "10:00" }, onMissing: done }',
      ),
    ).toEqual({
      id: 'w',
      type: 'wait',
      until: { trait: 'dueDate', offsetMs: -30 * 86_400_000, time: '10:00' },
      onMissing: 'done',
    });
    expect(first('  - { id: w, type: wait, until: { trait: dueDate, offset: +1d12h } }')).toMatchObject({
      until: { trait: 'dueDate', offsetMs: 36 * 3_600_000 },
    });
    expect(first('  - { id: w, type: wait, until: { trait: dueDate, offset: 0d } }')).toEqual({
      id: 'w',
      type: 'wait',
      until: { trait: 'dueDate' },
    });
    expect(first('  - { id: w, type: wait, until: { at: "2026-12-01T10:00:00+08:00" } }')).toMatchObject({
      until: { at: '2026-12-01T10:00:00+08:00' },
    });
    expect(first('  - { id: w, type: wait, until: { at: "2026-12-01", time: "10:00" } }')).toMatchObject({
      until: { at: '2026-12-01', time: '10:00' },
    });
  });

  it('reports wrong combinations at their keys', () => {
    expect(errors('  - { id: w, type: wait, duration: 2h, until: { time: "09:00" } }')).toEqual([
      '6:until [w] steps[0].until: needs exactly one of `duration` or `until` (e.g. `duration: 2h`, or `until: { time: "09:00" }`)',
    ]);
    expect(errors('  - { id: w, type: wait }')).toEqual([
      '6:{ [w] steps[0].duration: needs exactly one of `duration` or `until` (e.g. `duration: 2h`, or `until: { time: "09:00" }`)',
    ]);
    expect(errors('  - { id: w, type: wait, until: {} }')).toEqual([
      '6:until [w] steps[0].until: needs `at`, `trait`, `weekday` or `time` (e.g. `{ time: "09:00" }` or `{ trait: dueDate, offset: -30d }`)',
    ]);
    expect(errors('  - { id: w, type: wait, until: { trait: dueDate, weekday: mon } }')).toEqual([
      '6:weekday [w] steps[0].until.weekday: use one of `at`, `trait` and `weekday`, not `trait` and `weekday`',
    ]);
    expect(errors('  - { id: w, type: wait, until: { time: "10:00", offset: -1d } }')).toEqual([
      '6:offset [w] steps[0].until.offset: `offset` moves the date of a trait: use it with `trait:` (e.g. `{ trait: dueDate, offset: -30d }`)',
    ]);
    expect(
      errors('  - { id: w, type: wait, until: { at: "2026-12-01T10:00:00+08:00", time: "10:00" } }'),
    ).toEqual([
      '6:time [w] steps[0].until.time: `at` already has a time of day (give `at` as a date (`2026-12-01`) to use `time:`)',
    ]);
    expect(errors('  - { id: w, type: wait, duration: 1h, onMissing: done }')).toEqual([
      '6:onMissing [w] steps[0].onMissing: `onMissing` is where to go when `until.trait` is missing: it needs `until: { trait: … }`',
    ]);
  });

  it('reports bad values inside `until` with hints', () => {
    expect(errors('  - { id: w, type: wait, until: { time: "9:00" } }')).toEqual([
      '6:time [w] steps[0].until.time: must be a time of day such as `21:00`',
    ]);
    expect(errors('  - { id: w, type: wait, until: { weekday: [mon, fry] } }')).toEqual([
      '6:fry [w] steps[0].until.weekday[1]: "fry" is not one of `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun` (did you mean `fri`?)',
    ]);
    expect(errors('  - { id: w, type: wait, until: { weekday: [] } }')).toEqual([
      '6:weekday [w] steps[0].until.weekday: must list at least one day',
    ]);
    expect(errors('  - { id: w, type: wait, until: { trait: dueDate, offset: 30 } }')).toEqual([
      '6:offset [w] steps[0].until.offset: 30 has no unit (write a signed duration such as `-30d` or `+7d`)',
    ]);
    expect(errors('  - { id: w, type: wait, until: { trait: dueDate, offset: -1M } }')[0]).toMatch(
      /until.offset: "1M" is not a duration/,
    );
    expect(errors('  - { id: w, type: wait, until: { at: "2026-12-01T10:00:00" } }')).toEqual([
      '6:at [w] steps[0].until.at: must be an ISO-8601 date (`2026-12-01`, with `time:` for a time of day in the customer’s zone) or a date-time with offset (`2026-12-01T10:00:00+08:00`)',
    ]);
    expect(errors('  - { id: w, type: wait, until: { at: "2026-02-30" } }')[0]).toMatch(
      /until.at: must be an ISO-8601 date/,
    );
    expect(errors('  - { id: w, type: wait, until: { tiem: "09:00" } }')).toEqual(
      [
        '6:until [w] steps[0].until: needs `at`, `trait`, `weekday` or `time` (e.g. `{ time: "09:00" }` or `{ trait: dueDate, offset: -30d }`)',
        '6:tiem [w] steps[0].until.tiem: unknown key `tiem` (did you mean `time`?)',
      ].slice(1),
    );
  });
});

describe('split', () => {
  it('compiles arms with names, percents and targets', () => {
    const steps = compile(
      journey([
        '  - id: ab',
        '    type: split',
        '    arms:',
        '      - { name: A, percent: 30, goto: a }',
        '      - { name: control, percent: 70, goto: done }',
        '  - { id: a, type: exit }',
        DONE,
      ]),
    ).steps;
    expect(steps[0]).toEqual({
      id: 'ab',
      type: 'split',
      arms: [
        { name: 'A', percent: 30, goto: 'a' },
        { name: 'control', percent: 70, goto: 'done' },
      ],
    });
  });

  it('percents must add up to 100 and names must differ', () => {
    expect(
      errors(
        '  - id: ab',
        '    type: split',
        '    arms:',
        '      - { name: A, percent: 50, goto: done }',
        '      - { name: B, percent: 40, goto: done }',
      ),
    ).toEqual([
      "8:arms [ab] steps[0].arms: the arms' percents add up to 90, not 100 (e.g. `percent: 50` on each of two arms)",
    ]);
    expect(
      errors(
        '  - id: ab',
        '    type: split',
        '    arms:',
        '      - { name: A, percent: 50, goto: done }',
        '      - { name: A, percent: 50, goto: done }',
      ),
    ).toEqual([
      '10:name [ab] steps[0].arms[1].name: arm name `A` is used twice (each arm is counted under its name, so names must differ)',
    ]);
    expect(
      errors('  - id: ab', '    type: split', '    arms:', '      - { name: A, percent: 100, goto: done }'),
    ).toEqual(['8:arms [ab] steps[0].arms: must list at least two arms']);
    expect(
      errors(
        '  - id: ab',
        '    type: split',
        '    arms:',
        '      - { name: A, percent: 50.5, goto: done }',
        '      - { name: "B c", percent: 49.5, goto: done }',
      ),
    ).toEqual([
      '9:percent [ab] steps[0].arms[0].percent: must be a whole number, got 50.5',
      '10:name [ab] steps[0].arms[1].name: must be a short name: letters, digits, `-`, `_` (e.g. `A`, `control`, `coupon-50`)',
      '10:percent [ab] steps[0].arms[1].percent: must be a whole number, got 49.5',
    ]);
  });

  it('arm targets must exist, and a split has no `next`', () => {
    expect(
      errors(
        '  - id: ab',
        '    type: split',
        '    next: done',
        '    arms:',
        '      - { name: A, percent: 50, goto: dne }',
        '      - { name: B, percent: 50, goto: done }',
      ),
    ).toEqual([
      '8:next [ab] steps[0].next: a split always goes to one of its arms, so `next` would never be used (remove `next`; each arm says where it goes with `goto`)',
      '10:goto [ab] steps[0].arms[0].goto: no step has the id `dne` (did you mean `done`?)',
    ]);
  });
});

describe('tag, untag, setTrait', () => {
  it('compile as written', () => {
    const steps = compile(
      journey([
        '  - { id: t, type: tag, tags: [pregnant, 孕妈] }',
        '  - { id: u, type: untag, tags: [newborn] }',
        '  - id: s',
        '    type: setTrait',
        '    traits:',
        '      stage: newborn',
        '      stageSince: { now: "" }',
        '      followUpAt: { now: "+7d" }',
        '      sinceYesterday: { now: }',
        '      lastSize: { property: size }',
        '      copied: { trait: address.city }',
        '      visits: 3',
        '      vip: true',
        '      sizes: [S, M, 3]',
        DONE,
      ]),
    ).steps;
    expect(steps.slice(0, 3)).toEqual([
      { id: 't', type: 'tag', tags: ['pregnant', '孕妈'] },
      { id: 'u', type: 'untag', tags: ['newborn'] },
      {
        id: 's',
        type: 'setTrait',
        traits: {
          stage: 'newborn',
          stageSince: { now: '' },
          followUpAt: { now: '+7d' },
          sinceYesterday: { now: '' },
          lastSize: { property: 'size' },
          copied: { trait: 'address.city' },
          visits: 3,
          vip: true,
          sizes: ['S', 'M', 3],
        },
      },
    ]);
  });

  it('reports empty tag lists, bad tags and bad values', () => {
    expect(errors('  - { id: t, type: tag, tags: [] }')).toEqual([
      '6:tags [t] steps[0].tags: must list at least one tag',
    ]);
    expect(errors('  - { id: t, type: untag, tags: [" vip"] }')).toEqual([
      '6:" vip" [t] steps[0].tags[0]: must not start or end with spaces',
    ]);
    expect(errors('  - { id: t, type: tag, tag: [vip] }')).toEqual([
      '6:{ [t] steps[0].tags: is required',
      '6:tag [t] steps[0].tag: unknown key `tag` (did you mean `tags`?)',
    ]);
    const set = (value: string) =>
      errors('  - id: s', '    type: setTrait', '    traits:', `      x: ${value}`);
    expect(set('{ trat: a }')).toEqual([
      '9:trat [s] steps[0].traits.x.trat: unknown key `trat` (did you mean `trait`?)',
    ]);
    expect(set('{ trait: a, property: b }')).toEqual([
      '9:x [s] steps[0].traits.x: mixes `trait`, `property` (a value is text, a number, `true`/`false`, a list, or one of `{ trait: x }`, `{ property: x }`, `{ now: "" }`, `{ now: "+7d" }`)',
    ]);
    expect(set('{ now: "7d" }')).toEqual([
      '9:now [s] steps[0].traits.x.now: "7d" needs a sign: `+7d` or `-7d`',
    ]);
    expect(set('{ now: "-7 days" }')[0]).toMatch(/traits.x.now: "7 days" is not a duration/);
    expect(set('')).toEqual([
      '9:x [s] steps[0].traits.x: is empty: a value is needed (a value is text, a number, `true`/`false`, a list, or one of `{ trait: x }`, `{ property: x }`, `{ now: "" }`, `{ now: "+7d" }`)',
    ]);
    expect(set('[a, { b: 1 }]')).toEqual([
      '9:{ [s] steps[0].traits.x[1]: a list holds only text, numbers and `true`/`false`',
    ]);
    expect(set('{ property: "__proto__.x" }')).toEqual([
      '9:property [s] steps[0].traits.x.property: must be a dotted path of non-empty names, none of them __proto__, constructor, prototype',
    ]);
    expect(errors('  - id: s', '    type: setTrait', '    traits: { tags: [a], "a.b": 1 }')).toEqual([
      '8:tags [s] steps[0].traits.tags: tags are set with `tag` / `untag` steps, not as a trait',
      '8:"a.b" [s] steps[0].traits.a.b: `a.b` is not a trait name: letters, digits, `_` and `-`, starting with a letter',
    ]);
    expect(errors('  - { id: s, type: setTrait, traits: {} }')).toEqual([
      '6:traits [s] steps[0].traits: must set at least one trait',
    ]);
  });
});

describe('webhook, notify, goto', () => {
  it('compile with defaults (5 attempts)', () => {
    const steps = compile(
      journey([
        '  - id: wh',
        '    type: webhook',
        '    target: supply-chain',
        '    body: { sku: { property: sku }, level: high, at: { now: "" } }',
        '    onFailure: alert',
        '  - { id: raw, type: webhook, url: "https://example.com/hook?x=1", attempts: 2 }',
        '  - { id: alert, type: notify, target: service-team, template: complaint-alert }',
        '  - { id: again, type: goto, to: wh, maxIterations: 3 }',
        DONE,
      ]),
    ).steps;
    expect(steps.slice(0, 4)).toEqual([
      {
        id: 'wh',
        type: 'webhook',
        target: 'supply-chain',
        body: { sku: { property: 'sku' }, level: 'high', at: { now: '' } },
        attempts: 5,
        onFailure: 'alert',
      },
      { id: 'raw', type: 'webhook', url: 'https://example.com/hook?x=1', attempts: 2 },
      { id: 'alert', type: 'notify', target: 'service-team', template: 'complaint-alert' },
      { id: 'again', type: 'goto', to: 'wh', maxIterations: 3 },
    ]);
  });

  it('reports a webhook with both or neither of target and url, bad urls and attempts', () => {
    expect(errors('  - { id: wh, type: webhook }')).toEqual([
      '6:{ [wh] steps[0].target: needs exactly one of `target` or `url` (name a webhook of the config file (`target: supply-chain`) or give `url: https://…`)',
    ]);
    expect(errors('  - { id: wh, type: webhook, target: a, url: "https://x.example" }')).toEqual([
      '6:url [wh] steps[0].url: needs exactly one of `target` or `url` (name a webhook of the config file (`target: supply-chain`) or give `url: https://…`)',
    ]);
    expect(errors('  - { id: wh, type: webhook, url: "ftp://x.example" }')).toEqual([
      '6:url [wh] steps[0].url: must be an http:// or https:// URL',
    ]);
    expect(errors('  - { id: wh, type: webhook, target: a, attempts: 0 }')).toEqual([
      '6:attempts [wh] steps[0].attempts: must be at least 1',
    ]);
    expect(errors('  - { id: wh, type: webhook, target: a, attempts: 50 }')).toEqual([
      '6:attempts [wh] steps[0].attempts: must be at most 20',
    ]);
    expect(errors('  - { id: wh, type: webhook, target: a, onFailure: nowhere }')).toEqual([
      '6:onFailure [wh] steps[0].onFailure: no step has the id `nowhere` (expected one of `wh`, `done`)',
    ]);
  });

  it('reports notify and goto mistakes', () => {
    expect(errors('  - { id: n, type: notify, target: Ops, template: a }')).toEqual([
      '6:target [n] steps[0].target: must be a name from the config file: a-z, 0-9, `-`, `_` (e.g. `supply-chain`)',
    ]);
    expect(errors('  - { id: n, type: notify, target: ops }')).toEqual([
      '6:{ [n] steps[0].template: is required',
    ]);
    expect(errors('  - { id: g, type: goto, to: done, maxIterations: 0 }')).toEqual([
      '6:maxIterations [g] steps[0].maxIterations: must be at least 1',
    ]);
    expect(errors('  - { id: g, type: goto, to: done }')).toEqual([
      '6:{ [g] steps[0].maxIterations: is required',
    ]);
    expect(errors('  - { id: g, type: goto, to: dne, maxIterations: 2 }')).toEqual([
      '6:to [g] steps[0].to: no step has the id `dne` (did you mean `done`?)',
    ]);
    expect(errors('  - { id: g, type: goto, to: g, maxIterations: 2 }')).toEqual([
      '6:to [g] steps[0].to: a goto step cannot jump to itself (jump to the first step of the part to repeat)',
    ]);
    expect(errors('  - { id: g, type: gotoo }')).toEqual([
      '6:type [g] steps[0].type: unknown step type `gotoo` (did you mean `goto`?)',
    ]);
  });
});

describe('send, issueCoupon, waitFor, branch: unchanged', () => {
  it('still compile as in v1', () => {
    const steps = compile(
      journey([
        '  - { id: s1, type: send, channel: sms, template: x, transactional: true, topic: marketing, quietHours: skip }',
        '  - { id: c1, type: issueCoupon, campaign: x, value: 50, expiresIn: 14d }',
        '  - { id: wf, type: waitFor, event: order_completed, timeout: 7d, onEvent: done }',
        DONE,
      ]),
    ).steps;
    expect(steps.slice(0, 3)).toEqual([
      {
        id: 's1',
        type: 'send',
        channel: 'sms',
        template: 'x',
        transactional: true,
        topic: 'marketing',
        quietHours: 'skip',
      },
      {
        id: 'c1',
        type: 'issueCoupon',
        campaign: 'x',
        value: 50,
        currency: 'CNY',
        expiresInMs: 14 * 86_400_000,
      },
      { id: 'wf', type: 'waitFor', event: 'order_completed', timeoutMs: 7 * 86_400_000, onEvent: 'done' },
    ]);
  });
});
