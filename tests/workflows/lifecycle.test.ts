import { journeyVersionKey } from '../../runtime/search-attributes';
import { holdbackGroup } from '../../workflows/buckets';
import { migrateSignal, stopSignal } from '../../workflows/definitions';
import { DAY, HOUR, journey, trail, useWorkflowSuite } from './harness';

const SMS_CUSTOMER = { name: '王芳', phone: '+8613800138000' };

describe('run lifecycle on the time-skipping server', () => {
  const { setup, start, send, state } = useWorkflowSuite();

  describe('stop', () => {
    test('ends a waiting run at once, with the reason, and counts it as exited', async () => {
      const j = journey('stop-me', [
        { id: 'long-wait', type: 'wait', durationMs: 30 * DAY },
        { id: 'never', type: 'tag', tags: ['reached'] },
      ]);
      const run = await start(j, 'st-1');
      await setup.env.sleep(HOUR);
      await run.handle.signal(stopSignal, { reason: 'journey stopped: wrong audience', by: 'alice' });
      const result = await run.handle.result();
      expect(result.status).toBe('exited');
      expect(trail(result)).toEqual(['long-wait:exited', 'long-wait:exited']);
      expect(result.path[1]).toMatchObject({
        type: 'stop',
        detail: { reason: 'journey stopped: wrong audience', by: 'alice' },
      });
      expect(Date.parse(result.path[1]!.at) - Date.parse(result.path[0]!.at)).toBeLessThan(2 * HOUR);
      const final = await state(run.handle);
      expect(final).toMatchObject({
        status: 'exited',
        exitReason: 'journey stopped: wrong audience',
        currentStep: null,
      });
      expect(await setup.engine.stats.get('stop-me', 1)).toEqual({ entered: 1, exited: 1 });
      expect(await setup.engine.profiles.getWithTags('st-1')).not.toHaveProperty('tags', ['reached']);
    });
  });

  describe('migrate', () => {
    const v1 = journey('migrating', [
      { id: 'cool-off', type: 'wait', durationMs: 10 * DAY },
      { id: 'old-tag', type: 'tag', tags: ['v1'] },
      { id: 'end', type: 'exit' },
    ]);
    const v2 = journey(
      'migrating',
      [
        { id: 'short-wait', type: 'wait', durationMs: HOUR },
        { id: 'new-tag', type: 'tag', tags: ['v2'] },
        { id: 'end', type: 'exit' },
      ],
      { version: 2 },
    );

    test('moves a waiting run to the new version at the mapped step', async () => {
      const run = await start(v1, 'mg-1');
      await setup.env.sleep(DAY);
      await run.handle.signal(migrateSignal, {
        journey: v2,
        mapping: { 'cool-off': 'short-wait' },
        by: 'ops',
      });
      const result = await run.handle.result();
      expect(result.status).toBe('completed');
      expect(trail(result)).toEqual([
        'cool-off:migrated',
        'cool-off:version:2',
        'short-wait:waited',
        'new-tag:tagged',
        'end:exit',
      ]);
      expect(result.path[1]).toMatchObject({
        type: 'migrate',
        detail: { from: 1, to: 2, goto: 'short-wait', by: 'ops' },
      });
      // It moved when the signal came, not when the old 10-day wait would have ended.
      expect(Date.parse(result.path[2]!.at) - Date.parse(result.path[0]!.at)).toBeLessThan(2 * DAY);

      const final = await state(run.handle);
      expect(final).toMatchObject({
        journeyVersion: 2,
        migratedFrom: { version: 1, stepId: 'cool-off', by: 'ops' },
      });
      const description = await run.handle.describe();
      expect(description.typedSearchAttributes.get(journeyVersionKey)).toBe(2);
      expect(await setup.engine.stats.get('migrating', 1)).toEqual({ entered: 1 });
      expect(await setup.engine.stats.get('migrating', 2)).toEqual({ completed: 1 });
    });

    test('a mapping without a target for the current step is refused and the run stays on its version', async () => {
      const run = await start(v1, 'mg-2');
      await setup.env.sleep(DAY);
      await run.handle.signal(migrateSignal, {
        journey: v2,
        mapping: { 'cool-off': 'no-such-step' },
        by: 'ops',
      });
      const result = await run.handle.result();
      expect(trail(result)).toEqual([
        'cool-off:waited',
        'cool-off:refused:unmapped',
        'old-tag:tagged',
        'end:exit',
      ]);
      // The refused migration did not restart the wait: it ended 10 days after it began.
      const waited = Date.parse(result.path[2]!.at) - Date.parse(result.path[0]!.at);
      expect(waited).toBeGreaterThanOrEqual(10 * DAY);
      expect(waited).toBeLessThan(10 * DAY + 2000);
      expect((await state(run.handle)).journeyVersion).toBe(1);
      expect((await run.handle.describe()).typedSearchAttributes.get(journeyVersionKey)).toBe(1);
    });
  });

  describe('holdback', () => {
    test('each run is held back by its own hash; control runs receive nothing; counts per group', async () => {
      const j = journey(
        'held-back',
        [
          {
            id: 'coupon',
            type: 'issueCoupon',
            campaign: 'hb',
            value: 10,
            currency: 'CNY',
            expiresInMs: 7 * DAY,
          },
          { id: 'offer', type: 'send', channel: 'sms', template: 'dormant-offer' },
          { id: 'alert', type: 'notify', target: 'ops', template: 'complaint-alert' },
          { id: 'seen', type: 'tag', tags: ['in-held-back'] },
          { id: 'think', type: 'wait', durationMs: 3 * DAY },
        ],
        { holdback: 50 },
      );
      const runs = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          start(j, `hb-${i}`, { traits: { ...SMS_CUSTOMER, phone: `+86138001380${10 + i}` } }),
        ),
      );
      await setup.env.sleep(DAY);
      // Half of them order while the run waits.
      await Promise.all(runs.filter((_, i) => i % 2 === 0).map((r) => send(r.handle, 'order_completed')));

      const expected: Record<string, number> = {};
      const bump = (field: string) => (expected[field] = (expected[field] ?? 0) + 1);
      for (const [i, run] of runs.entries()) {
        const result = await run.handle.result();
        const group = holdbackGroup(50, run.runKey);
        const final = await state(run.handle);
        expect(final.group).toBe(group);
        const touches = group === 'control' ? 'skipped:holdback' : undefined;
        expect(trail(result).slice(0, 4)).toEqual([
          `coupon:${touches ?? 'issued'}`,
          `offer:${touches ?? 'sent'}`,
          `alert:${touches ?? 'sent'}`,
          'seen:tagged',
        ]);
        bump(`entered:${group}`);
        if (i % 2 === 0) bump(`converted:${group}`);
      }
      expect(Object.keys(expected)).toEqual(expect.arrayContaining(['entered:control', 'entered:treatment']));
      const stats = await setup.engine.stats.get('held-back', 1);
      expect(stats).toMatchObject({ entered: 16, converted: 8, completed: 8, ...expected });
      expect(stats['step:offer:sent']).toBe(expected['entered:treatment']);
    });
  });

  describe('conversion window', () => {
    const longSteps = (id: string) =>
      journey(id, [{ id: 'nurture', type: 'wait', durationMs: 14 * DAY }], { conversionWindowMs: 3 * DAY });

    test('a goal inside the window converts', async () => {
      const run = await start(longSteps('window-in'), 'cw-1');
      await setup.env.sleep(2 * DAY);
      await send(run.handle, 'order_completed');
      expect((await run.handle.result()).status).toBe('converted');
      expect(await setup.engine.stats.get('window-in', 1)).toEqual({ entered: 1, converted: 1 });
    });

    test('a goal after the window ends the run as exited, not converted', async () => {
      const run = await start(longSteps('window-out'), 'cw-2');
      await setup.env.sleep(4 * DAY);
      await send(run.handle, 'order_completed');
      expect((await run.handle.result()).status).toBe('exited');
      const final = await state(run.handle);
      expect(final.exitReason).toBe('goal after conversion window');
      expect(final.conversion).toBeUndefined();
      expect(await setup.engine.stats.get('window-out', 1)).toEqual({ entered: 1, exited: 1 });
    });

    const shortSteps = (id: string) =>
      journey(id, [{ id: 'hello', type: 'tag', tags: ['greeted'] }], { conversionWindowMs: 5 * DAY });

    test('steps that end early leave the run open for goals until the window closes', async () => {
      const run = await start(shortSteps('window-open'), 'cw-3', { clockStart: '2026-03-01T10:00:00+08:00' });
      await setup.env.sleep(2 * DAY);
      const open = await state(run.handle);
      expect(open).toMatchObject({ status: 'running', currentStep: null });
      expect(Date.parse(open.wakeAt!) - Date.parse(open.enteredAt)).toBe(5 * DAY);
      expect(open.wakeAt!.startsWith('2026-03-06T02:00:00')).toBe(true);
      await send(run.handle, 'order_completed');
      expect((await run.handle.result()).status).toBe('converted');
    });

    test('without a goal the run completes when the window closes', async () => {
      const run = await start(shortSteps('window-closes'), 'cw-4');
      const result = await run.handle.result();
      expect(result.status).toBe('completed');
      const { startTime, closeTime } = await run.handle.describe();
      const open = closeTime!.getTime() - startTime.getTime();
      expect(open).toBeGreaterThanOrEqual(5 * DAY);
      expect(open).toBeLessThan(5 * DAY + 60_000);
    });
  });

  describe('continue-as-new', () => {
    test('carries path, visits, history, group, arms, migration and clock into the next runs', async () => {
      const steps = (version: number) =>
        journey(
          'long-runner',
          [
            { id: 'greet', type: 'tag', tags: ['long'] },
            {
              id: 'ab',
              type: 'split',
              arms: [
                { name: 'A', percent: 50, goto: 'listen' },
                { name: 'B', percent: 50, goto: 'listen' },
              ],
            },
            { id: 'listen', type: 'waitFor', event: 'go', timeoutMs: 3 * DAY },
            { id: 'weekly', type: 'wait', durationMs: 7 * DAY },
            { id: 'ab-again', type: 'goto', to: 'ab', maxIterations: 1 },
            { id: 'loop', type: 'goto', to: 'weekly', maxIterations: 2 },
            {
              id: 'check',
              type: 'branch',
              branches: [{ when: { all: [{ did: 'message_opened' }, { tag: 'long' }] }, goto: 'done' }],
              else: 'nope',
            },
            { id: 'nope', type: 'exit' },
            { id: 'done', type: 'exit' },
          ],
          { version, holdback: 50 },
        );
      const clockStart = '2026-03-01T10:00:00+08:00';
      const run = await start(steps(1), 'can-1', { clockStart, maxStepsPerRun: 2 });
      await setup.env.sleep(HOUR);
      // Received in an early execution; the branch at the very end must still see it.
      await send(run.handle, 'message_opened', { journeyId: 'long-runner', stepId: 'greet' });
      await run.handle.signal(migrateSignal, { journey: steps(2), mapping: {}, by: 'ops' });

      const result = await run.handle.result();
      expect(result.status).toBe('completed');
      const arm = result.path.find((p) => p.type === 'split')!.outcome;
      expect(trail(result)).toEqual([
        'greet:tagged',
        `ab:${arm}`,
        'listen:migrated',
        'listen:version:2',
        'listen:timeout',
        'weekly:waited',
        'ab-again:goto:ab',
        `ab:${arm}`,
        'listen:timeout',
        'weekly:waited',
        'ab-again:guard',
        'loop:goto:weekly',
        'weekly:waited',
        'ab-again:guard',
        'loop:goto:weekly',
        'weekly:waited',
        'ab-again:guard',
        'loop:guard',
        'check:branch:0',
        'done:exit',
      ]);

      const description = await run.handle.describe();
      expect(description.runId).not.toBe(run.firstRunId); // it really continued as new
      const final = await state(run.handle);
      expect(final).toMatchObject({
        status: 'completed',
        journeyVersion: 2,
        group: holdbackGroup(50, run.runKey),
        migratedFrom: { version: 1, stepId: 'listen', by: 'ops' },
      });
      expect(final.enteredAt.startsWith('2026-03-01T02:00')).toBe(true);
      // The clock offset went along: every step is in the scenario's calendar, weeks apart.
      const last = Date.parse(final.path.at(-1)!.at);
      expect(last - Date.parse(clockStart)).toBeGreaterThan(30 * DAY);
      expect(last - Date.parse(clockStart)).toBeLessThan(40 * DAY);
      // Counted once per run however many executions it took.
      const v1 = await setup.engine.stats.get('long-runner', 1);
      const v2 = await setup.engine.stats.get('long-runner', 2);
      expect(v1).toMatchObject({
        entered: 1,
        [`entered:${final.group}`]: 1,
        [`split:ab:${arm!.slice(4)}`]: 1,
      });
      expect(v2).toMatchObject({ completed: 1 });
    });
  });
});
