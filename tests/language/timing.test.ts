import { customerZone, resolveWaitUntil } from '../../language/timing';
import type { WaitUntil } from '../../language/types';

const DAY = 86_400_000;

/** resolveWaitUntil at `now` in `zone`, the moment as ISO UTC text (or the missing trait). */
function until(
  spec: WaitUntil,
  now: string,
  zone = 'Asia/Shanghai',
  traits: Record<string, unknown> = {},
): string {
  const result = resolveWaitUntil(spec, { nowMs: Date.parse(now), timeZone: zone, traits });
  return 'atMs' in result ? new Date(result.atMs).toISOString() : `missing ${result.missing}`;
}

describe('until a time of day', () => {
  it('today when it has not passed yet, else tomorrow, in the customer’s zone', () => {
    // 10:00 in Shanghai.
    expect(until({ time: '11:00' }, '2026-03-01T02:00:00Z')).toBe('2026-03-01T03:00:00.000Z');
    expect(until({ time: '09:00' }, '2026-03-01T02:00:00Z')).toBe('2026-03-02T01:00:00.000Z');
    expect(until({ time: '10:00' }, '2026-03-01T02:00:00Z')).toBe('2026-03-01T02:00:00.000Z'); // now: ends at once
    expect(until({ time: '09:00' }, '2026-03-01T02:00:00Z', 'America/New_York')).toBe(
      '2026-03-01T14:00:00.000Z',
    );
    expect(until({ time: '00:00' }, '2026-03-01T02:00:00Z', 'Europe/Berlin')).toBe(
      '2026-03-01T23:00:00.000Z',
    );
  });

  it('a time skipped by the spring DST change moves forward; a repeated one is the first', () => {
    // Berlin, 2026-03-29: 02:00 → 03:00. 02:30 does not exist: 03:30 CEST.
    expect(until({ time: '02:30' }, '2026-03-28T12:00:00Z', 'Europe/Berlin')).toBe(
      '2026-03-29T01:30:00.000Z',
    );
    // 2026-10-25: 03:00 → 02:00. 02:30 happens twice: the first (CEST, +02:00).
    expect(until({ time: '02:30' }, '2026-10-24T12:00:00Z', 'Europe/Berlin')).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    // 09:00 the day after the change keeps local 09:00 (23 h later, not 24).
    expect(until({ time: '09:00' }, '2026-03-28T09:00:00Z', 'Europe/Berlin')).toBe(
      '2026-03-29T07:00:00.000Z',
    );
  });
});

describe('until a weekday', () => {
  it('the next such day (today included) at the time', () => {
    // Wednesday 2026-03-04 10:00 Shanghai.
    const wed = '2026-03-04T02:00:00Z';
    expect(until({ weekday: ['mon'], time: '10:00' }, wed)).toBe('2026-03-09T02:00:00.000Z');
    expect(until({ weekday: ['wed'], time: '11:00' }, wed)).toBe('2026-03-04T03:00:00.000Z');
    expect(until({ weekday: ['wed'], time: '09:00' }, wed)).toBe('2026-03-11T01:00:00.000Z'); // passed: next week
    expect(until({ weekday: ['mon', 'thu'], time: '09:00' }, wed)).toBe('2026-03-05T01:00:00.000Z');
    expect(until({ weekday: ['sun'] }, wed)).toBe('2026-03-08T02:00:00.000Z'); // same time of day
    expect(until({ weekday: ['wed'] }, wed)).toBe(new Date(wed).toISOString()); // already Wednesday
  });

  it('in the customer’s zone, across DST', () => {
    // Friday 2026-03-27 12:00 in Berlin (CET); Monday 10:00 is after the change (CEST).
    expect(until({ weekday: ['mon'], time: '10:00' }, '2026-03-27T11:00:00Z', 'Europe/Berlin')).toBe(
      '2026-03-30T08:00:00.000Z',
    );
    // Wednesday 10:00 Shanghai is Tuesday 21:00 in New York: the next Tuesday is today there.
    expect(until({ weekday: ['tue'], time: '22:00' }, '2026-03-04T02:00:00Z', 'America/New_York')).toBe(
      '2026-03-04T03:00:00.000Z',
    );
  });
});

describe('until a date from a trait', () => {
  const traits = {
    dueDate: '2026-04-20',
    deliveredAt: '2026-04-01T00:30:00+02:00',
    epoch: Date.parse('2026-05-01T00:00:00Z'),
    nested: { at: '2026-07-01' },
    bad: 'next spring',
  };
  const now = '2026-01-01T00:00:00Z';

  it('a date alone is the start of that day in the customer’s zone; time sets the time of day', () => {
    expect(until({ trait: 'dueDate' }, now, 'Asia/Shanghai', traits)).toBe('2026-04-19T16:00:00.000Z');
    expect(until({ trait: 'dueDate', time: '10:00' }, now, 'Asia/Shanghai', traits)).toBe(
      '2026-04-20T02:00:00.000Z',
    );
    expect(until({ trait: 'nested.at', time: '10:00' }, now, 'Asia/Shanghai', traits)).toBe(
      '2026-07-01T02:00:00.000Z',
    );
  });

  it('offsets count whole days as calendar days in the zone (DST-safe)', () => {
    // dueDate - 30 days at 10:00 Berlin: 21 March, still winter time (+01:00).
    expect(
      until({ trait: 'dueDate', offsetMs: -30 * DAY, time: '10:00' }, now, 'Europe/Berlin', traits),
    ).toBe('2026-03-21T09:00:00.000Z');
    // A date-time 30 days back across the change keeps its local time (00:30), so one hour more.
    expect(until({ trait: 'deliveredAt', offsetMs: -30 * DAY }, now, 'Europe/Berlin', traits)).toBe(
      '2026-03-01T23:30:00.000Z',
    );
    expect(until({ trait: 'deliveredAt', offsetMs: 36 * 3_600_000 }, now, 'Europe/Berlin', traits)).toBe(
      '2026-04-02T10:30:00.000Z',
    );
    expect(until({ trait: 'epoch', offsetMs: 7 * DAY }, now, 'UTC', traits)).toBe('2026-05-08T00:00:00.000Z');
  });

  it('a moment already past is returned as is: the caller ends the wait at once', () => {
    const result = resolveWaitUntil(
      { trait: 'dueDate', offsetMs: -30 * DAY },
      { nowMs: Date.parse('2026-04-10T00:00:00Z'), timeZone: 'Asia/Shanghai', traits },
    );
    expect('atMs' in result && result.atMs < Date.parse('2026-04-10T00:00:00Z')).toBe(true);
  });

  it('a missing trait, or one that is not a date, is reported by name', () => {
    expect(until({ trait: 'lastOrderAt', time: '10:00' }, now, 'Asia/Shanghai', traits)).toBe(
      'missing lastOrderAt',
    );
    expect(until({ trait: 'bad' }, now, 'Asia/Shanghai', traits)).toBe('missing bad');
    expect(until({ trait: 'dueDate' }, now, 'Asia/Shanghai', { dueDate: null })).toBe('missing dueDate');
    expect(until({ trait: '__proto__' }, now, 'Asia/Shanghai', traits)).toBe('missing __proto__');
  });
});

describe('until a fixed moment', () => {
  it('a date-time with offset, or a date with a time in the customer’s zone', () => {
    expect(until({ at: '2026-12-01T10:00:00+08:00' }, '2026-03-01T00:00:00Z', 'Europe/Berlin')).toBe(
      '2026-12-01T02:00:00.000Z',
    );
    expect(until({ at: '2026-12-01', time: '10:00' }, '2026-03-01T00:00:00Z', 'Europe/Berlin')).toBe(
      '2026-12-01T09:00:00.000Z',
    );
    expect(until({ at: '2026-12-01' }, '2026-03-01T00:00:00Z')).toBe('2026-11-30T16:00:00.000Z');
    expect(until({ at: '2020-01-01T00:00:00Z' }, '2026-03-01T00:00:00Z')).toBe('2020-01-01T00:00:00.000Z');
  });
});

describe('zones', () => {
  it('an unknown zone falls back to Asia/Shanghai', () => {
    expect(until({ time: '09:00' }, '2026-03-01T00:00:00Z', 'Mars/Olympus')).toBe('2026-03-01T01:00:00.000Z');
  });

  it('customerZone: a valid IANA `timezone` trait, else the fallback', () => {
    expect(customerZone({ timezone: 'Europe/Berlin' })).toBe('Europe/Berlin');
    expect(customerZone({ timezone: ' Europe/Berlin ' })).toBe('Europe/Berlin');
    expect(customerZone({ timezone: 'Berlin' })).toBe('Asia/Shanghai');
    expect(customerZone({ timezone: 8 })).toBe('Asia/Shanghai');
    expect(customerZone({})).toBe('Asia/Shanghai');
    expect(customerZone({}, 'UTC')).toBe('UTC');
    expect(customerZone(JSON.parse('{"__proto__": {"timezone": "Europe/Berlin"}}'))).toBe('Asia/Shanghai');
  });
});
