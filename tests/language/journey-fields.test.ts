import { check, compile, issues, journey } from './support';

const STEP = ['  - { id: done, type: exit }'];

describe('entry triggers', () => {
  it('an event, with its filter; re-entry defaults to always', () => {
    const j = compile(
      journey(STEP, ['entry:', '  event: order_completed', '  where: { property: category, eq: sofa }']),
    );
    expect(j.entry).toEqual({
      event: 'order_completed',
      where: { property: 'category', eq: 'sofa' },
      reentry: { mode: 'always' },
    });
  });

  it('a trait change', () => {
    const j = compile(
      journey(STEP, ['entry: { traitChanged: dueDate, where: { trait: dueDate, after: now } }']),
    );
    expect(j.entry).toEqual({
      traitChanged: 'dueDate',
      where: { trait: 'dueDate', after: 'now' },
      reentry: { mode: 'always' },
    });
  });

  it('a schedule: cron in a time zone (Asia/Shanghai by default)', () => {
    const j = compile(
      journey(STEP, [
        'entry:',
        '  schedule: { cron: "0 9 * * *", timezone: Europe/Berlin }',
        '  where: { trait: birthday, anniversaryWithin: 7d }',
      ]),
    );
    expect(j.entry).toEqual({
      schedule: { cron: '0 9 * * *', timezone: 'Europe/Berlin' },
      where: { trait: 'birthday', anniversaryWithin: '7d' },
      reentry: { mode: 'always' },
    });
    expect(compile(journey(STEP, ['entry: { schedule: { cron: "@daily" } }'])).entry).toEqual({
      schedule: { cron: '@daily', timezone: 'Asia/Shanghai' },
      reentry: { mode: 'always' },
    });
    expect(compile(journey(STEP, ['entry: { schedule: { cron: "0 10 * * mon" } }'])).entry).toMatchObject({
      schedule: { cron: '0 10 * * mon' },
    });
  });

  it('API only', () => {
    expect(compile(journey(STEP, ['entry: { api: true }'])).entry).toEqual({
      api: true,
      reentry: { mode: 'always' },
    });
  });

  it('re-entry never / always / after a cool-down, a limit and an end date', () => {
    const entry = (line: string) => compile(journey(STEP, ['entry:', '  event: x', `  ${line}`])).entry;
    expect(entry('reentry: never').reentry).toEqual({ mode: 'never' });
    expect(entry('reentry: always').reentry).toEqual({ mode: 'always' });
    expect(entry('reentry: 30d').reentry).toEqual({ mode: 'after', cooldownMs: 30 * 86_400_000 });
    expect(entry('reentry: P2W').reentry).toEqual({ mode: 'after', cooldownMs: 14 * 86_400_000 });
    expect(entry('limit: 5000')).toMatchObject({ limit: 5000 });
    expect(entry('endAt: "2026-12-31T23:59:59+08:00"')).toMatchObject({ endAt: '2026-12-31T23:59:59+08:00' });
  });

  it('reports trigger mistakes at their keys, with hints', () => {
    expect(issues(journey(STEP, ['entry: { where: { trait: a, eq: 1 } }']))).toEqual([
      '3:1 entry: needs a trigger: one of `event`, `traitChanged`, `schedule`, `api` (e.g. `event: order_completed`, `traitChanged: dueDate` or `api: true`)',
    ]);
    expect(issues(journey(STEP, ['entry:', '  event: x', '  traitChanged: dueDate']))).toEqual([
      '5:3 entry.traitChanged: has `event` and `traitChanged`: a journey has exactly one trigger (every journey can also be enrolled by API; use `api: true` only for API-only journeys)',
    ]);
    expect(issues(journey(STEP, ['entry: { api: true, where: { trait: a, eq: 1 } }']))).toEqual([
      '3:21 entry.where: an API-only entry has no `where`: the customers enrolled are the ones listed',
    ]);
    expect(issues(journey(STEP, ['entry: { api: false }']))).toEqual([
      '3:10 entry.api: must be `true` (only by API / bulk enrolment)',
    ]);
    expect(issues(journey(STEP, ['entry: { evnt: x }']))).toEqual([
      '3:10 entry.evnt: unknown key `evnt` (did you mean `event`?)',
    ]);
  });

  it('validates cron with cron-parser and the time zone as IANA', () => {
    const errors = (schedule: string) => issues(journey(STEP, [`entry: { schedule: ${schedule} }`]));
    expect(errors('{ cron: "61 9 * * *" }')).toEqual([
      '3:22 entry.schedule.cron: not a valid cron expression: Constraint error, got value 61 expected range 0-59 (e.g. `0 9 * * *` is every day at 09:00, `0 10 * * mon` Mondays at 10:00)',
    ]);
    expect(errors('{ cron: "0 9 * *" }')[0]).toMatch(/five fields .* got 4/);
    expect(errors('{ cron: "0 0 9 * * *" }')[0]).toMatch(/five fields .* got 6/);
    expect(errors('{ cron: "0 9 * * funday" }')[0]).toMatch(/not a valid cron expression/);
    expect(errors('{ cron: "@dayly" }')).toEqual([
      '3:22 entry.schedule.cron: unknown cron alias `@dayly` (did you mean `@daily`?)',
    ]);
    expect(errors('{ cron: "0 9 * * *", timezone: Asia/Shangai }')).toEqual([
      '3:41 entry.schedule.timezone: must be an IANA time zone such as `Asia/Shanghai` or `Europe/Berlin`',
    ]);
    expect(errors('{ cron: "0 9 * * *", tz: UTC }')).toEqual([
      '3:41 entry.schedule.tz: unknown key `tz` (expected one of `cron`, `timezone`)',
    ]);
  });

  it('reports bad re-entry rules, limits and end dates', () => {
    const errors = (line: string) => issues(journey(STEP, ['entry:', '  event: x', `  ${line}`]));
    expect(errors('reentry: nevr')).toEqual([
      '5:3 entry.reentry: "nevr" is not `never`, `always` or a duration (did you mean `never`?)',
    ]);
    expect(errors('reentry: sometimes')).toEqual([
      '5:3 entry.reentry: "sometimes" is not `never`, `always` or a duration (write `never`, `always`, or a cool-down such as `30d`: may enter again 30 days after the run ended)',
    ]);
    expect(errors('reentry: 30 days')[0]).toMatch(/^5:3 entry.reentry: "30 days" is not a duration/);
    expect(errors('reentry: 0d')[0]).toMatch(/must be longer than zero/);
    expect(errors('reentry: 30')).toEqual([
      '5:3 entry.reentry: number 30 is not `never`, `always` or a duration (write `never`, `always`, or a cool-down such as `30d`: may enter again 30 days after the run ended)',
    ]);
    expect(errors('limit: 0')).toEqual(['5:3 entry.limit: must be greater than 0']);
    expect(errors('limit: 2.5')).toEqual(['5:3 entry.limit: must be a whole number, got 2.5']);
    expect(errors('endAt: 2026-12-31')).toEqual(['5:3 entry.endAt: must be an ISO-8601 time with offset']);
  });
});

describe('journey fields', () => {
  it('`version` is optional (default 1) and `description` is documentation only', () => {
    const j = compile([
      'id: j',
      'name: J',
      'description: what it is for',
      'entry: { event: x }',
      'steps:',
      ...STEP,
    ]);
    expect(j.version).toBe(1);
    expect(j).not.toHaveProperty('description');
    expect(
      compile(['id: j', 'name: J', 'version: 3', 'entry: { event: x }', 'steps:', ...STEP]).version,
    ).toBe(3);
  });

  it('conversion window, holdback and capExempt', () => {
    const j = compile(
      journey(STEP, ['entry: { event: x }', 'conversionWindow: 7d', 'holdback: 10', 'capExempt: true']),
    );
    expect(j).toMatchObject({ conversionWindowMs: 7 * 86_400_000, holdback: 10, capExempt: true });
    const plain = compile(journey(STEP));
    for (const key of ['conversionWindowMs', 'holdback', 'capExempt', 'quietHours']) {
      expect(plain).not.toHaveProperty(key);
    }
    expect(compile(journey(STEP, ['entry: { event: x }', 'holdback: 0'])).holdback).toBe(0);
    expect(compile(journey(STEP, ['entry: { event: x }', 'holdback: 50'])).holdback).toBe(50);
  });

  it('reports out-of-range holdback, unitless windows and misspelled journey keys', () => {
    expect(issues(journey(STEP, ['entry: { event: x }', 'holdback: 60']))).toEqual([
      '4:1 holdback: must be at most 50',
    ]);
    expect(issues(journey(STEP, ['entry: { event: x }', 'holdback: -1']))).toEqual([
      '4:1 holdback: must be at least 0',
    ]);
    expect(issues(journey(STEP, ['entry: { event: x }', 'holdback: 12.5']))).toEqual([
      '4:1 holdback: must be a whole number, got 12.5',
    ]);
    expect(issues(journey(STEP, ['entry: { event: x }', 'conversionWindow: 7']))).toEqual([
      '4:1 conversionWindow: 7 has no unit (add one: e.g. `7m`, `2h`, `7d` or `PT2H`)',
    ]);
    expect(issues(journey(STEP, ['entry: { event: x }', 'capExempt: yes']))).toEqual([
      '4:1 capExempt: expected `true` or `false`, got "yes"',
    ]);
    expect(issues(journey(STEP, ['entry: { event: x }', 'holdbak: 5']))).toEqual([
      '4:1 holdbak: unknown key `holdbak` (did you mean `holdback`?)',
    ]);
  });

  it('keeps the warnings list empty for a sound journey', () => {
    expect(check(journey(STEP)).warnings).toEqual([]);
  });
});
