import type { Simulator } from '../../simulation/simulator';
import { entries, fixtureJourney, gapMs, startTestSimulator } from './support';

const DAY = 86_400_000;

/**
 * A step that runs when a timer fires is stamped when its workflow task runs: on time, give or
 * take the real milliseconds the server's clock runs on meanwhile (more on a loaded machine).
 */
const nearly = (expected: string, actual: string) => {
  const late = gapMs(expected, actual);
  return late >= 0 && late < 5_000;
};

describe('Simulator on the time-skipping server', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startTestSimulator();
  });
  afterAll(async () => {
    await simulator?.close();
  });

  const welcome = () => fixtureJourney('sim-welcome');
  const customer = { id: 'c1', traits: { name: 'Li', phone: '+8613800138000', timezone: 'Asia/Shanghai' } };

  test('converted early: one welcome SMS with the coupon code, then the order ends the run', async () => {
    const result = await simulator.run(welcome(), {
      customer,
      start: '2026-03-02T10:00:00+08:00',
      events: [
        { at: 'PT0S', event: 'signed_up' },
        { at: 'P1D', event: 'order_completed', properties: { amount: 299 } },
      ],
      until: 'P10D',
    });
    expect(result).toMatchObject({
      journey: 'sim-welcome',
      version: 1,
      outcome: 'converted',
      customer: 'c1',
    });
    expect(result.timeZone).toBe('Asia/Shanghai');
    expect(result.start).toBe('2026-03-02T10:00:00+08:00');

    const [coupon] = entries(result, 'coupon');
    expect(coupon).toMatchObject({
      stepId: 'welcome-coupon',
      campaign: 'welcome',
      value: 50,
      currency: 'CNY',
    });
    const code = coupon!.code as string;
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);

    const sends = entries(result, 'send');
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({
      stepId: 'welcome-sms',
      channel: 'sms',
      template: 'sim-welcome',
      locale: 'en',
      status: 'sent',
      to: '+8613800138000',
    });
    expect(sends[0]!.body).toContain(`Hi Li, welcome! Your CN¥50 coupon: ${code}.`);
    expect(Math.abs(gapMs('2026-03-02T10:00:00+08:00', sends[0]!.at))).toBeLessThan(60_000);

    const exit = entries(result, 'exit');
    expect(exit).toEqual([
      expect.objectContaining({ outcome: 'converted', goal: 'order_completed', stepId: 'wait-order' }),
    ]);
    expect(Math.abs(gapMs('2026-03-03T10:00:00+08:00', exit[0]!.at))).toBeLessThan(60_000);
    expect(entries(result, 'event').map((e) => [e.event, e.result])).toEqual([
      ['signed_up', 'entered'],
      ['order_completed', 'signalled'],
    ]);
    expect(result.runs).toEqual([
      expect.objectContaining({ outcome: 'converted', entryEvent: 'signed_up', version: 1 }),
    ]);
  });

  test('timeout follow-up: the reminder goes 3 days later and names the coupon issued before', async () => {
    const result = await simulator.run(welcome(), {
      customer,
      start: '2026-03-02T10:00:00+08:00',
      events: [{ at: 'PT0S', event: 'signed_up' }],
      until: 'P10D',
    });
    expect(result.outcome).toBe('completed');
    const code = entries(result, 'coupon')[0]!.code as string;
    const wait = entries(result, 'wait')[0]!;
    expect(wait).toMatchObject({ stepId: 'wait-order', type: 'waitFor', outcome: 'timeout' });
    const sends = entries(result, 'send');
    expect(sends.map((s) => s.stepId)).toEqual(['welcome-sms', 'reminder-sms']);
    const gap = gapMs(sends[0]!.at, sends[1]!.at);
    expect(gap).toBeGreaterThanOrEqual(3 * DAY);
    expect(gap).toBeLessThan(3 * DAY + 60_000);
    expect(sends[1]!.body).toBe(
      `Li, your coupon ${code} is still waiting for your first order. Reply TD to opt out`,
    );
    expect(entries(result, 'exit')[0]).toMatchObject({ outcome: 'completed', stepId: 'done' });
  });

  test('quiet hours: a welcome at 23:00 is deferred to 09:00 scenario time, and the deferral is shown', async () => {
    const result = await simulator.run(welcome(), {
      customer,
      start: '2026-03-02T23:00:00+08:00',
      events: [{ at: 'PT0S', event: 'signed_up' }],
      until: 'P1D',
    });
    const deferral = result.timeline.find((e) => e.kind === 'step' && e.outcome === 'deferred');
    expect(deferral).toMatchObject({
      stepId: 'welcome-sms',
      reason: 'quiet_hours',
      deferredUntil: '2026-03-03T09:00:00+08:00',
    });
    const [sms] = entries(result, 'send');
    expect(sms).toMatchObject({ stepId: 'welcome-sms', status: 'sent', at: '2026-03-03T09:00:00+08:00' });
    expect(sms!.deferredFrom).toBeDefined();
    expect(result.outcome).toBe('running');
  });

  test('the run clock reads scenario time: a wait until 09:00 ends at 09:00 in the customer’s zone', async () => {
    const journey = fixtureJourney('sim-morning');
    const shanghai = await simulator.run(journey, {
      customer: { id: 'm1', traits: { phone: '+8613800138001' } },
      start: '2026-03-02T15:30:00+08:00',
      events: [{ at: 'PT0S', event: 'app_opened' }],
      until: 'P2D',
    });
    expect(entries(shanghai, 'wait')[0]).toMatchObject({
      stepId: 'nine',
      wakeAt: '2026-03-03T09:00:00+08:00',
    });
    const [tip] = entries(shanghai, 'send');
    expect(tip).toMatchObject({ stepId: 'tip-sms', status: 'sent' });
    expect(nearly('2026-03-03T09:00:00+08:00', tip!.at)).toBe(true);
    expect(shanghai.outcome).toBe('completed');

    const newYork = await simulator.run(journey, {
      customer: { id: 'm2', traits: { phone: '+12125550100', timezone: 'America/New_York' } },
      start: '2026-03-07T20:00:00-05:00',
      events: [{ at: 'PT0S', event: 'app_opened' }],
      until: 'P2D',
    });
    // Across the DST change of 8 March: 09:00 EDT.
    expect(newYork.timeZone).toBe('America/New_York');
    expect(entries(newYork, 'wait')[0]).toMatchObject({ wakeAt: '2026-03-08T09:00:00-04:00' });
    expect(entries(newYork, 'send')[0]!.at).toMatch(/^2026-03-08T09:00:0\d-04:00$/);
  });

  test('re-entry: refused within the cool-down, entered again after it; every run on the timeline', async () => {
    const result = await simulator.run(fixtureJourney('sim-morning'), {
      customer: { id: 'r1', traits: { phone: '+8613800138002' } },
      start: '2026-03-02T10:00:00+08:00',
      events: [
        { at: 'PT0S', event: 'app_opened' },
        { at: 'P2D', event: 'app_opened' },
        { at: 'P40D', event: 'app_opened' },
      ],
      until: 'P42D',
    });
    expect(entries(result, 'event').map((e) => e.result)).toEqual(['entered', 'refused:reentry', 'entered']);
    expect(result.runs.map((r) => r.outcome)).toEqual(['completed', 'completed']);
    expect(entries(result, 'enter')).toHaveLength(2);
    const sends = entries(result, 'send');
    expect(sends).toHaveLength(2);
    expect(nearly('2026-03-03T09:00:00+08:00', sends[0]!.at)).toBe(true);
    expect(nearly('2026-04-12T09:00:00+08:00', sends[1]!.at)).toBe(true);
  });

  test('an API enrolment at the start and an identify later', async () => {
    const result = await simulator.run(fixtureJourney('sim-morning'), {
      customer: { id: 'e1', traits: { phone: '+8613800138003' } },
      start: '2026-03-02T10:00:00+08:00',
      enrol: true,
      events: [{ at: 'PT12H', traits: { name: 'Wang' } }],
      until: 'P1D',
    });
    expect(result.runs).toEqual([
      expect.objectContaining({ entryEvent: 'journey_enrolled', outcome: 'completed' }),
    ]);
    expect(entries(result, 'event').map((e) => e.event)).toEqual(['journey_enrolled', 'identify']);
    // The 09:00 SMS was rendered with the name the identify set the evening before.
    expect(entries(result, 'send')[0]!.body).toContain('Good morning Wang');
  });
});

describe('Simulator: webhooks and alerts go to recording senders', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startTestSimulator();
  });
  afterAll(async () => {
    await simulator?.close();
  });

  const complaint = (webhooks?: Record<string, number>) => ({
    customer: { id: 'a1', traits: { name: 'Zhao' } },
    start: '2026-03-02T10:00:00+08:00',
    events: [{ at: 'PT1H', event: 'complaint_filed', properties: { keyword: 'leak', sku: 'SOFA-9' } }],
    until: 'P1D',
    ...(webhooks ? { webhooks } : {}),
  });

  test('the webhook as it would be posted; the tag; no alert', async () => {
    const result = await simulator.run(fixtureJourney('sim-alert'), complaint());
    expect(result.outcome).toBe('completed');
    expect(entries(result, 'tag')).toEqual([
      expect.objectContaining({ stepId: 'tag-complaint', action: 'tag', tags: ['complained'] }),
    ]);
    expect(entries(result, 'webhook')).toEqual([
      expect.objectContaining({
        stepId: 'supply',
        outcome: 'sent',
        target: 'supply-chain',
        status: 200,
        body: { sku: 'SOFA-9', level: 'high' },
      }),
    ]);
    expect(entries(result, 'notify')).toEqual([]);
  });

  test('a receiver that refuses (the scenario says 400): the step fails over to the staff alert', async () => {
    const result = await simulator.run(fixtureJourney('sim-alert'), complaint({ 'supply-chain': 400 }));
    expect(entries(result, 'webhook')[0]).toMatchObject({ stepId: 'supply', outcome: 'failed' });
    expect(entries(result, 'notify')).toEqual([
      expect.objectContaining({
        stepId: 'tell-ops',
        target: 'ops',
        text: 'Supply chain unreachable: SKU SOFA-9 for customer a1.',
      }),
    ]);
    expect(result.outcome).toBe('completed');
  });
});
