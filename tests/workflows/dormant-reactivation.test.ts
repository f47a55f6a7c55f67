import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { eventually, startEngine } from '../support/engine';
import { createTimeSkippingEnv } from '../support/temporal';
import { journeyWorkflowId, stateQuery, type JourneyResult } from '../../workflows/definitions';

const DAY = 24 * 3600_000;
const TRAITS = {
  name: '王芳',
  phone: '+8613800138000',
  email: 'wang@example.com',
  wecomExternalUserId: 'wm-1',
};

describe('dormant-reactivation journey on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let engine: Awaited<ReturnType<typeof startEngine>>;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    engine = await startEngine({ client: env.client, nativeConnection: env.nativeConnection });
  });
  afterAll(async () => {
    await engine?.stop();
    await env?.teardown();
  });

  async function enter(customerId: string, locale = 'zh-CN') {
    await engine.identify(customerId, { ...TRAITS, locale });
    const routed = await engine.track(customerId, 'segment_entered', {
      segment: 'dormant',
      groupBuyUrl: 'https://shop.example.com/g/123',
    });
    expect(routed.entered).toEqual(['dormant-reactivation']);
    return env.client.workflow.getHandle(journeyWorkflowId('dormant-reactivation', customerId));
  }

  const linesFor = async (channel: string, customerId: string) =>
    (await engine.outbox(channel)).filter((l) => l.customerId === customerId);

  /** The code the run's issueCoupon step recorded in its path. */
  const issuedCode = (result: JourneyResult) => {
    const step = result.path.find((p) => p.stepId === 'exclusive-coupon')!;
    expect(step).toMatchObject({ type: 'issueCoupon', outcome: 'issued' });
    expect(step.detail).toMatchObject({ campaign: 'dormant-reactivation' });
    return step.detail!.code as string;
  };

  test('a purchase within the week converts: offer and invitation once each, no second touch', async () => {
    const handle = await enter('dr-converts');
    await env.sleep('3d');
    expect((await handle.query(stateQuery)).currentStep).toBe('wait-order');
    await engine.track('dr-converts', 'order_completed', { amount: 299 });
    const result: JourneyResult = await handle.result();
    expect(result.status).toBe('converted');
    const code = issuedCode(result);
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);

    const sms = await eventually(async () =>
      (await linesFor('sms', 'dr-converts')).length ? linesFor('sms', 'dr-converts') : undefined,
    );
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ stepId: 'offer-sms', to: TRAITS.phone, locale: 'zh-CN' });
    expect(sms[0]!.body).toContain(`送您一张50元专属回归券，券码${code}，14天内下单可用`);
    const wecom = await eventually(async () =>
      (await linesFor('wecom', 'dr-converts')).length ? linesFor('wecom', 'dr-converts') : undefined,
    );
    expect(wecom).toHaveLength(1);
    expect(wecom[0]!.body).toContain('https://shop.example.com/g/123');
    expect(await linesFor('email', 'dr-converts')).toHaveLength(0);
  });

  test('no purchase: the different second touch (email) comes exactly 7 days after the wait began', async () => {
    const handle = await enter('dr-silent', 'en');
    const result: JourneyResult = await handle.result();
    expect(result.status).toBe('completed');
    const waitStep = result.path.find((p) => p.stepId === 'wait-order')!;
    const emailStep = result.path.find((p) => p.stepId === 'last-chance-email')!;
    expect(Date.parse(waitStep.detail!.timeoutAt as string) - Date.parse(waitStep.at)).toBe(7 * DAY);
    const gap = Date.parse(emailStep.at) - Date.parse(waitStep.at);
    expect(gap).toBeGreaterThanOrEqual(7 * DAY);
    expect(gap).toBeLessThan(7 * DAY + 1000);

    const emails = await eventually(async () =>
      (await linesFor('email', 'dr-silent')).length ? linesFor('email', 'dr-silent') : undefined,
    );
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatchObject({ to: TRAITS.email, locale: 'en', template: 'dormant-last-chance' });
    expect(emails[0]!.subject).toBeTruthy();
    // The last-chance email names the coupon the SMS carried: one coupon per run.
    const code = issuedCode(result);
    expect(emails[0]!.body).toContain(`(code <strong>${code}</strong>)`);
    const sms = await linesFor('sms', 'dr-silent');
    expect(sms).toHaveLength(1);
    expect(sms[0]!.body).toContain(`worth CNY 50: ${code}`);
  });

  test('a customer already in the journey is not entered twice', async () => {
    const handle = await enter('dr-twice');
    const first = await handle.describe();
    const again = await engine.track('dr-twice', 'segment_entered', { segment: 'dormant' });
    expect(again.entered).toEqual(['dormant-reactivation']); // signalWithStart: the same run got the event
    const described = await env.client.workflow
      .getHandle(journeyWorkflowId('dormant-reactivation', 'dr-twice'))
      .describe();
    expect(described.runId).toBe(first.runId);
    await handle.result();
    expect(await linesFor('sms', 'dr-twice')).toHaveLength(1);
  });
});
