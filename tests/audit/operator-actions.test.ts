import type { AuditEntry } from '../../audit-log/types';
import type { RunView } from '../../audit/runs';
import { eventually, startRunsWorld, type RunsWorld } from './support';

/*
 * Operator actions on real runs (Temporal dev server): removing a customer from a journey, and
 * retrying a run that stopped moving because an outside system failed, both against a local
 * HTTP server that answers 503 until the test "fixes" it. Each action needs runs:operate and a
 * reason, and is written to the audit log once; a refused one writes nothing.
 */

let w: RunsWorld;
beforeAll(async () => {
  w = await startRunsWorld();
});
afterAll(async () => {
  await w?.stop();
});

const auditEntries = async (action: string): Promise<AuditEntry[]> =>
  (await w.app.auditLog.list({ action, limit: 1000 })).entries;

const journey = (id: string, steps: string) =>
  [
    `id: ${id}`,
    `name: ${id}`,
    'version: 1',
    'entry:',
    '  api: true',
    '  reentry: always',
    'steps:',
    steps,
  ].join('\n');

describe('remove a customer from a journey', () => {
  const J = 'ops-remove';
  beforeAll(async () => {
    await w.publish(
      journey(
        J,
        ['  - id: wait-order', '    type: waitFor', '    event: order_completed', '    timeout: 1h'].join(
          '\n',
        ),
      ),
    );
    await w.enrol(J, 'r1');
    await eventually(async () => ((await w.state(J, 'r1')).currentStep === 'wait-order' ? true : undefined));
  });

  test('without a reason: 400, the run goes on, nothing logged', async () => {
    const res = await w.post(`/v1/journeys/${J}/customers/r1/remove`, {}, 'operator');
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: 'reason', message: 'is required' }]);
    expect((await w.state(J, 'r1')).status).toBe('running');
    expect(await auditEntries('run.remove')).toEqual([]);
  });

  test('with a reason: the run ends exited, saying who and why; one audit entry', async () => {
    const before = await w.handle(J, 'r1').describe();
    const res = await w.post(
      `/v1/journeys/${J}/customers/r1/remove`,
      { reason: 'asked to stop' },
      'operator',
      'ops-li',
    );
    expect(res.status).toBe(200);
    const run = res.body as RunView;
    expect(run).toMatchObject({
      status: 'exited',
      temporalStatus: 'COMPLETED',
      runId: before.runId,
      currentStep: null,
    });
    expect(run.state).toMatchObject({ status: 'exited', exitReason: 'asked to stop' });
    expect(run.state!.path.at(-1)).toMatchObject({
      type: 'stop',
      // A named key acts as itself: the header names the person only in the audit entry.
      detail: { reason: 'asked to stop', by: 'operator-bot' },
      reason: 'removed by operator-bot: asked to stop',
    });

    const entries = await auditEntries('run.remove');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: { name: 'operator-bot', role: 'operator', onBehalfOf: 'ops-li' },
      action: 'run.remove',
      target: 'customer:r1',
      reason: 'asked to stop',
      detail: {
        journeyId: J,
        version: 1,
        step: 'wait-order',
        workflowId: `journey:${J}:r1`,
        runId: before.runId,
        status: 'exited',
      },
      from: { via: 'api' },
    });
  });

  test('no running run: 404, nothing logged', async () => {
    expect(
      (await w.post(`/v1/journeys/${J}/customers/r1/remove`, { reason: 'again' }, 'operator')).status,
    ).toBe(404);
    expect(
      (await w.post(`/v1/journeys/${J}/customers/nobody/remove`, { reason: 'x' }, 'operator')).status,
    ).toBe(404);
    expect(await auditEntries('run.remove')).toHaveLength(1);
  });
});

describe('retry a step whose outside system keeps failing (running run, failing activity)', () => {
  const J = 'ops-crm';
  let crm: string;
  beforeAll(async () => {
    crm = `${w.provider.url}/crm/crm-sync`;
    w.provider.refusing.add('crm-sync');
    await w.publish(
      journey(
        J,
        [
          '  - id: crm',
          '    type: webhook',
          `    url: ${crm}`,
          '    attempts: 20',
          '  - id: after',
          '    type: wait',
          '    duration: 1h',
        ].join('\n'),
      ),
    );
    await w.enrol(J, 'k1');
    // Failing with backoff: attempt 4 waits ~8 s for attempt 5.
    await w.until(
      J,
      'k1',
      (d) => ((d.raw.pendingActivities?.[0]?.attempt ?? 0) >= 4 ? true : undefined),
      'the webhook to fail three times',
    );
  });

  test('the run shows the failing activity and when Temporal tries it next', async () => {
    const res = await w.get(`/v1/journeys/${J}/customers/k1`, 'operator');
    expect(res.status).toBe(200);
    const run = res.body as RunView;
    expect(run).toMatchObject({ status: 'running', currentStep: 'crm', retry: 'activity' });
    expect(run.pendingActivities).toEqual([
      expect.objectContaining({ activityType: 'callWebhook', state: 'SCHEDULED', maximumAttempts: 20 }),
    ]);
    expect(run.pendingActivities[0]!.attempt).toBeGreaterThanOrEqual(4);
    expect(run.pendingActivities[0]!.lastFailure).toContain('answered 503');
    expect(run.nextWakeAt).toBe(run.pendingActivities[0]!.nextAttemptAt);
    expect(Date.parse(run.nextWakeAt!)).toBeGreaterThan(Date.now());
  });

  test('retry tries it again now instead of after the backoff; the run moves on', async () => {
    const { body: run } = await w.get(`/v1/journeys/${J}/customers/k1`, 'operator');
    const nextAttemptAt = Date.parse(run.pendingActivities[0].nextAttemptAt);
    w.provider.refusing.delete('crm-sync');
    const sent = Date.now();
    const res = await w.post(`/v1/journeys/${J}/customers/k1/retry`, { reason: 'CRM is back' }, 'operator');
    expect(res.status).toBe(200);
    expect(res.body.retry).toEqual({
      action: 'activity-reset',
      workflowId: `journey:${J}:k1`,
      runId: run.runId,
      activities: [
        expect.objectContaining({ activityType: 'callWebhook', attempt: run.pendingActivities[0].attempt }),
      ],
    });

    const ok = await eventually(
      async () => w.provider.callsTo('crm-sync').find((c) => c.status === 200 && c.at >= sent),
      15_000,
      'the CRM to be called again',
    );
    // Temporal would have waited until nextAttemptAt; the reset sent it at once.
    expect(ok.at).toBeLessThan(nextAttemptAt);
    const after = await eventually(async () => {
      const state = await w.state(J, 'k1');
      return state.currentStep === 'after' ? state : undefined;
    });
    expect(after.path[0]).toMatchObject({ stepId: 'crm', outcome: 'sent', detail: { status: 200 } });

    const entries = await auditEntries('run.retry');
    expect(entries.filter((e) => e.target === 'customer:k1')).toEqual([
      expect.objectContaining({
        actor: expect.objectContaining({ name: 'operator-bot', role: 'operator' }),
        reason: 'CRM is back',
        detail: expect.objectContaining({ journeyId: J, step: 'crm', action: 'activity-reset' }),
      }),
    ]);
  });

  test('nothing failing any more: 409, nothing logged', async () => {
    const before = (await auditEntries('run.retry')).length;
    const res = await w.post(`/v1/journeys/${J}/customers/k1/retry`, { reason: 'again' }, 'operator');
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      error: 'nothing_to_retry',
      message: 'the run is running and none of its activities is failing',
    });
    expect(await auditEntries('run.retry')).toHaveLength(before);
  });
});

describe('retry a run that failed (the SMS provider refused the message)', () => {
  const J = 'ops-sms';
  let failed: RunView;
  beforeAll(async () => {
    w.provider.refusing.add('f2');
    await w.publish(
      journey(
        J,
        [
          '  - id: offer',
          '    type: send',
          '    channel: sms',
          '    template: dormant-offer',
          '  - id: wait-order',
          '    type: waitFor',
          '    event: order_completed',
          '    timeout: 1h',
        ].join('\n'),
      ),
    );
    await w.enrol(J, 'f2', { name: 'Li Lei', phone: '+8613900139000', locale: 'en' });
    await w.until(J, 'f2', (d) => (d.status.name === 'FAILED' ? true : undefined), 'f2 to fail');
    failed = (await w.get(`/v1/journeys/${J}/customers/f2`, 'operator')).body;
  });

  test('the failed run says why and where', () => {
    expect(failed).toMatchObject({
      status: 'failed',
      temporalStatus: 'FAILED',
      retry: 'reset',
      currentStep: 'offer',
      messages: [],
    });
    expect(failed.failure).toContain('SMS provider answered 503');
  });

  test('without a reason: 400; a customer without a run: 404', async () => {
    expect((await w.post(`/v1/journeys/${J}/customers/f2/retry`, { reason: '' }, 'operator')).status).toBe(
      400,
    );
    expect(
      (await w.post(`/v1/journeys/${J}/customers/nobody/retry`, { reason: 'x' }, 'operator')).status,
    ).toBe(404);
    expect((await w.handle(J, 'f2').describe()).status.name).toBe('FAILED');
  });

  test('retry resets it once, however many operators press it; the step runs again and the journey goes on', async () => {
    w.provider.refusing.delete('f2');
    const answers = await Promise.all(
      [1, 2, 3].map(() =>
        w.post(`/v1/journeys/${J}/customers/f2/retry`, { reason: 'provider fixed' }, 'operator', 'ops-wu'),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const other of answers.filter((a) => a.status !== 200)) {
      expect(other.status).toBe(409);
      expect(['retry_in_progress', 'nothing_to_retry']).toContain(other.body.error);
    }
    const outcome = ok[0]!.body.retry;
    expect(outcome).toMatchObject({
      action: 'reset',
      workflowId: `journey:${J}:f2`,
      failedRunId: failed.runId,
    });
    expect(outcome.runId).not.toBe(failed.runId);
    for (const a of ok) expect(a.body.retry).toEqual(outcome);
    expect(ok.filter((a) => !a.body.repeated)).toHaveLength(1);

    // The new run continues from before the failed step: it sends the SMS, once, and waits.
    const state = await eventually(async () => {
      const s = await w.state(J, 'f2');
      return s.currentStep === 'wait-order' ? s : undefined;
    });
    expect(state.path.map((e) => [e.stepId, e.outcome])).toEqual([
      ['offer', 'sent'],
      ['wait-order', undefined],
    ]);
    const lines = await eventually(async () => {
      const found = (await w.engine.outbox('sms')).filter((l) => l.customerId === 'f2');
      return found.length > 0 ? found : undefined;
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.body).toContain('Li Lei, we miss you!');

    // Temporal: the failed run and the one new run, nothing terminated by a second reset.
    const runs: string[] = [];
    for await (const r of w.env.client.workflow.list({ query: `WorkflowId = 'journey:${J}:f2'` }))
      runs.push(
        `${r.runId === failed.runId ? 'failed' : r.runId === outcome.runId ? 'new' : r.runId}:${r.status.name}`,
      );
    expect(runs.sort()).toEqual(['failed:FAILED', 'new:RUNNING']);

    const entries = (await auditEntries('run.retry')).filter((e) => e.target === 'customer:f2');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: { role: 'operator', onBehalfOf: 'ops-wu' },
      reason: 'provider fixed',
      detail: {
        journeyId: J,
        version: 1,
        step: 'offer',
        temporalStatus: 'FAILED',
        action: 'reset',
        failedRunId: failed.runId,
        runId: outcome.runId,
      },
    });

    // The run as read now: the new run, its message sent.
    const now = (await w.get(`/v1/journeys/${J}/customers/f2`, 'operator')).body as RunView;
    expect(now).toMatchObject({
      runId: outcome.runId,
      status: 'running',
      retry: null,
      currentStep: 'wait-order',
    });
    expect(now.messages).toEqual([
      expect.objectContaining({ stepId: 'offer', to: '+86139****9000', masked: true }),
    ]);
  });

  test('the counts take the retried run as what it is now', async () => {
    const expected = {
      version: 1,
      steps: { offer: 0, 'wait-order': 1 },
      entered: 1,
      running: 1,
      converted: 0,
      completed: 0,
      exited: 0,
      failed: 0,
      retried: 1,
    };
    let last: unknown;
    await eventually(
      async () => {
        const res = await w.get(`/v1/journeys/${J}/counts`);
        last = res.body.versions;
        return JSON.stringify(last) === JSON.stringify([expected]) ? true : undefined;
      },
      20_000,
      'the counts to show one running customer',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: last answer ${JSON.stringify(last)}`);
    });
  });

  test('once it runs again there is nothing to retry', async () => {
    const res = await w.post(`/v1/journeys/${J}/customers/f2/retry`, { reason: 'again' }, 'operator');
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('nothing_to_retry');
  });
});
