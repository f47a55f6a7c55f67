import type { RunView } from '../../audit/runs';
import { eventually, startRunsWorld, TEMPORAL_UI, type RunsWorld } from './support';

/*
 * Running journeys read back through the API on a Temporal dev server (real visibility): counts
 * per version and step that agree with what every run says of itself, the runs at a step paged
 * with opaque cursors, the graph with live counts, and one run with the reasons of its path,
 * its next wake-up, messages, coupons and Temporal UI link.
 */

let w: RunsWorld;
beforeAll(async () => {
  w = await startRunsWorld();
});
afterAll(async () => {
  await w?.stop();
});

/** The head of every journey here: entered through the API, again and again; a purchase ends it. */
const head = (id: string, name: string, version: number) => `
id: ${id}
name: ${name}
version: ${version}
entry:
  api: true
  reentry: always
exit:
  - event: purchase
`;

const COUNTS_V1 = `${head('audit-counts', 'Audit counts', 1)}steps:
  - id: route
    type: branch
    branches:
      - when: { trait: lane, eq: a }
        goto: wait-a
      - when: { trait: lane, eq: done }
        goto: finish
      - when: { trait: lane, eq: fail }
        goto: offer
    else: wait-order
  - id: wait-a
    type: wait
    duration: 1h
    next: finish
  - id: wait-order
    type: waitFor
    event: order_completed
    timeout: 1h
    next: finish
  - id: offer
    type: send
    channel: sms
    template: dormant-offer
  - id: finish
    type: exit
`;

const COUNTS_V2 = `${head('audit-counts', 'Audit counts', 2)}steps:
  - id: hold
    type: wait
    duration: 2h
  - id: finish
    type: exit
`;

const VIEW = `${head('audit-view', 'Audit view', 1)}steps:
  - id: gift
    type: issueCoupon
    campaign: audit-winback
    value: 50
    currency: CNY
    expiresIn: 14d
  - id: route
    type: branch
    branches:
      - when: { trait: rfm, eq: champion }
        goto: wait-order
      - when: { trait: rfm, eq: dormant }
        goto: offer
    else: wait-order
  - id: offer
    type: send
    channel: sms
    template: dormant-offer
  - id: wait-order
    type: waitFor
    event: order_completed
    timeout: 7d
`;

const J = 'audit-counts';
/** Where each v1 customer is sent by its `lane` trait, and what then happens to it. */
const V1_CUSTOMERS: Record<string, string> = {
  a1: 'a',
  a2: 'a',
  x1: 'a', // removed by an operator: exited
  o1: 'other', // waits for an order
  c1: 'other', // buys: converted
  d1: 'done', // runs to the exit step: completed
  f1: 'fail', // the SMS provider refuses it: failed
};
const V2_CUSTOMERS = ['n1', 'n2'];

describe('a journey with customers everywhere', () => {
  beforeAll(async () => {
    await w.publish(COUNTS_V1);
    w.provider.refusing.add('f1');
    for (const [customer, lane] of Object.entries(V1_CUSTOMERS)) await w.enrol(J, customer, { lane });
    // Each run reaches where it waits (or ends) before anything else happens to it.
    const settled: Record<
      string,
      (d: { status: { name: string } }, s: { currentStep: string | null }) => boolean
    > = {
      a1: (_d, s) => s.currentStep === 'wait-a',
      a2: (_d, s) => s.currentStep === 'wait-a',
      x1: (_d, s) => s.currentStep === 'wait-a',
      o1: (_d, s) => s.currentStep === 'wait-order',
      c1: (_d, s) => s.currentStep === 'wait-order',
      d1: (d) => d.status.name === 'COMPLETED',
      f1: (d) => d.status.name === 'FAILED',
    };
    for (const [customer, ok] of Object.entries(settled)) {
      await eventually(
        async () => {
          const d = await w.handle(J, customer).describe();
          return ok(d, await w.state(J, customer)) ? true : undefined;
        },
        30_000,
        `${customer} to settle`,
      );
    }
    expect((await w.track('c1', 'purchase')).signalled).toEqual([J]);
    const removed = await w.post(
      `/v1/journeys/${J}/customers/x1/remove`,
      { reason: 'asked to stop' },
      'operator',
    );
    expect(removed.status).toBe(200);
    await w.until(J, 'c1', (d) => (d.status.name === 'COMPLETED' ? true : undefined), 'c1 to convert');

    await w.publish(COUNTS_V2);
    for (const customer of V2_CUSTOMERS) await w.enrol(J, customer);
    for (const customer of V2_CUSTOMERS) {
      await eventually(
        async () => ((await w.state(J, customer)).currentStep === 'hold' ? true : undefined),
        30_000,
        `${customer} to hold`,
      );
    }
  });

  test('counts per version and step agree with what each run says of itself', async () => {
    // What the runs themselves say: Temporal's status, and the run's own state query.
    const expected = new Map<number, Record<string, unknown>>();
    const blank = (version: number, steps: string[]) => ({
      version,
      steps: Object.fromEntries(steps.map((s) => [s, 0])),
      entered: 0,
      running: 0,
      converted: 0,
      completed: 0,
      exited: 0,
      failed: 0,
      retried: 0,
    });
    expected.set(1, blank(1, ['route', 'wait-a', 'wait-order', 'offer', 'finish']));
    expected.set(2, blank(2, ['hold', 'finish']));
    for (const customer of [...Object.keys(V1_CUSTOMERS), ...V2_CUSTOMERS]) {
      const d = await w.handle(J, customer).describe();
      const state = await w.state(J, customer);
      const counts = expected.get(state.journeyVersion) as ReturnType<typeof blank>;
      counts.entered++;
      if (d.status.name === 'FAILED') counts.failed++;
      else if (d.status.name === 'RUNNING') {
        counts.running++;
        counts.steps[state.currentStep!]!++;
      } else counts[state.status as 'converted' | 'completed' | 'exited']++;
    }
    // What we know happened, so the comparison is not between two empty answers.
    expect(expected.get(1)).toEqual({
      version: 1,
      steps: { route: 0, 'wait-a': 2, 'wait-order': 1, offer: 0, finish: 0 },
      entered: 7,
      running: 3,
      converted: 1,
      completed: 1,
      exited: 1,
      failed: 1,
      retried: 0,
    });
    expect(expected.get(2)).toMatchObject({ steps: { hold: 2, finish: 0 }, entered: 2, running: 2 });

    // Visibility catches up with the runs a moment later.
    const body = await eventually(
      async () => {
        const res = await w.get(`/v1/journeys/${J}/counts`, 'marketer');
        expect(res.status).toBe(200);
        return JSON.stringify(res.body.versions) === JSON.stringify([expected.get(1), expected.get(2)])
          ? res.body
          : undefined;
      },
      20_000,
      'visibility counts to match the runs',
    );
    expect(body.journeyId).toBe(J);

    const one = await w.get(`/v1/journeys/${J}/counts?version=2`);
    expect(one.body).toEqual({ journeyId: J, versions: [expected.get(2)] });
  });

  test('counts answer 404 for an unknown journey or version, 400 for a bad version', async () => {
    expect((await w.get('/v1/journeys/nope/counts')).status).toBe(404);
    expect((await w.get(`/v1/journeys/${J}/counts?version=9`)).status).toBe(404);
    const bad = await w.get(`/v1/journeys/${J}/counts?version=two`);
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ path: 'version', message: 'must be a version number (1, 2, ...)' }]);
  });

  test('the graph shows how many customers are at each step now', async () => {
    const plain = await w.get(`/v1/journeys/${J}/graph`);
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({
      journeyId: J,
      version: 2,
      mermaid: expect.stringContaining('flowchart TD'),
    });
    expect(plain.body.mermaid).not.toContain('here now');

    const live = await w.get(`/v1/journeys/${J}/graph?version=1&counts=true`);
    expect(live.status).toBe(200);
    expect(live.body.version).toBe(1);
    expect(live.body.counts).toMatchObject({
      version: 1,
      running: 3,
      steps: { 'wait-a': 2, 'wait-order': 1 },
    });
    const lines: string[] = live.body.mermaid.split('\n');
    const node = (stepId: string) => lines.find((l) => l.includes(`"${stepId} · `))!;
    expect(node('wait-a')).toContain('2 here now');
    expect(node('wait-order')).toContain('1 here now');
    expect(node('offer')).toContain('0 here now');
    expect(lines.find((l) => l.startsWith('  entry('))).toContain(
      '<br/>7 entered · 3 running<br/>1 converted · 1 completed · 1 exited · 1 failed"',
    );
    expect((await w.get(`/v1/journeys/${J}/graph?counts=yes`)).status).toBe(400);
  });

  test('the runs at a step, page by page with an opaque cursor', async () => {
    const first = await w.get(`/v1/journeys/${J}/runs?step=wait-a&status=running&pageSize=1`, 'auditor');
    expect(first.status).toBe(200);
    expect(first.body.runs).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
    const seen = [...first.body.runs];
    let cursor: string | null = first.body.nextCursor;
    while (cursor) {
      const page = await w.get(
        `/v1/journeys/${J}/runs?step=wait-a&status=running&pageSize=1&cursor=${cursor}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.runs);
      cursor = page.body.nextCursor;
    }
    expect(seen.map((r) => r.customerId).sort()).toEqual(['a1', 'a2']);
    const a1 = seen.find((r) => r.customerId === 'a1');
    expect(a1).toEqual({
      customerId: 'a1',
      workflowId: `journey:${J}:a1`,
      runId: (await w.handle(J, 'a1').describe()).runId,
      version: 1,
      step: 'wait-a',
      status: 'running',
      startTime: expect.any(String),
      closeTime: null,
    });

    // A cursor belongs to its filters.
    const replayed = await w.get(
      `/v1/journeys/${J}/runs?step=wait-order&pageSize=1&cursor=${first.body.nextCursor}`,
    );
    expect(replayed.status).toBe(400);
    expect(replayed.body.issues[0].path).toBe('cursor');
  });

  test('runs by outcome and by version', async () => {
    const list = async (query: string) => {
      const res = await w.get(`/v1/journeys/${J}/runs?${query}`);
      expect(res.status).toBe(200);
      return (res.body.runs as { customerId: string; status: string; step: string | null }[])
        .map((r) => `${r.customerId}:${r.status}:${r.step}`)
        .sort();
    };
    expect(await list('status=failed')).toEqual(['f1:failed:offer']);
    expect(await list('status=converted')).toEqual(['c1:converted:null']);
    expect(await list('status=exited')).toEqual(['x1:exited:null']);
    expect(await list('status=completed')).toEqual(['d1:completed:null']);
    expect(await list('version=2')).toEqual(['n1:running:hold', 'n2:running:hold']);
    expect(await list('version=1')).toHaveLength(7);
  });

  test('bad listing parameters are answered 400 with every one named', async () => {
    const res = await w.get(`/v1/journeys/${J}/runs?status=stuck&pageSize=0&step=Bad%20Step&colour=red`);
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'colour',
      'pageSize',
      'status',
      'step',
    ]);
    expect((await w.get('/v1/journeys/nope/runs')).status).toBe(404);
  });

  test('reading runs needs runs:read, counts journeys:read; operator actions runs:operate', async () => {
    expect((await w.get(`/v1/journeys/${J}/runs`, 'ingest')).status).toBe(403);
    expect((await w.get(`/v1/journeys/${J}/counts`, 'ingest')).status).toBe(403);
    expect((await w.get(`/v1/journeys/${J}/customers/a1`, 'ingest')).status).toBe(403);
    const denied = await w.post(`/v1/journeys/${J}/customers/a1/remove`, { reason: 'x' }, 'auditor');
    expect(denied.status).toBe(403);
    expect((await w.state(J, 'a1')).status).toBe('running');
  });
});

describe('one run, as an auditor reads it', () => {
  const V = 'audit-view';
  let run: RunView;

  beforeAll(async () => {
    await w.publish(VIEW);
    await w.enrol(V, 'v1', { name: '王芳', phone: '+8613800138000', rfm: 'dormant', locale: 'en' });
    run = await eventually(
      async () => {
        const res = await w.get(`/v1/journeys/${V}/customers/v1`, 'auditor');
        return res.status === 200 &&
          res.body.currentStep === 'wait-order' &&
          res.body.messages[0]?.status === 'sent'
          ? (res.body as RunView)
          : undefined;
      },
      30_000,
      'v1 to wait for an order with its SMS sent',
    );
  });

  test('the path with a reason for every step, from the pinned version', () => {
    const code = run.coupons[0]!.code;
    expect(run.state!.path.map((e) => [e.stepId, e.reason])).toEqual([
      ['gift', `coupon issued: audit-winback ${code}, valid until ${run.coupons[0]!.expiresAt}`],
      ['route', 'branch b2: rfm = dormant → offer'],
      ['offer', 'sent sms: dormant-offer'],
      ['wait-order', `waiting for order_completed until ${run.state!.wakeAt}`],
    ]);
    expect(run).toMatchObject({ status: 'running', version: 1, temporalStatus: 'RUNNING', retry: null });
    expect(run.nextWakeAt).toBe(run.state!.wakeAt);
    expect(Date.parse(run.nextWakeAt!) - Date.parse(run.state!.path[3]!.at)).toBe(7 * 86_400_000);
    expect(run.temporalUiUrl).toBe(
      `${TEMPORAL_UI}/namespaces/default/workflows/${encodeURIComponent(`journey:${V}:v1`)}/${run.runId}`,
    );
  });

  test('its messages, personal data masked; its coupons with their redemption', async () => {
    const [message] = run.messages;
    expect(message).toMatchObject({
      stepId: 'offer',
      channel: 'sms',
      template: 'dormant-offer',
      status: 'sent',
      locale: 'en',
      to: '+86138****8000',
      masked: true,
    });
    expect(message!.body).toContain('***, we miss you!');
    expect(message!.body).toContain(run.coupons[0]!.code);
    expect(JSON.stringify(run)).not.toContain('王芳');
    expect(JSON.stringify(run)).not.toContain('13800138000');
    expect(run.coupons).toEqual([
      expect.objectContaining({
        campaign: 'audit-winback',
        value: 50,
        currency: 'CNY',
        status: 'issued',
        redemption: null,
      }),
    ]);

    await w.engine.coupons.redeem({ code: run.coupons[0]!.code, via: 'api', userId: 'v1' });
    const after = await w.get(`/v1/journeys/${V}/customers/v1`, 'auditor');
    expect(after.body.coupons[0]).toMatchObject({ status: 'redeemed', redemption: { via: 'api' } });
  });

  test('?reveal=true needs personal-data:reveal and is written to the audit log', async () => {
    const before = (await w.app.auditLog.list({ action: 'personal-data.read' })).entries.length;
    expect((await w.get(`/v1/journeys/${V}/customers/v1?reveal=true`, 'auditor')).status).toBe(403);

    const revealed = await w.get(`/v1/journeys/${V}/customers/v1?reveal=true`, 'admin');
    expect(revealed.status).toBe(200);
    expect(revealed.body.messages[0]).toMatchObject({ to: '+8613800138000', masked: false });
    expect(revealed.body.messages[0].body).toContain('王芳, we miss you!');

    const entries = (await w.app.auditLog.list({ action: 'personal-data.read' })).entries;
    expect(entries).toHaveLength(before + 1);
    expect(entries[entries.length - 1]).toMatchObject({
      actor: { name: 'admin', role: 'admin' },
      action: 'personal-data.read',
      target: 'customer:v1',
      detail: { journeyId: V },
    });
  });

  test('no run: 404', async () => {
    const res = await w.get(`/v1/journeys/${V}/customers/nobody`);
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });
});
