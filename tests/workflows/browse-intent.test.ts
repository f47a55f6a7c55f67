import { eventually } from '../support/engine';
import { useTimeSkippingEngine } from '../support/time-skipping';
import { journeyWorkflowId, stateQuery, type JourneyResult } from '../../workflows/definitions';

const HOUR = 3600_000;

describe('browse-intent journey on the time-skipping server', () => {
  const setup = useTimeSkippingEngine();

  async function enter(customerId: string) {
    await setup.engine.identify(customerId, { name: 'Li Na', locale: 'zh-CN', openId: `o-${customerId}` });
    const routed = await setup.engine.track(customerId, 'content_viewed', {
      category: 'living-room-decoration',
      title: '北欧风客厅改造',
    });
    expect(routed.entered).toEqual(['browse-intent']);
    return setup.env.client.workflow.getHandle(journeyWorkflowId('browse-intent', customerId));
  }

  test('an order before the timeout converts the run: the plan is pushed once, no reminder', async () => {
    const handle = await enter('bi-converts');
    await setup.env.sleep('2h');
    const waiting = await handle.query(stateQuery);
    expect(waiting.currentStep).toBe('wait-order');

    const order = await setup.engine.track('bi-converts', 'order_completed', { amount: 3999 });
    expect(order.signalled).toEqual(['browse-intent']);
    const result: JourneyResult = await handle.result();
    expect(result.status).toBe('converted');

    const pushes = await eventually(async () => {
      const lines = await setup.engine.outbox('push');
      return lines.length ? lines : undefined;
    });
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).toMatchObject({
      journeyId: 'browse-intent',
      journeyVersion: 1,
      customerId: 'bi-converts',
      stepId: 'push-plan',
      channel: 'push',
      template: 'living-room-plan',
      locale: 'zh-CN',
    });
    expect(pushes[0]!.body).toContain('北欧风客厅改造');
    expect(await setup.engine.outbox('miniprogram')).toHaveLength(0);
    const stats = await setup.engine.stats.get('browse-intent', 1);
    expect(stats).toMatchObject({ entered: 1, converted: 1, 'step:push-plan:sent': 1 });
  });

  test('without an order the reminder follows exactly the configured 72 h after the push', async () => {
    const handle = await enter('bi-times-out');
    const result: JourneyResult = await handle.result();
    expect(result.status).toBe('completed');

    const step = (id: string) => result.path.find((p) => p.stepId === id)!;
    const at = (id: string) => Date.parse(step(id).at);
    // Timers are set for exactly the configured time; the next step starts when the timer fires
    // (workflow time moves on only by the milliseconds the worker takes to pick the task up).
    expect(Date.parse(step('let-it-settle').detail!.wakeAt as string) - at('let-it-settle')).toBe(0.5 * HOUR);
    expect(Date.parse(step('wait-order').detail!.timeoutAt as string) - at('wait-order')).toBe(72 * HOUR);
    expect(at('push-plan') - at('let-it-settle')).toBeGreaterThanOrEqual(0.5 * HOUR);
    expect(at('push-plan') - at('let-it-settle')).toBeLessThan(0.5 * HOUR + 1000);
    expect(at('remind-plan') - at('wait-order')).toBeGreaterThanOrEqual(72 * HOUR);
    expect(at('remind-plan') - at('wait-order')).toBeLessThan(72 * HOUR + 1000);
    expect(result.path.map((p) => `${p.stepId}:${p.outcome}`)).toEqual([
      'let-it-settle:waited',
      'push-plan:sent',
      'wait-order:timeout',
      'remind-plan:sent',
      'done:exit',
    ]);

    const reminders = await eventually(async () => {
      const lines = (await setup.engine.outbox('miniprogram')).filter((l) => l.customerId === 'bi-times-out');
      return lines.length ? lines : undefined;
    });
    expect(reminders).toHaveLength(1);
    expect(reminders[0]).toMatchObject({ stepId: 'remind-plan', to: 'o-bi-times-out' });
    const pushes = (await setup.engine.outbox('push')).filter((l) => l.customerId === 'bi-times-out');
    expect(pushes).toHaveLength(1);
  });

  test('content outside the living room does not enter the journey', async () => {
    const routed = await setup.engine.track('bi-other', 'content_viewed', { category: 'kitchen' });
    expect(routed.entered).toEqual([]);
  });
});
