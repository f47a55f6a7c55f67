import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadSettings, projectRoot } from '../../config/settings';
import type { OutboxLine } from '../../delivery/providers/outbox';
import type { Role } from '../../main/roles';
import { startTouchpoint, type Touchpoint } from '../../main/touchpoint';
import { QUEUE_NAMES } from '../../observability/queues';
import { eventually } from '../support/engine';
import { outboxLines } from '../support/outbox';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { createDevServerEnv } from '../support/temporal';
import { parseExposition, seriesOf, valueOf, type Sample } from './prometheus';

/*
 * Real traffic through Touchpoint as `npm start` wires it (main/touchpoint.ts) on the test Redis
 * and a Temporal dev server: events over HTTP, the router, journey workflows with their
 * activities, delivery workers writing the outbox. /metrics must count what happened, and the
 * log lines of one event must share its correlation id from ingestion to the delivered touch.
 * The journey is tests/fixtures/journeys/quick-browse.yaml: push, wait 6 s for an order, remind.
 */

const ADMIN_KEY = 'obs-admin-key';
const WRITE_KEY = 'obs-write-key';
const TRAITS = { name: 'Zhou', locale: 'en', openId: 'o-zhou', pushToken: 'tok-zhou' };
const ALL: Role[] = ['api', 'journeys', 'router', 'delivery'];

let env: TestWorkflowEnvironment;
let dir: string;
const prefixes: string[] = [];

beforeAll(async () => {
  env = await createDevServerEnv();
  dir = await mkdtemp(path.join(tmpdir(), 'tp-obs-'));
  // Quiet hours off: the sends must not depend on the time of day the suite runs at.
  await writeFile(path.join(dir, 'touchpoint.yaml'), 'rules:\n  quietHours: false\n');
  await mkdir(path.join(dir, 'segments'));
});
afterAll(async () => {
  await env?.teardown();
  const redis = testRedis();
  for (const prefix of prefixes) {
    await deleteKeys(redis, prefix);
    await deleteKeys(redis, `${prefix}-bull`);
  }
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

/** One installation (its own key prefixes and task queue); each start() is a process of it. */
function installation() {
  const keyPrefix = uniquePrefix('obs');
  prefixes.push(keyPrefix);
  const outboxDir = path.join(dir, keyPrefix, 'outbox');
  const settings = (extra: Record<string, string> = {}) =>
    loadSettings({
      PORT: '0',
      TOUCHPOINT_DATA_DIR: path.join(dir, keyPrefix, 'data'),
      TOUCHPOINT_CONFIG: path.join(dir, 'touchpoint.yaml'),
      TOUCHPOINT_JOURNEYS_DIR: path.join(projectRoot, 'tests/fixtures/journeys'),
      TOUCHPOINT_SEGMENTS_DIR: path.join(dir, 'segments'),
      TOUCHPOINT_TEMPLATES_DIR: path.join(projectRoot, 'templates'),
      TOUCHPOINT_OUTBOX_DIR: outboxDir,
      REDIS_URL: testRedisUrl(),
      TEMPORAL_ADDRESS: env.address,
      TOUCHPOINT_TASK_QUEUE: `${keyPrefix}-journeys`,
      TOUCHPOINT_KEY_PREFIX: keyPrefix,
      TOUCHPOINT_QUEUE_PREFIX: `${keyPrefix}-bull`,
      TOUCHPOINT_ADMIN_KEY: ADMIN_KEY,
      TOUCHPOINT_WRITE_KEY: WRITE_KEY,
      ...extra,
    });
  /** Every line the process logged, parsed (debug and up). */
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  return {
    logs,
    outbox: (channel: string): Promise<OutboxLine[]> => outboxLines(outboxDir, channel),
    start: (roles: Role[], extra?: Record<string, string>) =>
      startTouchpoint(settings(extra), new Set(roles), logger),
  };
}

const url = (tp: Touchpoint) => `http://127.0.0.1:${tp.port}`;

function post(tp: Touchpoint, route: string, body: unknown): Promise<Response> {
  return fetch(`${url(tp)}${route}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
    },
    body: JSON.stringify(body),
  });
}

async function scrape(base: string, key = ADMIN_KEY): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

/** Scrapes until `ready` holds (counters follow the engine's background work). */
function scrapeUntil(base: string, ready: (s: Sample[]) => boolean, what: string): Promise<Sample[]> {
  return eventually(
    async () => {
      const samples = await scrape(base);
      return ready(samples) ? samples : undefined;
    },
    60_000,
    what,
  );
}

test('metrics count real traffic, and one event’s log lines share its correlation id to the touch', async () => {
  const install = installation();
  const tp = await install.start(ALL);
  try {
    const base = url(tp);
    const routed = (s: Sample[], outcome: string) =>
      valueOf(s, 'touchpoint_events_routed_total', { outcome });

    // Profiles first: a track routed before its identify would find no push token.
    const identify = (userId: string) => ({
      type: 'identify',
      userId,
      traits: TRAITS,
      messageId: `${userId}-id`,
    });
    expect((await post(tp, '/v1/batch', { batch: [identify('obs-a'), identify('obs-b')] })).status).toBe(202);
    await scrapeUntil(base, (s) => routed(s, 'unmatched') === 2, 'both identifies routed');

    const view = (userId: string) => ({
      userId,
      event: 'content_viewed',
      messageId: `${userId}-view`,
      properties: { category: 'living-room-decoration', title: 'Nordic living room' },
    });
    expect((await post(tp, '/v1/track', view('obs-a'))).status).toBe(202);
    expect((await post(tp, '/v1/track', view('obs-b'))).status).toBe(202);
    await eventually(
      async () => ((await install.outbox('push')).length === 2 ? true : undefined),
      30_000,
      'pushes',
    );
    // a buys (converted); b does not, and gets the reminder after the 6 s wait.
    const order = {
      userId: 'obs-a',
      event: 'order_completed',
      messageId: 'obs-a-order',
      properties: { amount: 1999 },
    };
    expect((await post(tp, '/v1/track', order)).status).toBe(202);

    // Everything has happened once both runs ended and the three message_sent events were routed.
    const samples = await scrapeUntil(
      base,
      (s) =>
        valueOf(s, 'touchpoint_journey_steps_total', { step: 'done' }) +
          valueOf(s, 'touchpoint_journey_conversions_total') ===
          2 && routed(s, 'unmatched') === 5,
      'both runs ended, every event routed',
    );

    expect(
      seriesOf(samples, 'touchpoint_events_received_total').map((s) => [s.labels.type, s.value]),
    ).toEqual([
      ['identify', 2],
      ['track', 3],
    ]);
    // 2 views entered; the order went to a's run; identifies and message_sent matched nothing.
    expect(
      seriesOf(samples, 'touchpoint_events_routed_total')
        .map((s) => [s.labels.outcome, s.value])
        .sort(),
    ).toEqual([
      ['entered', 2],
      ['signalled', 1],
      ['unmatched', 5],
    ]);
    expect(seriesOf(samples, 'touchpoint_journey_entries_total')).toEqual([
      {
        name: 'touchpoint_journey_entries_total',
        labels: { journey: 'quick-browse', version: '1' },
        value: 2,
      },
    ]);
    expect(seriesOf(samples, 'touchpoint_journey_conversions_total')).toEqual([
      { name: 'touchpoint_journey_conversions_total', labels: { journey: 'quick-browse' }, value: 1 },
    ]);
    const steps = seriesOf(samples, 'touchpoint_journey_steps_total').map(
      ({ labels: { journey, step, type, outcome }, value }) =>
        `${journey} ${step} ${type} ${outcome} ${value}`,
    );
    expect(steps.sort()).toEqual([
      'quick-browse done exit exit 1',
      'quick-browse push-plan send sent 2',
      'quick-browse remind-plan send sent 1',
      'quick-browse wait-order waitFor converted 1',
      'quick-browse wait-order waitFor timeout 1',
    ]);
    expect(
      seriesOf(samples, 'touchpoint_deliveries_total')
        .map((s) => `${s.labels.channel} ${s.labels.outcome} ${s.value}`)
        .sort(),
    ).toEqual(['miniprogram sent 1', 'push sent 2']);
    // Activity latency: three sends; four counter records (two entries, two ends) as local activities.
    const count = (activity: string) =>
      valueOf(samples, 'touchpoint_activity_duration_seconds_count', { activity, outcome: 'completed' });
    expect(count('sendMessage')).toBe(3);
    expect(count('recordProgress')).toBe(4);
    expect(
      valueOf(samples, 'touchpoint_activity_duration_seconds_sum', { activity: 'sendMessage' }),
    ).toBeGreaterThan(0);
    expect(
      valueOf(samples, 'touchpoint_activity_duration_seconds_bucket', {
        activity: 'sendMessage',
        le: '+Inf',
      }),
    ).toBe(3);
    // Every queue reported, nothing left waiting; the process metrics come along.
    for (const queue of QUEUE_NAMES) {
      expect(seriesOf(samples, 'touchpoint_queue_jobs').filter((s) => s.labels.queue === queue)).toHaveLength(
        6,
      );
      expect(valueOf(samples, 'touchpoint_queue_lag_seconds', { queue })).toBe(0);
    }
    expect(valueOf(samples, 'touchpoint_queue_jobs', { queue: 'delivery-push', state: 'completed' })).toBe(2);
    expect(valueOf(samples, 'touchpoint_queue_read_errors_total')).toBe(0);
    expect(seriesOf(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);

    // The correlation id: a's view, from ingestion to the delivered push and its touch record.
    const linesOf = (id: string) => install.logs.filter((l) => l.correlationId === id);
    const a = linesOf('obs-a-view');
    expect(a.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'event accepted',
        'event routed',
        'activity sendMessage completed',
        'journey step finished',
        'delivered',
      ]),
    );
    expect(a.find((l) => l.msg === 'event routed')).toMatchObject({ entered: ['quick-browse'] });
    expect(a.find((l) => l.msg === 'activity sendMessage completed')).toMatchObject({
      journeyId: 'quick-browse',
      stepId: 'push-plan',
      customerId: 'obs-a',
    });
    expect(a.find((l) => l.msg === 'journey step finished')).toMatchObject({
      stepId: 'push-plan',
      outcome: 'sent',
    });
    expect(a.filter((l) => l.msg === 'delivered')).toEqual([expect.objectContaining({ channel: 'push' })]);
    // The order is a's run's event from then on: the steps after it carry its id.
    expect(linesOf('obs-a-order').map((l) => l.msg)).toEqual(
      expect.arrayContaining(['event accepted', 'event routed', 'journey step finished']),
    );
    // b's reminder went out 6 s later on the timer, still under b's view.
    const b = linesOf('obs-b-view');
    expect(
      b
        .filter((l) => l.msg === 'delivered')
        .map((l) => l.channel)
        .sort(),
    ).toEqual(['miniprogram', 'push']);
    expect(b.filter((l) => l.msg === 'journey step finished').map((l) => l.stepId)).toEqual([
      'push-plan',
      'wait-order',
      'remind-plan',
      'done',
    ]);

    const touches = await fetch(`${base}/v1/deliveries/customers/obs-b/touches`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    }).then((r) => r.json() as Promise<{ touches: { stepId: string; correlationId?: string }[] }>);
    expect(touches.touches.map((t) => [t.stepId, t.correlationId])).toEqual([
      ['push-plan', 'obs-b-view'],
      ['remind-plan', 'obs-b-view'],
    ]);
    // Providers get the message as before: the correlation id stays out of the outbox line.
    expect((await install.outbox('push'))[0]).not.toHaveProperty('correlationId');
  } finally {
    await tp.stop();
  }
});

test('split roles: queue lag grows while no router runs; a router-only process serves its own /metrics', async () => {
  const install = installation();
  const api = await install.start(['api']);
  let router: Touchpoint | undefined;
  try {
    const base = url(api);
    const sentAt = Date.now();
    const page = { userId: 'obs-c', event: 'page_viewed', messageId: 'obs-c-page' };
    expect((await post(api, '/v1/track', page)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 1500));
    let samples = await scrape(base);
    expect(valueOf(samples, 'touchpoint_queue_jobs', { queue: 'events', state: 'waiting' })).toBe(1);
    const lag = valueOf(samples, 'touchpoint_queue_lag_seconds', { queue: 'events' });
    expect(lag).toBeGreaterThanOrEqual(1.4);
    expect(lag).toBeLessThanOrEqual((Date.now() - sentAt) / 1000);

    router = await install.start(['router'], { TOUCHPOINT_METRICS_PORT: '0' });
    expect(router.port).toBeUndefined();
    const routerBase = `http://127.0.0.1:${router.metricsPort}`;
    samples = await scrapeUntil(
      routerBase,
      (s) => valueOf(s, 'touchpoint_events_routed_total', { outcome: 'unmatched' }) === 1,
      'the router routed the waiting event',
    );
    // Counters are per process: the router routed, the API received.
    expect(valueOf(samples, 'touchpoint_events_received_total')).toBe(0);
    samples = await scrape(base);
    expect(valueOf(samples, 'touchpoint_events_received_total', { type: 'track' })).toBe(1);
    expect(valueOf(samples, 'touchpoint_events_routed_total')).toBe(0);
    expect(valueOf(samples, 'touchpoint_queue_jobs', { queue: 'events', state: 'waiting' })).toBe(0);
    expect(valueOf(samples, 'touchpoint_queue_lag_seconds', { queue: 'events' })).toBe(0);

    // The router's port takes the same permission as the API's.
    expect((await fetch(`${routerBase}/metrics`)).status).toBe(401);
    const ingest = await fetch(`${routerBase}/metrics`, {
      headers: { authorization: `Bearer ${WRITE_KEY}` },
    });
    expect(ingest.status).toBe(403);
    expect((await fetch(`${routerBase}/v1/track`, { method: 'POST' })).status).toBe(404);
    expect(install.logs.filter((l) => l.correlationId === 'obs-c-page').map((l) => l.msg)).toEqual([
      'event accepted',
      'event routed',
    ]);
  } finally {
    await router?.stop();
    await api.stop();
  }
});
