import { customerTimezone, effectiveQuietHours, quietHoursAt } from '../../rules/quiet-hours';

const NIGHT = { start: '21:00', end: '09:00' };
const at = (iso: string) => new Date(iso);

describe('quietHoursAt', () => {
  describe('a window crossing midnight (21:00–09:00, Shanghai)', () => {
    test.each([
      ['23:00', '2024-05-01T23:00:00+08:00', '2024-05-02T01:00:00.000Z'],
      ['21:00 (start is inside)', '2024-05-01T21:00:00+08:00', '2024-05-02T01:00:00.000Z'],
      ['00:30 (after midnight: ends the same day)', '2024-05-02T00:30:00+08:00', '2024-05-02T01:00:00.000Z'],
      ['08:59:59', '2024-05-02T08:59:59+08:00', '2024-05-02T01:00:00.000Z'],
    ])('%s is inside and ends at 09:00 local', (_, now, endsAt) => {
      expect(quietHoursAt(at(now), 'Asia/Shanghai', NIGHT)).toEqual({ inside: true, endsAt });
    });

    test.each([
      ['09:00 (end is outside)', '2024-05-02T09:00:00+08:00'],
      ['12:00', '2024-05-02T12:00:00+08:00'],
      ['20:59', '2024-05-02T20:59:59+08:00'],
    ])('%s is outside', (_, now) => {
      expect(quietHoursAt(at(now), 'Asia/Shanghai', NIGHT)).toEqual({ inside: false });
    });

    test('the year boundary: New Year’s Eve 22:00 ends on 1 January', () => {
      expect(quietHoursAt(at('2024-12-31T22:00:00+08:00'), 'Asia/Shanghai', NIGHT)).toEqual({
        inside: true,
        endsAt: '2025-01-01T01:00:00.000Z',
      });
    });
  });

  test('a window within one day (12:00–14:00)', () => {
    const lunch = { start: '12:00', end: '14:00' };
    expect(quietHoursAt(at('2024-05-01T13:15:00+08:00'), 'Asia/Shanghai', lunch)).toEqual({
      inside: true,
      endsAt: '2024-05-01T06:00:00.000Z',
    });
    expect(quietHoursAt(at('2024-05-01T11:59:00+08:00'), 'Asia/Shanghai', lunch).inside).toBe(false);
    expect(quietHoursAt(at('2024-05-01T14:00:00+08:00'), 'Asia/Shanghai', lunch).inside).toBe(false);
  });

  test('a window whose start equals its end is empty', () => {
    expect(
      quietHoursAt(at('2024-05-01T09:00:00+08:00'), 'Asia/Shanghai', { start: '09:00', end: '09:00' }),
    ).toEqual({ inside: false });
  });

  test('the same instant is judged in the customer’s zone', () => {
    const instant = at('2024-05-01T15:00:00Z'); // 23:00 in Shanghai, 11:00 in New York, 17:00 in Berlin
    expect(quietHoursAt(instant, 'Asia/Shanghai', NIGHT).inside).toBe(true);
    expect(quietHoursAt(instant, 'America/New_York', NIGHT).inside).toBe(false);
    expect(quietHoursAt(instant, 'Europe/Berlin', NIGHT).inside).toBe(false);
  });

  describe('DST (America/New_York)', () => {
    test('spring forward: 22:00 EST on 9 March ends at 09:00 EDT, 10 hours later, not 11', () => {
      const now = at('2024-03-09T22:00:00-05:00');
      const check = quietHoursAt(now, 'America/New_York', NIGHT);
      expect(check).toEqual({ inside: true, endsAt: '2024-03-10T13:00:00.000Z' });
      expect((Date.parse(check.inside ? check.endsAt : '') - now.getTime()) / 3_600_000).toBe(10);
    });

    test('fall back: 22:00 EDT on 2 November ends at 09:00 EST, 12 hours later, not 11', () => {
      const now = at('2024-11-02T22:00:00-04:00');
      const check = quietHoursAt(now, 'America/New_York', NIGHT);
      expect(check).toEqual({ inside: true, endsAt: '2024-11-03T14:00:00.000Z' });
      expect((Date.parse(check.inside ? check.endsAt : '') - now.getTime()) / 3_600_000).toBe(12);
    });

    test('inside the repeated hour (01:30 happens twice): both end at 09:00 EST', () => {
      for (const now of ['2024-11-03T01:30:00-04:00', '2024-11-03T01:30:00-05:00']) {
        expect(quietHoursAt(at(now), 'America/New_York', NIGHT)).toEqual({
          inside: true,
          endsAt: '2024-11-03T14:00:00.000Z',
        });
      }
    });
  });
});

describe('customerTimezone', () => {
  test.each([
    ['an IANA zone', 'America/New_York', 'America/New_York'],
    ['surrounding spaces', ' Europe/Berlin ', 'Europe/Berlin'],
    ['an unknown zone', 'Mars/Olympus_Mons', 'Asia/Shanghai'],
    ['an offset, not a zone', 'UTC+8', 'Asia/Shanghai'],
    ['an empty string', '', 'Asia/Shanghai'],
    ['a number', 8, 'Asia/Shanghai'],
    ['no trait', undefined, 'Asia/Shanghai'],
  ])('%s (%p) → %s', (_, trait, zone) => {
    expect(customerTimezone(trait, 'Asia/Shanghai')).toBe(zone);
  });

  test('an invalid zone falls back to the default window judged in the default zone', () => {
    const zone = customerTimezone('Not/AZone', 'Asia/Shanghai');
    expect(quietHoursAt(at('2024-05-01T15:00:00Z'), zone, NIGHT).inside).toBe(true);
  });
});

describe('effectiveQuietHours', () => {
  const GLOBAL = { start: '21:00', end: '09:00', action: 'delay' as const };

  test('the global window and action when the journey sets none', () => {
    expect(effectiveQuietHours(GLOBAL, {})).toEqual(GLOBAL);
    expect(effectiveQuietHours(GLOBAL)).toEqual(GLOBAL);
  });

  test("the journey's window and action override the global ones", () => {
    expect(effectiveQuietHours(GLOBAL, { start: '22:00', end: '08:00', action: 'skip' })).toEqual({
      start: '22:00',
      end: '08:00',
      action: 'skip',
    });
  });

  test("the step's action overrides the action of the global window", () => {
    expect(effectiveQuietHours(GLOBAL, { action: 'skip' })).toEqual({ ...GLOBAL, action: 'skip' });
  });

  test('global quiet hours off: only a journey window applies', () => {
    expect(effectiveQuietHours(false, {})).toBeNull();
    expect(effectiveQuietHours(false, { action: 'skip' })).toBeNull();
    expect(effectiveQuietHours(false, { start: '20:00', end: '08:00', action: 'delay' })).toEqual({
      start: '20:00',
      end: '08:00',
      action: 'delay',
    });
  });
});
