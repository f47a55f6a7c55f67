import { evaluate, matchesEvent, type ConditionContext, type RunEvent } from '../../language/conditions';
import type { Condition } from '../../language/types';
import { compile, journey, pointed } from './support';

const at = (iso: string) => Date.parse(iso);

describe('tag', () => {
  const ctx = (tags: unknown): ConditionContext => ({ traits: { tags }, properties: {} });

  it('holds when the tags trait lists the tag (exactly)', () => {
    expect(evaluate({ tag: 'vip' }, ctx(['new', 'vip']))).toBe(true);
    expect(evaluate({ tag: 'vip' }, ctx(['VIP']))).toBe(false);
    expect(evaluate({ tag: 'vip' }, ctx([]))).toBe(false);
    expect(evaluate({ tag: 'vip' }, ctx('vip'))).toBe(false); // not a list
    expect(evaluate({ tag: 'vip' }, { traits: {}, properties: {} })).toBe(false);
    expect(evaluate({ not: { tag: 'vip' } }, ctx(['new']))).toBe(true);
    expect(evaluate({ all: [{ tag: 'a' }, { tag: 'b' }] }, ctx(['a', 'b']))).toBe(true);
  });
});

describe('did', () => {
  const history: RunEvent[] = [
    {
      event: 'message_opened',
      properties: { journeyId: 'j', stepId: 'offer-sms' },
      at: '2026-03-01T02:00:00Z',
    },
    {
      event: 'message_clicked',
      properties: { journeyId: 'j', stepId: 'offer-email', url: 'https://x/a' },
      at: '2026-03-01T03:00:00Z',
    },
    { event: 'order_completed', properties: { total: 300 }, at: '2026-03-02T03:00:00Z' },
  ];
  const ctx: ConditionContext = { traits: { tier: 'gold' }, properties: { total: 1 }, history };

  it('finds an event of this run by name, narrowed by step and where', () => {
    expect(evaluate({ did: 'message_opened' }, ctx)).toBe(true);
    expect(evaluate({ did: 'message_opened', step: 'offer-sms' }, ctx)).toBe(true);
    expect(evaluate({ did: 'message_opened', step: 'offer-email' }, ctx)).toBe(false);
    expect(evaluate({ did: 'coupon_redeemed' }, ctx)).toBe(false);
    expect(evaluate({ did: 'order_completed', where: { property: 'total', gte: 200 } }, ctx)).toBe(true);
    expect(evaluate({ did: 'order_completed', where: { property: 'total', gte: 500 } }, ctx)).toBe(false);
    // `where` reads the history event's properties and the customer's traits.
    expect(
      evaluate(
        {
          did: 'order_completed',
          where: {
            all: [
              { trait: 'tier', eq: 'gold' },
              { property: 'total', eq: 300 },
            ],
          },
        },
        ctx,
      ),
    ).toBe(true);
    expect(evaluate({ not: { did: 'message_clicked', step: 'offer-sms' } }, ctx)).toBe(true);
  });

  it('is false without a history (the router, before any run)', () => {
    expect(evaluate({ did: 'message_opened' }, { traits: {}, properties: {} })).toBe(false);
  });

  it('matchesEvent passes the history and clock on to `where`', () => {
    const matcher = { event: 'order_completed', where: { did: 'message_clicked' } };
    const event = { event: 'order_completed', properties: {} };
    expect(matchesEvent(matcher, event, {}, { history })).toBe(true);
    expect(matchesEvent(matcher, event, {})).toBe(false);
  });
});

describe('before / after', () => {
  const now = at('2026-06-15T04:00:00Z'); // 12:00 in Shanghai
  const ctx = (value: unknown, timeZone?: string): ConditionContext => ({
    traits: { d: value },
    properties: {},
    nowMs: now,
    ...(timeZone ? { timeZone } : {}),
  });
  const test = (value: unknown, cond: Omit<Condition, 'trait'>, timeZone?: string) =>
    evaluate({ trait: 'd', ...cond } as Condition, ctx(value, timeZone));

  it('against a signed duration from now', () => {
    expect(test('2026-03-01T00:00:00Z', { before: '-90d' })).toBe(true); // 106 days ago
    expect(test('2026-04-01T00:00:00Z', { before: '-90d' })).toBe(false);
    expect(test('2026-04-01T00:00:00Z', { after: '-90d' })).toBe(true);
    expect(test('2026-06-20', { before: '+7d' })).toBe(true);
    expect(test('2026-06-25', { before: '+7d' })).toBe(false);
    expect(test('2026-06-25', { after: '+1w' })).toBe(true);
    expect(test('2026-05-15T05:00:00Z', { after: '-P1M' })).toBe(true); // a month back is 05-15 12:00 local
    expect(test('2026-05-15T03:00:00Z', { after: '-P1M' })).toBe(false);
  });

  it('against now and fixed dates', () => {
    expect(test('2026-06-15T03:59:59Z', { before: 'now' })).toBe(true);
    expect(test('2026-06-15T04:00:01Z', { after: 'now' })).toBe(true);
    expect(test('2026-06-15T04:00:00Z', { before: 'now' })).toBe(false); // strictly before
    expect(test('1995-05-20', { before: '2000-01-01' })).toBe(true);
    // 1995-05-20 starts at 1995-05-19T16:00Z in Shanghai.
    expect(test('1995-05-20', { after: '1995-05-19T23:00:00+08:00' })).toBe(true);
    expect(test('1995-05-20', { after: '1995-05-20T00:00:00+08:00' })).toBe(false);
    // China kept summer time in 1986-1991: 1990-05-20 started at 15:00Z (+09:00), as luxon knows.
    expect(test('1990-05-20', { after: '1990-05-19T23:00:00+08:00' })).toBe(false);
    expect(test('2026-01-01T00:00:00+08:00', { after: '2025-12-31', before: '2026-01-02' })).toBe(true);
  });

  it('reads a date alone as that day in the customer’s zone', () => {
    // 2026-06-15 starts at 16:00Z the day before in Shanghai, at 04:00Z in New York.
    expect(test('2026-06-15', { before: '2026-06-14T17:00:00Z' }, 'Asia/Shanghai')).toBe(true);
    expect(test('2026-06-15', { before: '2026-06-14T17:00:00Z' }, 'America/New_York')).toBe(false);
    // `now` at 12:00 Shanghai: today started, tomorrow did not.
    expect(test('2026-06-15', { before: 'now' })).toBe(true);
    expect(test('2026-06-16', { after: 'now' })).toBe(true);
  });

  it('reads epoch numbers (seconds below 10^11, else milliseconds)', () => {
    expect(test(at('2026-06-01T00:00:00Z'), { before: '-7d' })).toBe(true);
    expect(test(at('2026-06-01T00:00:00Z') / 1000, { before: '-7d' })).toBe(true);
    expect(test(String(at('2026-06-14T00:00:00Z')), { before: '-7d' })).toBe(false);
  });

  it('counts calendar days across a DST change', () => {
    // Berlin moved to summer time on 2026-03-29: 7 days before 2026-04-02 12:00 CEST is
    // 2026-03-26 12:00 CET (11:00Z), not 10:00Z as 7 × 24 h would say.
    const berlin = (value: string, cond: object) =>
      evaluate({ trait: 'd', ...cond } as Condition, {
        traits: { d: value },
        properties: {},
        nowMs: at('2026-04-02T10:00:00Z'),
        timeZone: 'Europe/Berlin',
      });
    expect(berlin('2026-03-26T10:30:00Z', { before: '-7d' })).toBe(true);
    expect(berlin('2026-03-26T10:30:00Z', { before: '-168h' })).toBe(false); // exact hours
  });

  it('is false for values that are not dates, and missing values', () => {
    expect(test('soon', { before: 'now' })).toBe(false);
    expect(test(true, { after: '-1d' })).toBe(false);
    expect(test({ y: 2026 }, { after: '-1d' })).toBe(false);
    expect(test(undefined, { before: 'now' })).toBe(false);
    expect(test('2026-02-30', { before: 'now' })).toBe(false);
  });
});

describe('anniversaryWithin', () => {
  const test = (birthday: unknown, within: string, nowIso: string, timeZone = 'Asia/Shanghai') =>
    evaluate(
      { trait: 'birthday', anniversaryWithin: within },
      {
        traits: { birthday },
        properties: {},
        nowMs: at(nowIso),
        timeZone,
      },
    );

  it('holds from the day itself up to the window in whole days', () => {
    const now = '2026-05-13T02:00:00Z'; // 10:00 on 13 May in Shanghai
    expect(test('1990-05-13', '7d', now)).toBe(true); // today
    expect(test('1990-05-20', '7d', now)).toBe(true); // 7 days on
    expect(test('1990-05-21', '7d', now)).toBe(false);
    expect(test('1990-05-12', '7d', now)).toBe(false); // yesterday: next one is a year away
    expect(test('1990-05-14', '1d', now)).toBe(true);
    expect(test('1990-05-14', '12h', now)).toBe(false); // less than a day: today only
    expect(test('1990-05-13', '12h', now)).toBe(true);
  });

  it('wraps around the new year', () => {
    expect(test('1988-01-03', '7d', '2026-12-29T02:00:00Z')).toBe(true);
    expect(test('1988-12-30', '7d', '2026-12-29T02:00:00Z')).toBe(true);
    expect(test('1988-12-28', '7d', '2026-12-29T02:00:00Z')).toBe(false);
  });

  it('uses the customer’s calendar day', () => {
    // 2026-05-12T20:00Z is 13 May 04:00 in Shanghai but still 12 May 16:00 in New York.
    expect(test('1990-05-13', '0.5d', '2026-05-12T20:00:00Z', 'Asia/Shanghai')).toBe(true);
    expect(test('1990-05-13', '0.5d', '2026-05-12T20:00:00Z', 'America/New_York')).toBe(false);
    expect(test('1990-05-13', '1d', '2026-05-12T20:00:00Z', 'America/New_York')).toBe(true);
  });

  it('keeps a 29 February birthday on 28 February in other years', () => {
    expect(test('1992-02-29', '0.5d', '2027-02-28T02:00:00Z')).toBe(true);
    expect(test('1992-02-29', '1d', '2027-02-27T02:00:00Z')).toBe(true);
    expect(test('1992-02-29', '0.5d', '2027-03-01T02:00:00Z')).toBe(false);
    expect(test('1992-02-29', '0.5d', '2028-02-29T02:00:00Z')).toBe(true); // leap year: the day itself
    expect(test('1992-02-29', '0.5d', '2028-02-28T02:00:00Z')).toBe(false);
  });

  it('reads date-times in the customer’s zone and ignores non-dates', () => {
    // 1990-05-12T20:00Z is 13 May in Shanghai.
    expect(test('1990-05-12T20:00:00Z', '0.5d', '2026-05-13T02:00:00Z')).toBe(true);
    expect(test('May 13', '7d', '2026-05-13T02:00:00Z')).toBe(false);
    expect(test(null, '7d', '2026-05-13T02:00:00Z')).toBe(false);
  });
});

describe('schema: the new condition forms', () => {
  const branch = (when: string) =>
    journey([
      '  - id: send-a',
      '    type: send',
      '    channel: sms',
      '    template: a',
      '  - id: b',
      '    type: branch',
      '    branches:',
      `      - when: ${when}`, // line 13
      '        goto: done',
      '  - { id: done, type: exit }',
    ]);
  const when = (text: string) =>
    (compile(branch(text)).steps[1] as { branches: { when: Condition }[] }).branches[0]!.when;
  const errors = (text: string) => pointed(branch(text));

  it('compile as written', () => {
    expect(when('{ tag: vip }')).toEqual({ tag: 'vip' });
    expect(when('{ did: message_opened, step: send-a, where: { property: url, contains: sale } }')).toEqual({
      did: 'message_opened',
      step: 'send-a',
      where: { property: 'url', contains: 'sale' },
    });
    expect(when('{ trait: lastOrderAt, before: "-90d", after: "2020-01-01" }')).toEqual({
      trait: 'lastOrderAt',
      before: '-90d',
      after: '2020-01-01',
    });
    expect(when('{ trait: birthday, anniversaryWithin: 7d }')).toEqual({
      trait: 'birthday',
      anniversaryWithin: '7d',
    });
    expect(when('{ property: at, after: now }')).toEqual({ property: 'at', after: 'now' });
    expect(when('{ any: [{ tag: a }, { not: { did: x } }] }')).toEqual({
      any: [{ tag: 'a' }, { not: { did: 'x' } }],
    });
  });

  it('reports mixed forms, and step / where without did', () => {
    expect(errors('{ tag: vip, trait: x }')).toEqual([
      '13:when [b] steps[1].branches[0].when: mixes `tag`, `trait` in one condition (a tag test is just `{ tag: vip }`; combine it with others inside `all:`)',
    ]);
    expect(errors('{ did: x, eq: 1 }')).toEqual([
      '13:when [b] steps[1].branches[0].when: mixes `did`, `eq` in one condition (a did test takes only `step:` and `where:` (e.g. `{ did: message_clicked, step: offer-sms }`))',
    ]);
    expect(errors('{ trait: x, exists: true, step: send-a }')).toEqual([
      '13:step [b] steps[1].branches[0].when.step: `step` only goes with `did:` (e.g. `{ did: message_opened, step: offer-sms }`)',
    ]);
    expect(errors('{ all: [{ tag: a }], tag: b }')).toEqual([
      '13:when [b] steps[1].branches[0].when: mixes `all`, `tag` in one condition (a condition is either a comparison, a `tag` or `did` test, or one of `all`, `any`, `not`; nest comparisons inside `all:`)',
    ]);
    expect(errors('{ tag: "" }')).toEqual(['13:tag [b] steps[1].branches[0].when.tag: must not be empty']);
  });

  it('reports bad times and windows with hints', () => {
    expect(errors('{ trait: x, before: 90d }')).toEqual([
      '13:before [b] steps[1].branches[0].when.before: "90d" needs a sign: `-90d` (in the past) or `+90d` (in the future)',
    ]);
    expect(errors('{ trait: x, after: yesterday }')).toEqual([
      '13:after [b] steps[1].branches[0].when.after: "yesterday" is not a time: write an ISO date (`2026-01-31`), a date-time with offset, `now`, or a signed duration such as `-90d`',
    ]);
    expect(errors('{ trait: x, after: "-3 months" }')[0]).toMatch(/when.after: "3 months" is not a duration/);
    expect(errors('{ trait: x, before: 5 }')).toEqual([
      '13:before [b] steps[1].branches[0].when.before: expected a time such as `-90d`, `now` or `2026-01-31`, got number 5',
    ]);
    expect(errors('{ trait: x, anniversaryWithin: 7 }')).toEqual([
      '13:anniversaryWithin [b] steps[1].branches[0].when.anniversaryWithin: 7 has no unit (add one: e.g. `7m`, `2h`, `7d` or `PT2H`)',
    ]);
    expect(errors('{ trait: x, anniversaryWithin: P1M }')[0]).toMatch(
      /anniversaryWithin: "P1M" uses years or months/,
    );
    expect(errors('{ trait: x, anniversaryWithn: 7d }')).toEqual([
      '13:anniversaryWithn [b] steps[1].branches[0].when.anniversaryWithn: unknown key `anniversaryWithn` (did you mean `anniversaryWithin`?)',
    ]);
  });

  it('accepts calendar months in a TimeRef', () => {
    expect(when('{ trait: x, after: "-P3M" }')).toEqual({ trait: 'x', after: '-P3M' });
    expect(when('{ trait: x, after: "+P1Y" }')).toEqual({ trait: 'x', after: '+P1Y' });
  });

  it('`did … step:` must name a send step', () => {
    expect(errors('{ did: message_opened, step: b }')).toEqual([
      '13:step [b] steps[1].branches[0].when.step: step `b` is not a send step: `did … step:` names the send whose outcome counts (expected one of `send-a`)',
    ]);
    expect(errors('{ not: { did: message_opened, step: send-b } }')).toEqual([
      '13:step [b] steps[1].branches[0].when.not.step: no send step has the id `send-b` (did you mean `send-a`?)',
    ]);
  });

  it('an entry filter cannot use did, and a scheduled one reads only traits', () => {
    const done = ['  - { id: done, type: exit }'];
    expect(pointed(journey(done, ['entry: { event: x, where: { did: y } }']))).toEqual([
      '3:did entry.where.did: an entry filter cannot use `did`: the customer is not in the journey yet (use `did` in a branch condition)',
    ]);
    expect(
      pointed(
        journey(done, [
          'entry:',
          '  schedule: { cron: "0 9 * * *" }',
          '  where: { any: [{ trait: a, exists: true }, { property: b, eq: 1 }] }',
        ]),
      ),
    ).toEqual([
      '5:property entry.where.any[1].property: a scheduled entry has no event: its filter can only read `trait:` (e.g. `where: { trait: birthday, anniversaryWithin: 7d }`)',
    ]);
    // Goal and waitFor filters test the event that came, not the run's history.
    expect(
      pointed(journey(done, ['entry: { event: x }', 'exit: { event: y, where: { all: [{ did: z }] } }'])),
    ).toEqual([
      '4:did exit.where.all[0].did: `did` works in branch conditions, not in event filters (after the waitFor, branch on it: `{ when: { did: … }, goto: … }`)',
    ]);
    expect(
      pointed(journey(['  - { id: w, type: waitFor, event: e, timeout: 1d, where: { did: z } }', ...done])),
    ).toEqual([
      '6:did [w] steps[0].where.did: `did` works in branch conditions, not in event filters (after the waitFor, branch on it: `{ when: { did: … }, goto: … }`)',
    ]);
  });
});
