import { parseScenario, resolveScenario, ScenarioError } from '../../simulation/scenario';

const base = { customer: { id: 'c1' }, start: '2026-03-01T10:00:00+08:00', events: [] };

/** The issues a scenario is refused with, as `path: message`. */
function problems(json: unknown): string[] {
  try {
    parseScenario(json);
  } catch (err) {
    if (err instanceof ScenarioError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('parseScenario', () => {
  test('the issue’s example parses as written', () => {
    const example = {
      customer: { id: 'c1', traits: { name: 'Li', timezone: 'Asia/Shanghai' } },
      start: '2026-03-01T10:00:00+08:00',
      events: [{ at: 'P3D', event: 'order_completed', properties: { amount: 299 } }],
      until: 'P60D',
    };
    expect(parseScenario(example)).toEqual(example);
  });

  test('`at`: an ISO duration from start, a short duration, or an absolute time', () => {
    const resolved = resolveScenario({
      ...base,
      events: [
        { at: 'PT2H30M', event: 'a' },
        { at: '3d', event: 'b' },
        { at: '2026-03-02T09:00:00+08:00', event: 'c' },
        { at: 'P1M', event: 'd' },
      ],
      until: 'P60D',
    });
    const at = (i: number) => new Date(resolved.events.find((e) => e.index === i)!.atMs).toISOString();
    expect(at(0)).toBe('2026-03-01T04:30:00.000Z');
    expect(at(1)).toBe('2026-03-04T02:00:00.000Z');
    expect(at(2)).toBe('2026-03-02T01:00:00.000Z');
    expect(at(3)).toBe('2026-04-01T02:00:00.000Z'); // a calendar month
    // In time order, whatever the order in the file.
    expect(resolved.events.map((e) => e.index)).toEqual([0, 2, 1, 3]);
    expect(resolved.untilMs - resolved.startMs).toBe(60 * 86_400_000);
  });

  test('a time without an offset is read in the customer’s zone; until defaults to 30 days', () => {
    const resolved = resolveScenario({
      customer: { id: 'c1', traits: { timezone: 'America/New_York' } },
      start: '2026-03-01T10:00:00',
      events: [],
    });
    expect(resolved.timeZone).toBe('America/New_York');
    expect(new Date(resolved.startMs).toISOString()).toBe('2026-03-01T15:00:00.000Z');
    expect(resolved.untilMs - resolved.startMs).toBe(30 * 86_400_000 - 3_600_000); // DST on 8 March
  });

  test('identify and enrol entries; a top-level enrol', () => {
    expect(
      parseScenario({
        ...base,
        enrol: true,
        events: [
          { at: 'P1D', traits: { vip: true } },
          { at: 'P2D', enrol: true, properties: { list: 'spring' } },
        ],
      }).events,
    ).toHaveLength(2);
  });

  test('every problem at its path', () => {
    expect(
      problems({
        customer: { id: ' ', extra: 1 },
        start: 'yesterday',
        events: [
          { at: 'soon', event: 'a' },
          { at: 'P1D' },
          { at: 'P1D', event: 'a', traits: {} },
          { at: 'P1D', traits: {}, properties: {} },
        ],
        until: 'P1D',
        webhooks: { 'supply-chain': 999 },
      }),
    ).toEqual([
      'customer.id: must not be empty',
      'customer: Unrecognized key: "extra"',
      'events[0].at: "soon" is neither a duration from start (P3D, PT2H, 3d) nor an ISO-8601 time',
      'events[1]: needs one of `event` (a track), `traits` (an identify) or `enrol: true`',
      'events[2]: has `event` and `traits`: give exactly one of event, traits, enrol',
      'events[3].properties: an identify (`traits`) has no properties',
      expect.stringMatching(/^webhooks\["supply-chain"\]: /),
    ]);
    expect(problems({ ...base, start: 'yesterday' })).toEqual([
      'start: "yesterday" is not an ISO-8601 time (e.g. 2026-03-01T10:00:00+08:00)',
    ]);
  });

  test('times outside start..until', () => {
    expect(
      problems({
        ...base,
        events: [
          { at: '2026-02-28T10:00:00+08:00', event: 'early' },
          { at: 'P9D', event: 'late' },
        ],
        until: 'P5D',
      }),
    ).toEqual(['events[0].at: is before `start`', 'events[1].at: is after `until`: it would never happen']);
    expect(problems({ ...base, until: '2026-02-01T00:00:00Z' })).toEqual(['until: is before `start`']);
  });

  test('a ScenarioError is a 400 with its issues', () => {
    try {
      parseScenario({});
      throw new Error('expected a ScenarioError');
    } catch (err) {
      expect(err).toBeInstanceOf(ScenarioError);
      expect((err as ScenarioError).status).toBe(400);
      expect((err as ScenarioError).code).toBe('invalid_scenario');
      expect((err as ScenarioError).message).toContain('customer: ');
    }
  });
});
