import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pino from 'pino';
import request from 'supertest';
import { RunInspector } from '../../audit/runs';
import { JourneyLifecycle } from '../../registry/lifecycle';
import { JourneyStore } from '../../registry/store';
import { EntryAdmission } from '../../router/admission';
import { JourneyCatalog } from '../../router/journey-catalog';
import { routeEvent, type RouterDeps } from '../../router/route-event';
import { journeyWorkflowId, stateQuery } from '../../workflows/definitions';
import { eventually, startEngine } from '../support/engine';
import { createDevServerEnv } from '../support/temporal';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { waitingJourney } from './support';

/*
 * The lifecycle end to end: the admin API on a store-backed catalog, the router entering and
 * signalling through that catalog, real runs on a Temporal dev server (whose visibility finds the
 * runs to stop or migrate by their search attributes), real Redis.
 */

type Engine = Awaited<ReturnType<typeof startEngine>>;
let env: TestWorkflowEnvironment;
let engine: Engine;
let store: JourneyStore;
let catalog: JourneyCatalog;
let app: TestApp;
let router: RouterDeps;

beforeAll(async () => {
  env = await createDevServerEnv();
  engine = await startEngine({ client: env.client, nativeConnection: env.nativeConnection, journeys: [] });
  store = new JourneyStore(engine.redis, engine.keys);
  catalog = await JourneyCatalog.fromStore(store);
  router = {
    temporal: env.client,
    taskQueue: engine.taskQueue,
    profiles: engine.profiles,
    catalog,
    admission: new EntryAdmission(engine.redis, engine.keys, { isOpen: (id) => catalog.isOpen(id) }),
    logger: pino({ level: 'silent' }),
  };
  app = await startTestApp({
    journeys: catalog,
    runs: new RunInspector(env.client, 'default'),
    registry: {
      store,
      lifecycle: new JourneyLifecycle({ store, temporal: env.client }),
      onChange: () => catalog.refresh(),
    },
  });
});
afterAll(async () => {
  await app?.close();
  await engine?.stop();
  await env?.teardown();
});

let seq = 0;
/** Routes a track call as the router worker does: catalog refreshed first (one GET), then routed. */
async function track(userId: string, event: string) {
  await catalog.refresh();
  const now = new Date().toISOString();
  return routeEvent(router, {
    type: 'track',
    userId,
    event,
    properties: {},
    messageId: `lc-${process.pid}-${++seq}`,
    timestamp: now,
    receivedAt: now,
  });
}

const api = (method: 'post' | 'get', path: string, body?: object, actor = 'ops-li') => {
  const req = request(app.app)
    [method](path)
    .set('Authorization', bearer(KEYS.adminKey))
    .set('X-Touchpoint-Actor', actor);
  return body ? req.send(body) : req;
};

const state = (journeyId: string, customerId: string) =>
  env.client.workflow.getHandle(journeyWorkflowId(journeyId, customerId)).query(stateQuery);

/** Waits until visibility lists `n` running runs for the query (it lags the runs a little). */
const listed = (query: string, n: number) =>
  eventually(
    async () => ((await env.client.workflow.count(query)).count === n ? true : undefined),
    20_000,
    `${n} runs for ${query}`,
  );

/** Waits until the run is no longer running; its final state. */
const ended = (journeyId: string, customerId: string) =>
  eventually(
    async () => {
      const handle = env.client.workflow.getHandle(journeyWorkflowId(journeyId, customerId));
      const { status } = await handle.describe();
      return status.name === 'RUNNING'
        ? undefined
        : { temporal: status.name, state: await handle.query(stateQuery) };
    },
    20_000,
    `${journeyId}/${customerId} to end`,
  );

test('pause stops new entries while running customers go on; resume opens it again', async () => {
  const id = 'lc-pause';
  expect(
    (
      await api('post', `/v1/journeys/${id}/publish`, {
        source: waitingJourney(id, { entryEvent: 'lc_pause_go' }),
      })
    ).status,
  ).toBe(201);
  expect((await track('u1', 'lc_pause_go')).entered).toEqual([id]);

  const paused = await api('post', `/v1/journeys/${id}/pause`, { reason: 'campaign on hold' });
  expect(paused.body).toEqual({ id, status: 'paused', version: 1 });
  const refused = await track('u2', 'lc_pause_go');
  expect(refused.entered).toEqual([]);

  // u1's run still receives its events and converts.
  expect((await track('u1', 'order_completed')).signalled).toEqual([id]);
  expect((await ended(id, 'u1')).state.status).toBe('converted');

  await api('post', `/v1/journeys/${id}/resume`);
  expect((await track('u2', 'lc_pause_go')).entered).toEqual([id]);
  expect((await state(id, 'u2')).status).toBe('running');
});

test('stop ends every running run with the reason, records who and how many, and refuses entries', async () => {
  const id = 'lc-stop';
  await api('post', `/v1/journeys/${id}/publish`, {
    source: waitingJourney(id, { entryEvent: 'lc_stop_go' }),
  });
  expect((await track('s1', 'lc_stop_go')).entered).toEqual([id]);
  expect((await track('s2', 'lc_stop_go')).entered).toEqual([id]);
  await listed(`TouchpointJourneyId = "${id}" AND ExecutionStatus = "Running"`, 2);

  const res = await api('post', `/v1/journeys/${id}/stop`, { reason: 'product recall' }, 'ops-wang');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ id, status: 'stopped', version: 1, stopped: 2 });

  for (const customer of ['s1', 's2']) {
    const run = await ended(id, customer);
    expect(run.temporal).toBe('COMPLETED');
    expect(run.state).toMatchObject({ status: 'exited', exitReason: 'product recall' });
  }
  const history = await api('get', `/v1/journeys/${id}/history`);
  expect(history.body.history[1]).toMatchObject({
    action: 'stop',
    by: 'ops-wang',
    reason: 'product recall',
    version: 1,
    status: 'stopped',
    runs: 2,
  });
  expect((await track('s3', 'lc_stop_go')).entered).toEqual([]);
  // Stopped journeys' runs have ended: nobody listens for their goals any more.
  expect(catalog.listeningTo('order_completed').map((j) => j.id)).not.toContain(id);
});

test('migrate moves a waiting run to the new version through the mapping; a bad mapping changes nothing', async () => {
  const id = 'lc-migrate';
  await api('post', `/v1/journeys/${id}/publish`, {
    source: waitingJourney(id, { entryEvent: 'lc_migrate_go' }),
  });
  expect((await track('m1', 'lc_migrate_go')).entered).toEqual([id]);
  await listed(
    `TouchpointJourneyId = "${id}" AND TouchpointJourneyVersion = 1 AND ExecutionStatus = "Running"`,
    1,
  );
  await eventually(async () => ((await state(id, 'm1')).currentStep === 'wait-order' ? true : undefined));

  const v2 = waitingJourney(id, { entryEvent: 'lc_migrate_go', waitStep: 'wait-claim', timeout: '14d' });
  expect((await api('post', `/v1/journeys/${id}/publish`, { source: v2 })).body.version).toBe(2);

  const bad = await api('post', `/v1/journeys/${id}/migrate`, {
    from: 1,
    to: 2,
    mapping: {},
    reason: 'longer wait',
  });
  expect(bad.status).toBe(400);
  expect(bad.body.issues).toEqual([{ path: 'mapping.wait-order', message: expect.any(String) }]);
  expect(
    (await api('get', `/v1/journeys/${id}/history`)).body.history.map((h: { action: string }) => h.action),
  ).toEqual(['publish', 'publish']);
  expect((await state(id, 'm1')).journeyVersion).toBe(1);

  const res = await api('post', `/v1/journeys/${id}/migrate`, {
    from: 1,
    to: 2,
    mapping: { 'wait-order': 'wait-claim' },
    reason: 'longer wait',
  });
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ id, from: 1, to: 2, migrated: 1 });

  const moved = await eventually(async () => {
    const s = await state(id, 'm1');
    return s.journeyVersion === 2 && s.currentStep === 'wait-claim' ? s : undefined;
  });
  expect(moved.migratedFrom).toMatchObject({ version: 1, stepId: 'wait-order', by: 'ops-li' });
  await listed(
    `TouchpointJourneyId = "${id}" AND TouchpointJourneyVersion = 2 AND ExecutionStatus = "Running"`,
    1,
  );
  const history = (await api('get', `/v1/journeys/${id}/history`)).body.history;
  expect(history[2]).toMatchObject({
    action: 'migrate',
    by: 'ops-li',
    version: 2,
    fromVersion: 1,
    reason: 'longer wait',
    mapping: { 'wait-order': 'wait-claim', done: 'done' },
    runs: 1,
  });

  // The migrated run goes on under version 2: its goal still converts it.
  expect((await track('m1', 'order_completed')).signalled).toEqual([id]);
  expect((await ended(id, 'm1')).state).toMatchObject({ status: 'converted', journeyVersion: 2 });
});
