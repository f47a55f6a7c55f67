import { WorkflowNotFoundError } from '@temporalio/client';
import { Queue } from 'bullmq';
import pino from 'pino';
import request from 'supertest';
import type { Journey } from '../../language/types';
import { EVENTS_QUEUE, type EnrolEvent, type IngestEvent } from '../../queues/events';
import { createRouterWorker } from '../../router/worker';
import { journeyWorkflowId, stateQuery } from '../../workflows/definitions';
import {
  JourneySchedules,
  runScheduleTick,
  scheduledMessageId,
  type ScheduleCatalog,
} from '../../router/schedules';
import { eventually } from '../support/engine';
import { uniquePrefix } from '../support/redis';
import { useTimeSkippingEngine } from '../support/time-skipping';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { journey, STAY } from './support';

const DAY = 86_400_000;
const logger = pino({ level: 'silent' });

const weekly: Journey = journey(
  'weekly',
  { schedule: { cron: '* * * * * *', timezone: 'Asia/Shanghai' }, where: { trait: 'plan', eq: 'gold' } },
  { steps: STAY },
);

const JOURNEYS: Journey[] = [
  journey('once', { reentry: { mode: 'never' } }),
  journey('again'),
  journey('cool', { reentry: { mode: 'after', cooldownMs: DAY } }),
  journey('stay', {}, { steps: STAY, exit: [{ event: 'stay_goal' }] }),
  journey('limited', { limit: 2 }, { steps: STAY }),
  journey('cap-a', { event: 'capped_go' }, { steps: STAY }),
  journey('cap-b', { event: 'capped_go' }, { steps: STAY }),
  journey('cap-c', { event: 'capped_go' }, { steps: STAY }),
  journey('cap-service', { event: 'capped_go' }, { steps: STAY, capExempt: true }),
  journey('retried'),
  journey('due', { traitChanged: 'dueDate', where: { trait: 'stage', eq: 'pregnant' } }, { steps: STAY }),
  journey(
    'api-only',
    { api: true },
    {
      steps: [
        {
          id: 'which',
          type: 'branch',
          branches: [{ when: { property: 'x', eq: 1 }, goto: 'yes' }],
          else: 'no',
        },
        { id: 'yes', type: 'exit' },
        { id: 'no', type: 'exit' },
      ],
    },
  ),
  journey('enrol-target', { api: true }, { steps: STAY }),
  weekly,
];

let clock: number | undefined;
const setup = useTimeSkippingEngine({
  journeys: JOURNEYS,
  rules: { quietHours: false, journeys: { maxPerCustomer: 2 } },
  now: () => clock ?? Date.now(),
});
beforeEach(() => {
  clock = undefined;
});

const handle = (journeyId: string, customerId: string) =>
  setup.env.client.workflow.getHandle(journeyWorkflowId(journeyId, customerId));

/** Waits until the customer's latest run of the journey exists and is no longer running; its status. */
const ended = (journeyId: string, customerId: string) =>
  eventually(
    async () => {
      const run = await handle(journeyId, customerId)
        .describe()
        .catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined; // not started yet
          throw err;
        });
      return run === undefined || run.status.name === 'RUNNING' ? undefined : run.status.name;
    },
    20_000,
    `${journeyId} run of ${customerId} to end`,
  );

describe('re-entry across finished runs', () => {
  test('never: a customer whose run ended is refused, and the refusal counted', async () => {
    const { engine } = setup;
    expect((await engine.track('n1', 'once_go')).entered).toEqual(['once']);
    expect(await ended('once', 'n1')).toBe('COMPLETED');
    expect(await engine.admission.active('once')).toBe(0); // the final recordProgress released it
    const again = await engine.track('n1', 'once_go');
    expect(again.entered).toEqual([]);
    expect(again.refused).toEqual([{ journeyId: 'once', reason: 'reentry' }]);
    expect(await engine.stats.get('once', 1)).toMatchObject({ entered: 1, 'refused:reentry': 1 });
  });

  test('always: a new run as soon as the last one ended', async () => {
    const { engine } = setup;
    const first = await engine.track('a1', 'again_go');
    expect(first.entered).toEqual(['again']);
    const firstRun = (await handle('again', 'a1').describe()).runId;
    await ended('again', 'a1');
    expect((await engine.track('a1', 'again_go')).entered).toEqual(['again']);
    expect((await handle('again', 'a1').describe()).runId).not.toBe(firstRun);
    await ended('again', 'a1');
    expect(await engine.stats.get('again', 1)).toMatchObject({ entered: 2 });
  });

  test('after a cool-down: refused within it, admitted after it', async () => {
    const { engine } = setup;
    const t0 = Date.now();
    clock = t0;
    expect((await engine.track('k1', 'cool_go')).entered).toEqual(['cool']);
    await ended('cool', 'k1');
    clock = t0 + DAY - 60_000;
    expect((await engine.track('k1', 'cool_go')).refused).toEqual([{ journeyId: 'cool', reason: 'reentry' }]);
    clock = t0 + DAY + 1;
    expect((await engine.track('k1', 'cool_go')).entered).toEqual(['cool']);
    await ended('cool', 'k1');
  });
});

describe('admission in the router', () => {
  test('a customer already in the journey is not entered again but gets the event', async () => {
    const { engine } = setup;
    expect((await engine.track('r1', 'stay_go')).entered).toEqual(['stay']);
    const second = await engine.track('r1', 'stay_go');
    expect(second.entered).toEqual([]);
    expect(second.refused).toEqual([{ journeyId: 'stay', reason: 'running' }]);
    expect(second.signalled).toEqual(['stay']);
    // A goal still reaches the run, which ends converted and frees its slot.
    expect((await engine.track('r1', 'stay_goal')).signalled).toEqual(['stay']);
    expect(await ended('stay', 'r1')).toBe('COMPLETED');
    expect((await handle('stay', 'r1').query(stateQuery)).status).toBe('converted');
    expect(await engine.admission.active('stay')).toBe(0);
  });

  test('a run terminated in Temporal (no final record) does not keep the customer out for good', async () => {
    const { engine } = setup;
    expect((await engine.track('r9', 'stay_go')).entered).toEqual(['stay']);
    await handle('stay', 'r9').terminate('operator terminated it in the Temporal UI');
    expect(await engine.admission.active('stay')).toBe(1); // the slot was not freed
    // The next entry finds no running run behind the slot: it frees the slot and enters.
    const again = await engine.track('r9', 'stay_go');
    expect(again.entered).toEqual(['stay']);
    expect((await handle('stay', 'r9').describe()).status.name).toBe('RUNNING');
    expect(await engine.admission.active('stay')).toBe(1);
  });

  test('a slot being started by another router worker is left alone', async () => {
    const { engine } = setup;
    // Admitted a moment ago by another message whose run has not started yet.
    const stay = JOURNEYS.find((j) => j.id === 'stay')!;
    expect(await engine.admission.admit(stay, 'r10', 'other-message', Date.now())).toEqual({
      admitted: true,
    });
    const second = await engine.track('r10', 'stay_go');
    expect(second.entered).toEqual([]);
    expect(second.refused).toEqual([{ journeyId: 'stay', reason: 'running' }]);
    // Long after, with still no run, the slot counts as gone.
    clock = Date.now() + 10 * 60_000;
    expect((await engine.track('r10', 'stay_go')).entered).toEqual(['stay']);
  });

  test('entry limit: the third customer is refused while two are in', async () => {
    const { engine } = setup;
    expect((await engine.track('l1', 'limited_go')).entered).toEqual(['limited']);
    expect((await engine.track('l2', 'limited_go')).entered).toEqual(['limited']);
    expect((await engine.track('l3', 'limited_go')).refused).toEqual([
      { journeyId: 'limited', reason: 'limit' },
    ]);
    await expect(handle('limited', 'l3').describe()).rejects.toThrow();
    await eventually(async () => ((await engine.stats.get('limited', 1)).entered === 2 ? true : undefined));
    expect(await engine.stats.get('limited', 1)).toMatchObject({ entered: 2, 'refused:limit': 1 });
  });

  test('per-customer cap: two capped journeys at most; the capExempt one enters anyway', async () => {
    const { engine } = setup;
    const result = await engine.track('p1', 'capped_go');
    expect(result.entered).toEqual(['cap-a', 'cap-b', 'cap-service']);
    expect(result.refused).toEqual([{ journeyId: 'cap-c', reason: 'cap' }]);
    expect(await engine.admission.journeysOf('p1')).toEqual(['cap-a', 'cap-b']);
    expect(await engine.stats.get('cap-c', 1)).toEqual({ 'refused:cap': 1 });
  });

  test('a retried job of the admitting event does not start a second run after the first ended', async () => {
    const { engine } = setup;
    const first = await engine.track('t1', 'retried_go', {}, 'order-t1');
    expect(first.entered).toEqual(['retried']);
    await ended('retried', 't1');
    for (const repeat of [true, false]) {
      const retry = await engine.track('t1', 'retried_go', {}, 'order-t1', repeat);
      expect(retry.entered).toEqual([]);
      expect(retry.refused).toEqual([]);
    }
    expect(await engine.admission.active('retried')).toBe(0);
    expect(await engine.stats.get('retried', 1)).toMatchObject({ entered: 1 });
  });

  test('a retried job whose first attempt was admitted but crashed before starting the run starts it', async () => {
    const { engine } = setup;
    const retried = engine.catalog.get('retried')!;
    expect(await engine.admission.admit(retried, 't2', 'order-t2', Date.now())).toEqual({ admitted: true });
    const retry = await engine.track('t2', 'retried_go', {}, 'order-t2', true);
    expect(retry.entered).toEqual(['retried']);
    expect((await handle('retried', 't2').describe()).memo?.entryMessageId).toBe('order-t2');
    await ended('retried', 't2');
    expect(await engine.admission.active('retried')).toBe(0);
  });
});

describe('traitChanged entry', () => {
  test('enters when an identify sets or changes the trait and `where` holds on the new traits', async () => {
    const { engine } = setup;
    expect((await engine.identify('d1', { stage: 'pregnant', name: 'Li' })).entered).toEqual([]);
    const set = await engine.identify('d1', { dueDate: '2026-09-01' });
    expect(set.entered).toEqual(['due']);
    const state = await handle('due', 'd1').query(stateQuery);
    expect(state.status).toBe('running');

    // The same value again is no change: no entry attempt at all.
    const same = await engine.identify('d1', { dueDate: '2026-09-01', name: 'Li' });
    expect(same).toMatchObject({ entered: [], refused: [] });
    // Another value is a change: admission answers running (the customer is in it).
    const changed = await engine.identify('d1', { dueDate: '2026-10-01' });
    expect(changed).toMatchObject({ entered: [], refused: [{ journeyId: 'due', reason: 'running' }] });
  });

  test('no entry when `where` does not hold, or when the trait is removed', async () => {
    const { engine } = setup;
    await engine.identify('d2', { stage: 'planning' });
    expect((await engine.identify('d2', { dueDate: '2026-09-01' })).entered).toEqual([]);
    await engine.identify('d3', { stage: 'pregnant', dueDate: null });
    expect((await engine.identify('d3', { dueDate: null })).entered).toEqual([]);
    // Set together with the trait `where` reads: `where` sees the new traits.
    expect((await engine.identify('d4', { stage: 'pregnant', dueDate: '2026-12-01' })).entered).toEqual([
      'due',
    ]);
  });
  test('a retried identify whose first attempt merged, then crashed before entering, enters on the retry', async () => {
    const { engine } = setup;
    await engine.identify('d5', { stage: 'pregnant' });
    const identify: IngestEvent = {
      type: 'identify',
      userId: 'd5',
      traits: { dueDate: '2026-11-01' },
      messageId: 'identify-d5-crashed',
      timestamp: new Date().toISOString(),
      receivedAt: new Date().toISOString(),
    };
    // The first attempt: the merge happened, the process died before admission.
    await engine.profiles.merge('d5', identify.traits, identify.messageId);
    expect((await engine.route(identify, true)).entered).toEqual(['due']);
    // A different identify with the same value is no change.
    expect((await engine.identify('d5', { dueDate: '2026-11-01' })).refused).toEqual([]);
  });
});

describe('enrolment', () => {
  test('an enrol event enters only its journey, whatever the trigger, with entry event journey_enrolled', async () => {
    const { engine } = setup;
    expect((await engine.enrol('api-only', 'e1', 'enrol-e1', { x: 1 })).entered).toEqual(['api-only']);
    expect((await engine.enrol('api-only', 'e2', 'enrol-e2')).entered).toEqual(['api-only']);
    await ended('api-only', 'e1');
    await ended('api-only', 'e2');
    // The entry event's properties reach the run (the branch reads them).
    expect((await handle('api-only', 'e1').query(stateQuery)).path.map((p) => p.outcome)).toEqual([
      'branch:0',
      'exit',
    ]);
    expect((await handle('api-only', 'e2').query(stateQuery)).path[0]?.outcome).toBe('else');
    // An event-entered journey takes enrolments too.
    expect((await engine.enrol('stay', 'e3')).entered).toEqual(['stay']);
    // An unknown journey: nothing (and no error: retrying would not help).
    expect(await engine.enrol('no-such-journey', 'e4')).toMatchObject({ entered: [], refused: [] });
  });

  test('an enrolment is admitted like any entry', async () => {
    const { engine } = setup;
    await engine.track('e5', 'limited_go'); // limited holds two customers at most
    await engine.track('e6', 'limited_go');
    expect((await engine.enrol('limited', 'e7')).refused).toEqual([
      { journeyId: 'limited', reason: 'limit' },
    ]);
  });

  describe('POST /v1/journeys/:id/enrol', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ journeys: setup.engine.catalog });
    });
    afterAll(() => app.close());

    const post = (id: string, body: unknown, headers: Record<string, string> = {}) =>
      request(app.app)
        .post(`/v1/journeys/${id}/enrol`)
        .set({ authorization: bearer(KEYS.adminKey), ...headers })
        .send(body as object);

    test('queues one enrol event per distinct customer; the router enters them', async () => {
      const res = await post('enrol-target', { customers: ['q1', 'q2', 'q1'] });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ queued: 2 });
      const jobs = (await app.jobs()).map((j) => j.data as EnrolEvent);
      expect(jobs).toHaveLength(2);
      expect(jobs.map((j) => [j.type, j.journeyId, j.userId])).toEqual([
        ['enrol', 'enrol-target', 'q1'],
        ['enrol', 'enrol-target', 'q2'],
      ]);
      expect(jobs[0]!.messageId).toMatch(/^enrol:enrol-target:[0-9a-f]{32}:q1$/);
      for (const job of jobs) expect((await setup.engine.route(job)).entered).toEqual(['enrol-target']);
      expect((await handle('enrol-target', 'q2').describe()).memo?.entryMessageId).toBe(jobs[1]!.messageId);

      // A retried request (same body, any order) queues nothing new.
      expect((await post('enrol-target', { customers: ['q2', 'q1'] })).body).toEqual({ queued: 2 });
      expect(await app.jobs()).toHaveLength(2);
      // A request with its own Idempotency-Key is a new request.
      expect(
        (await post('enrol-target', { customers: ['q1'] }, { 'idempotency-key': 'batch-7' })).status,
      ).toBe(202);
      const all = await app.jobs();
      expect(all.map((j) => j.data.messageId)).toContain('enrol:enrol-target:batch-7:q1');
      // q1 is in the journey already.
      const repeat = await setup.engine.route(all.find((j) => j.data.messageId.includes('batch-7'))!.data);
      expect(repeat.refused).toEqual([{ journeyId: 'enrol-target', reason: 'running' }]);
    });

    test('the router worker consumes the queued enrolments and enters them', async () => {
      const { engine } = setup;
      const worker = createRouterWorker({
        connection: engine.redis,
        prefix: app.prefix,
        redis: engine.redis,
        keys: engine.keys,
        temporal: setup.env.client,
        taskQueue: engine.taskQueue,
        profiles: engine.profiles,
        catalog: engine.catalog,
        admission: engine.admission,
        logger,
      });
      try {
        const res = await post('api-only', { customers: ['w1', 'w2'], properties: { x: 1 } });
        expect(res.body).toEqual({ queued: 2 });
        for (const customer of ['w1', 'w2']) {
          expect(await ended('api-only', customer)).toBe('COMPLETED');
          const state = await handle('api-only', customer).query(stateQuery);
          expect(state.path[0]?.outcome).toBe('branch:0'); // the request's properties reached the run
        }
      } finally {
        await worker.close();
      }
    });

    test('400 with field paths, 404 for an unknown journey, 403 for the write key (role ingest)', async () => {
      const before = (await app.jobs()).length;
      const bad = await post('enrol-target', { customers: ['ok', '', 5, ' pad'], extra: 1 });
      expect(bad.status).toBe(400);
      expect(bad.body.issues).toEqual(
        expect.arrayContaining([
          { path: 'extra', message: expect.stringContaining('unknown field') },
          { path: 'customers[1]', message: 'must not be empty' },
          { path: 'customers[2]', message: 'must be a string' },
          { path: 'customers[3]', message: 'must not start or end with white space' },
        ]),
      );
      expect((await post('enrol-target', {})).body.issues).toEqual([
        { path: 'customers', message: 'is required' },
      ]);
      expect((await post('enrol-target', { customers: [] })).body.issues).toEqual([
        { path: 'customers', message: 'must hold at least one customer id' },
      ]);
      expect((await post('enrol-target', { customers: ['a'], properties: [] })).status).toBe(400);
      const missing = await post('no-such-journey', { customers: ['a'] });
      expect(missing.status).toBe(404);
      expect(missing.body.error).toBe('not_found');
      const writeKey = await request(app.app)
        .post('/v1/journeys/enrol-target/enrol')
        .set({ authorization: bearer(KEYS.writeKey) })
        .send({ customers: ['a'] });
      expect(writeKey.status).toBe(403);
      expect(await app.jobs()).toHaveLength(before);
    });

    test('409 when the catalog says the journey is closed', async () => {
      const lookup = {
        list: () => JOURNEYS,
        get: (id: string) => setup.engine.catalog.get(id),
        isOpen: () => false,
      };
      const closed = await startTestApp({ journeys: lookup });
      try {
        const res = await request(closed.app)
          .post('/v1/journeys/enrol-target/enrol')
          .set({ authorization: bearer(KEYS.adminKey) })
          .send({ customers: ['a'] });
        expect(res.status).toBe(409);
        expect(res.body.error).toBe('journey_closed');
      } finally {
        await closed.close();
      }
    });
  });
});

describe('scheduled entry', () => {
  let eventsQueue: Queue<IngestEvent>;
  let prefix: string;
  beforeAll(async () => {
    const { engine } = setup;
    prefix = uniquePrefix('sched');
    eventsQueue = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: engine.redis, prefix });
    await engine.identify('g1', { plan: 'gold' });
    await engine.identify('g2', { plan: 'gold', name: 'Wang' });
    await engine.identify('s1', { plan: 'silver' });
  });
  afterAll(async () => {
    await eventsQueue.obliterate({ force: true });
    await eventsQueue.close();
  });

  const deps = () => ({
    redis: setup.engine.redis,
    keys: setup.engine.keys,
    profiles: setup.engine.profiles,
    eventsQueue,
    pageSize: 2,
    chunkSize: 1,
  });
  const queued = async () =>
    (await eventsQueue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed'])).map(
      (j) => j.data as EnrolEvent,
    );

  test('a tick enrols the profiles matching `where`, with deterministic messageIds; a repeat adds nothing', async () => {
    await eventsQueue.obliterate({ force: true });
    const tick = Date.parse('2026-03-02T01:00:00Z');
    const first = await runScheduleTick(deps(), weekly, tick);
    expect(first.enrolled).toBe(2);
    expect(first.scanned).toBeGreaterThanOrEqual(3);
    const events = await queued();
    expect(events.map((e) => e.messageId).sort()).toEqual([
      'schedule:weekly:2026-03-02T01:00:00.000Z:g1',
      'schedule:weekly:2026-03-02T01:00:00.000Z:g2',
    ]);
    expect(events[0]).toMatchObject({
      type: 'enrol',
      journeyId: 'weekly',
      timestamp: '2026-03-02T01:00:00.000Z',
    });
    await runScheduleTick(deps(), weekly, tick); // the same tick retried
    expect(await queued()).toHaveLength(2);
    expect(scheduledMessageId('weekly', tick, 'g1')).toBe('schedule:weekly:2026-03-02T01:00:00.000Z:g1');
  });

  test('the job scheduler ticks on its cron, its enrolments enter; pausing removes the scheduler', async () => {
    await eventsQueue.obliterate({ force: true });
    let open = true;
    const catalog: ScheduleCatalog = {
      get: (id) => setup.engine.catalog.get(id),
      scheduled: () => (open ? [weekly] : []),
      isOpen: () => open,
    };
    const schedules = new JourneySchedules({
      ...deps(),
      connection: setup.engine.redis,
      prefix,
      catalog,
      logger,
    });
    try {
      await schedules.start({ syncIntervalMs: 60_000 });
      const [scheduler] = await schedules.queue.getJobSchedulers();
      expect(scheduler).toMatchObject({ key: 'entry-weekly', pattern: '* * * * * *', tz: 'Asia/Shanghai' });

      const events = await eventually(async () => {
        const found = await queued();
        return found.length >= 2 ? found : undefined;
      });
      const tickOf = (e: EnrolEvent) => e.messageId.split(':').slice(2, -1).join(':');
      const firstTick = events.filter((e) => tickOf(e) === tickOf(events[0]!));
      expect(firstTick.map((e) => e.userId).sort()).toEqual(['g1', 'g2']);
      expect(events.some((e) => e.userId === 's1')).toBe(false);
      for (const event of firstTick) expect((await setup.engine.route(event)).entered).toEqual(['weekly']);
      expect((await handle('weekly', 'g1').query(stateQuery)).status).toBe('running');

      // Unchanged catalog: a sync does nothing.
      expect(await schedules.sync()).toEqual({ upserted: [], removed: [] });
      open = false; // paused
      expect(await schedules.sync()).toEqual({ upserted: [], removed: ['weekly'] });
      expect(await schedules.queue.getJobSchedulers()).toEqual([]);
      // No further ticks once the running one (if any) is done.
      await new Promise((r) => setTimeout(r, 1500));
      const settled = (await queued()).length;
      await new Promise((r) => setTimeout(r, 2000));
      expect((await queued()).length).toBe(settled);

      open = true; // resumed
      expect(await schedules.sync()).toEqual({ upserted: ['weekly'], removed: [] });
      expect(await schedules.queue.getJobSchedulers()).toHaveLength(1);
    } finally {
      await schedules.close();
      const q = new Queue('schedules', { connection: setup.engine.redis, prefix });
      await q.obliterate({ force: true });
      await q.close();
    }
  });
});
