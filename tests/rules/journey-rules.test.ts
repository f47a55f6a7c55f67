import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DateTime } from 'luxon';
import type { SendOutcome } from '../../activities/types';
import { journeyWorkflowId, type JourneyResult } from '../../workflows/definitions';
import { eventually, startEngine } from '../support/engine';
import { createTimeSkippingEnv } from '../support/temporal';

const SHANGHAI = 'Asia/Shanghai';
const TRAITS = { name: '李娜', phone: '+8613800138000', email: 'lina@example.com', locale: 'zh-CN' };

/**
 * The rules inside real journeys, on the time-skipping server. Its clock starts at the real time
 * and only moves forward: each test first skips to a chosen local time (23:00 or 10:00 in
 * Shanghai), then starts a journey. The send activity judges quiet hours by the server's clock.
 */
describe('rules in journeys (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let engine: Awaited<ReturnType<typeof startEngine>>;
  /** Every sendMessage call the worker ran: customer, outcome. */
  const calls: { customerId: string; outcome: SendOutcome }[] = [];

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    engine = await startEngine({
      client: env.client,
      nativeConnection: env.nativeConnection,
      journeysDir: path.join(__dirname, 'fixtures/journeys'),
      // The production defaults (quiet hours 21:00–09:00, delay; opt-out consent) plus an SMS cap.
      rules: { frequencyCaps: { perChannel: { sms: { day: 1 } } } },
      wrapActivities: (real) => ({
        ...real,
        async sendMessage(request) {
          const outcome = await real.sendMessage(request);
          calls.push({ customerId: request.customerId, outcome });
          return outcome;
        },
      }),
    });
  });
  afterAll(async () => {
    await engine?.stop();
    await env?.teardown();
  });

  /** Skips the server's clock forward to the next `HH:mm` in Shanghai; returns that time. */
  async function skipTo(clock: string): Promise<DateTime> {
    const now = DateTime.fromMillis(await env.currentTimeMs(), { zone: SHANGHAI });
    const [hour, minute] = clock.split(':').map(Number);
    let target = now.set({ hour, minute, second: 0, millisecond: 0 });
    if (target <= now) target = target.plus({ days: 1 });
    await env.sleep(target.toMillis() - now.toMillis());
    return target;
  }

  async function run(journeyId: string, event: string, customerId: string, traits = TRAITS) {
    await engine.identify(customerId, traits);
    const routed = await engine.track(customerId, event);
    expect(routed.entered).toEqual([journeyId]);
    const handle = env.client.workflow.getHandle(journeyWorkflowId(journeyId, customerId));
    const result: JourneyResult = await handle.result();
    expect(result.status).toBe('completed');
    return result.path[0]!;
  }

  const linesFor = async (channel: string, customerId: string) =>
    (await engine.outbox(channel)).filter((l) => l.customerId === customerId);
  const outcomesOf = (customerId: string) =>
    calls.filter((c) => c.customerId === customerId).map((c) => c.outcome);

  test('a marketing SMS at 23:00 in Shanghai waits until 09:00, then goes out exactly once', async () => {
    const start = await skipTo('23:00');
    const step = await run('rules-quiet-delay', 'rules_delay', 'night-owl');

    const nine = start.plus({ days: 1 }).set({ hour: 9, minute: 0 });
    expect(step.outcome).toBe('sent');
    expect(step.detail).toMatchObject({ deferredUntil: nine.toUTC().toISO(), reason: 'quiet_hours' });
    expect(Math.abs(Date.parse(step.at) - start.toMillis())).toBeLessThan(60_000);
    expect(outcomesOf('night-owl')).toEqual([
      { status: 'deferred', until: nine.toUTC().toISO(), reason: 'quiet_hours' },
      { status: 'queued', locale: 'zh-CN', to: TRAITS.phone },
    ]);
    // The workflow slept to the end of the window: its clock is past 09:00 now.
    expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(nine.toMillis());

    const sms = await eventually(async () => {
      const lines = await linesFor('sms', 'night-owl');
      return lines.length ? lines : undefined;
    });
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up, if any
    expect(await linesFor('sms', 'night-owl')).toHaveLength(1);
    expect(sms[0]).toMatchObject({ stepId: 'offer', to: TRAITS.phone });
    expect(await engine.stats.get('rules-quiet-delay', 1)).toMatchObject({ 'step:offer:sent': 1 });
    // Counted once against the cap: the deferred attempt consumed nothing.
    expect(await engine.rules.caps.usage('night-owl', 'sms', nine.toJSDate(), SHANGHAI)).toEqual({
      'sms:day': 1,
    });
  });

  test('a step configured to skip records skipped:quiet_hours and sends nothing', async () => {
    await skipTo('23:00');
    const step = await run('rules-quiet-skip', 'rules_skip', 'skipped-at-night');

    expect(step.outcome).toBe('skipped:quiet_hours');
    expect(outcomesOf('skipped-at-night')).toEqual([{ status: 'skipped', reason: 'quiet_hours' }]);
    const touches = await engine.touches.forCustomer('skipped-at-night');
    expect(touches.map((t) => t.status)).toEqual(['skipped:quiet_hours']);
    expect(await engine.stats.get('rules-quiet-skip', 1)).toMatchObject({ 'step:offer:skipped': 1 });
    expect(await linesFor('sms', 'skipped-at-night')).toHaveLength(0);
  });

  test('a customer who opted out is skipped with no_consent, even at night (consent comes first)', async () => {
    await skipTo('23:00');
    await engine.rules.consent.record('opted-out', {
      channel: 'sms',
      topic: 'marketing',
      status: 'revoked',
      source: 'api',
    });
    const step = await run('rules-quiet-delay', 'rules_delay', 'opted-out');

    expect(step.outcome).toBe('skipped:no_consent');
    expect(step.detail?.deferredUntil).toBeUndefined();
    expect(outcomesOf('opted-out')).toEqual([{ status: 'skipped', reason: 'no_consent' }]);
    expect((await engine.touches.forCustomer('opted-out')).map((t) => t.status)).toEqual([
      'skipped:no_consent',
    ]);
    expect(await linesFor('sms', 'opted-out')).toHaveLength(0);
  });

  test('over the daily SMS cap: skipped with frequency_cap', async () => {
    const now = await skipTo('10:00');
    // Another journey already sent this customer today's one marketing SMS.
    expect(
      await engine.rules.caps.consume('capped', 'sms', 'other-journey/touch', now.toJSDate(), SHANGHAI),
    ).toEqual({ allowed: true, counted: 'now' });
    const step = await run('rules-quiet-delay', 'rules_delay', 'capped');

    expect(step.outcome).toBe('skipped:frequency_cap');
    expect(await linesFor('sms', 'capped')).toHaveLength(0);
  });

  test('a transactional send at 23:00 ignores consent, quiet hours and caps', async () => {
    const now = await skipTo('23:00');
    await engine.rules.consent.record('transactional', {
      channel: 'sms',
      topic: '*',
      status: 'revoked',
      source: 'sms-reply',
    });
    await engine.rules.caps.consume('transactional', 'sms', 'earlier/touch', now.toJSDate(), SHANGHAI);
    const step = await run('rules-transactional', 'rules_transactional', 'transactional');

    expect(step.outcome).toBe('sent');
    expect(step.detail?.deferredUntil).toBeUndefined();
    expect(outcomesOf('transactional')).toEqual([{ status: 'queued', locale: 'zh-CN', to: TRAITS.phone }]);
    await eventually(async () => ((await linesFor('sms', 'transactional')).length === 1 ? true : undefined));
    // It did not count against the cap either.
    expect(await engine.rules.caps.usage('transactional', 'sms', now.toJSDate(), SHANGHAI)).toEqual({
      'sms:day': 1,
    });
  });

  test("a marketing email carries an unsubscribe link for the step's topic", async () => {
    await skipTo('10:00');
    const step = await run('rules-email', 'rules_email', 'reader');

    expect(step.outcome).toBe('sent');
    const [email] = await eventually(async () => {
      const lines = await linesFor('email', 'reader');
      return lines.length ? lines : undefined;
    });
    expect(email!.unsubscribeUrl).toMatch(/^https:\/\/touchpoint\.test\/u\/[\w-]+\.[\w-]+$/);
    const token = email!.unsubscribeUrl!.split('/u/')[1]!;
    expect(engine.rules.links.read(token)).toEqual({
      customerId: 'reader',
      channel: 'email',
      topic: 'new-products',
    });
  });
});
