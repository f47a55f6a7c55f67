import { DORMANT_CUSTOMER as TRAITS, eventually } from '../support/engine';
import { useTimeSkippingEngine } from '../support/time-skipping';
import { journeyWorkflowId, stateQuery, type JourneyResult } from '../../workflows/definitions';

const DAY = 24 * 3600_000;

describe('dormant-reactivation journey on the time-skipping server', () => {
  const setup = useTimeSkippingEngine();

  async function enter(customerId: string, locale = 'zh-CN') {
    await setup.engine.identify(customerId, { ...TRAITS, locale });
    const routed = await setup.engine.track(customerId, 'segment_entered', {
      segment: 'dormant',
      groupBuyUrl: 'https://shop.example.com/g/123',
    });
    expect(routed.entered).toEqual(['dormant-reactivation']);
    return setup.env.client.workflow.getHandle(journeyWorkflowId('dormant-reactivation', customerId));
  }

  const linesFor = async (channel: string, customerId: string) =>
    (await setup.engine.outbox(channel)).filter((l) => l.customerId === customerId);

  /** The code the run's issueCoupon step recorded in its path. */
  const issuedCode = (result: JourneyResult) => {
    const step = result.path.find((p) => p.stepId === 'exclusive-coupon')!;
    expect(step).toMatchObject({ type: 'issueCoupon', outcome: 'issued' });
    expect(step.detail).toMatchObject({ campaign: 'dormant-reactivation' });
    return step.detail!.code as string;
  };

  test('a purchase within the week converts: offer and invitation once each, no second touch', async () => {
    const handle = await enter('dr-converts');
    await setup.env.sleep('3d');
    expect((await handle.query(stateQuery)).currentStep).toBe('wait-order');
    await setup.engine.track('dr-converts', 'order_completed', { amount: 299 });
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
    const again = await setup.engine.track('dr-twice', 'segment_entered', { segment: 'dormant' });
    // Admission refuses a second entry (`running`) and the router signals the event to the run.
    expect(again.entered).toEqual([]);
    expect(again.refused).toEqual([{ journeyId: 'dormant-reactivation', reason: 'running' }]);
    expect(again.signalled).toEqual(['dormant-reactivation']);
    const described = await setup.env.client.workflow
      .getHandle(journeyWorkflowId('dormant-reactivation', 'dr-twice'))
      .describe();
    expect(described.runId).toBe(first.runId);
    await handle.result();
    expect(await linesFor('sms', 'dr-twice')).toHaveLength(1);
  });
});
