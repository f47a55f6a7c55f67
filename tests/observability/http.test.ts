import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'bullmq';
import request from 'supertest';
import { parse } from 'yaml';
import type { Role } from '../../access/permissions';
import { createAccessServices } from '../../access/services';
import { projectRoot } from '../../config/settings';
import { EVENTS_QUEUE, type IngestEvent } from '../../queues/events';
import { eventually } from '../support/eventually';
import { testRedis } from '../support/redis';
import { basic, bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { parseExposition, seriesOf, valueOf } from './prometheus';

/*
 * The app's observability routes on a real queue (tests/server/fixture.ts: the events queue on
 * the test Redis, no router consuming it): /metrics and its permission, ingestion counted and
 * logged with correlation ids, queue depth and lag read at scrape, Bull Board for admins only
 * and read-only, /openapi.json public.
 */

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(async () => {
  await t.close();
});

const admin = bearer(KEYS.adminKey);
const write = basic(KEYS.writeKey);

async function scrape() {
  const res = await request(t.app).get('/metrics').set('Authorization', admin);
  expect(res.status).toBe(200);
  return parseExposition(res.text);
}

describe('GET /metrics', () => {
  test('needs metrics:read: 401 without a key, 403 for the write key (ingest role), 200 for admin', async () => {
    const none = await request(t.app).get('/metrics');
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('unauthorized');
    const ingest = await request(t.app).get('/metrics').set('Authorization', write);
    expect(ingest.status).toBe(403);
    expect(ingest.body).toMatchObject({ error: 'forbidden' });
    expect(ingest.text).not.toContain('touchpoint_');

    const res = await request(t.app).get('/metrics').set('Authorization', admin);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers['cache-control']).toBe('no-store');
    // Every metric is declared from the start, with its type.
    for (const line of [
      '# TYPE touchpoint_events_received_total counter',
      '# TYPE touchpoint_events_routed_total counter',
      '# TYPE touchpoint_queue_jobs gauge',
      '# TYPE touchpoint_queue_lag_seconds gauge',
      '# TYPE touchpoint_journey_entries_total counter',
      '# TYPE touchpoint_journey_steps_total counter',
      '# TYPE touchpoint_journey_conversions_total counter',
      '# TYPE touchpoint_deliveries_total counter',
      '# TYPE touchpoint_activity_duration_seconds histogram',
    ])
      expect(res.text).toContain(line);
  });

  test('accepted events are counted by type once queued; a refused request counts nothing', async () => {
    const track = { userId: 'u1', event: 'content_viewed', messageId: 'obs-http-1' };
    expect((await request(t.app).post('/v1/track').set('Authorization', write).send(track)).status).toBe(202);
    const batch = {
      batch: [
        { type: 'identify', userId: 'u1', traits: { name: 'A' }, messageId: 'obs-http-2' },
        { type: 'identify', userId: 'u2', traits: { name: 'B' }, messageId: 'obs-http-3' },
        { type: 'track', userId: 'u2', event: 'order_completed', messageId: 'obs-http-4' },
      ],
    };
    expect((await request(t.app).post('/v1/batch').set('Authorization', write).send(batch)).status).toBe(202);
    // Invalid (no event name), and unauthenticated: nothing queued, nothing counted.
    const bad = await request(t.app).post('/v1/track').set('Authorization', write).send({ userId: 'u3' });
    expect(bad.status).toBe(400);
    expect((await request(t.app).post('/v1/track').send(track)).status).toBe(401);

    const samples = await scrape();
    expect(seriesOf(samples, 'touchpoint_events_received_total')).toEqual([
      { name: 'touchpoint_events_received_total', labels: { type: 'track' }, value: 2 },
      { name: 'touchpoint_events_received_total', labels: { type: 'identify' }, value: 2 },
    ]);
    expect(await t.jobs()).toHaveLength(4);
  });

  test('ingestion logs each queued event with its messageId as correlationId', async () => {
    const track = { userId: 'u1', event: 'content_viewed', messageId: 'obs-corr-1' };
    expect((await request(t.app).post('/v1/track').set('Authorization', write).send(track)).status).toBe(202);
    const lines = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.correlationId === 'obs-corr-1')).toEqual([
      expect.objectContaining({
        msg: 'event accepted',
        component: 'ingest',
        type: 'track',
        event: 'content_viewed',
      }),
    ]);
  });

  test('queue depth and the age of the oldest waiting job are read from BullMQ at scrape', async () => {
    // A worker on the queue, paused: jobs wait for it.
    const processed: string[] = [];
    const connection = testRedis();
    const worker = new Worker<IngestEvent>(
      EVENTS_QUEUE,
      async (job) => void processed.push(job.data.messageId),
      {
        connection,
        prefix: t.prefix,
        autorun: false,
      },
    );
    worker.pause();
    void worker.run();
    let samples = await scrape();
    expect(valueOf(samples, 'touchpoint_queue_jobs', { queue: 'events', state: 'waiting' })).toBe(0);
    expect(valueOf(samples, 'touchpoint_queue_lag_seconds', { queue: 'events' })).toBe(0);

    const sentAt = Date.now();
    for (const id of ['obs-lag-1', 'obs-lag-2']) {
      const res = await request(t.app)
        .post('/v1/track')
        .set('Authorization', write)
        .send({ userId: 'u1', event: 'content_viewed', messageId: id });
      expect(res.status).toBe(202);
    }
    // The worker is paused: the jobs wait, and the oldest one ages.
    await new Promise((r) => setTimeout(r, 1500));
    samples = await scrape();
    const waited = (Date.now() - sentAt) / 1000;
    expect(valueOf(samples, 'touchpoint_queue_jobs', { queue: 'events', state: 'waiting' })).toBe(2);
    expect(valueOf(samples, 'touchpoint_queue_jobs', { queue: 'events', state: 'active' })).toBe(0);
    const lag = valueOf(samples, 'touchpoint_queue_lag_seconds', { queue: 'events' });
    expect(lag).toBeGreaterThanOrEqual(1.4);
    expect(lag).toBeLessThanOrEqual(waited + 0.1);

    // Resumed, it catches up: nothing waits, no lag.
    worker.resume();
    await eventually(async () => (processed.length === 2 ? true : undefined), 10_000, 'both jobs processed');
    samples = await eventually(async () => {
      const s = await scrape();
      return valueOf(s, 'touchpoint_queue_jobs', { queue: 'events', state: 'completed' }) === 2
        ? s
        : undefined;
    });
    expect(valueOf(samples, 'touchpoint_queue_jobs', { queue: 'events', state: 'waiting' })).toBe(0);
    expect(valueOf(samples, 'touchpoint_queue_lag_seconds', { queue: 'events' })).toBe(0);
    await worker.close();
    await connection.quit();
  });
});

describe('Bull Board at /admin/queues', () => {
  test('admins only: 401 without a key, 403 for the write key, the board for admin', async () => {
    expect((await request(t.app).get('/admin/queues')).status).toBe(401);
    const ingest = await request(t.app).get('/admin/queues').set('Authorization', write);
    expect(ingest.status).toBe(403);
    expect(ingest.body).toMatchObject({
      error: 'forbidden',
      message: expect.stringContaining('queues:dashboard'),
    });
    // The API behind the board is guarded the same way.
    expect((await request(t.app).get('/admin/queues/api/queues').set('Authorization', write)).status).toBe(
      403,
    );

    const page = await request(t.app).get('/admin/queues').set('Authorization', admin);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('Touchpoint queues');
    expect(page.headers['x-powered-by']).toBeUndefined();
  });

  test('shows the queues with their jobs, and refuses changes (read-only)', async () => {
    const res = await request(t.app)
      .post('/v1/track')
      .set('Authorization', write)
      .send({ userId: 'u1', event: 'content_viewed', messageId: 'obs-board-1' });
    expect(res.status).toBe(202);

    const list = await request(t.app).get('/admin/queues/api/queues').set('Authorization', admin);
    expect(list.status).toBe(200);
    const queues = list.body.queues as {
      name: string;
      readOnlyMode: boolean;
      counts: Record<string, number>;
    }[];
    expect(queues).toHaveLength(1);
    expect(queues[0]).toMatchObject({ readOnlyMode: true, counts: expect.objectContaining({ waiting: 1 }) });

    const name = encodeURIComponent(queues[0]!.name);
    const pause = await request(t.app)
      .put(`/admin/queues/api/queues/${name}/pause`)
      .set('Authorization', admin);
    expect(pause.status).toBe(405);
    const empty = await request(t.app)
      .put(`/admin/queues/api/queues/${name}/empty`)
      .set('Authorization', admin);
    expect(empty.status).toBe(405);
    expect(await t.queue.isPaused()).toBe(false);
    expect(await t.jobs()).toHaveLength(1);
  });
});

describe('roles and console sessions', () => {
  test('metrics for operator, auditor and admin keys; the dashboard for admin only, also by session', async () => {
    await t.close();
    const redis = testRedis();
    const prefix = `obs-roles-${Date.now()}`;
    const accessServices = createAccessServices({ redis, keyPrefix: prefix, secret: Buffer.from(prefix) });
    t = await startTestApp({ accessServices });
    try {
      const keyOf = async (role: Role) =>
        (await accessServices.keyStore.create({ name: `${role}-1`, role, createdBy: 'test' })).secret;
      const status = async (route: string, role: Role) =>
        (
          await request(t.app)
            .get(route)
            .set('Authorization', bearer(await keyOf(role)))
        ).status;
      const metrics: Record<string, number> = {};
      const dashboard: Record<string, number> = {};
      for (const role of ['ingest', 'marketer', 'publisher', 'operator', 'auditor', 'admin'] as const) {
        metrics[role] = await status('/metrics', role);
        dashboard[role] = await status('/admin/queues/api/queues', role);
      }
      expect(metrics).toEqual({
        ingest: 403,
        marketer: 403,
        publisher: 403,
        operator: 200,
        auditor: 200,
        admin: 200,
      });
      expect(dashboard).toEqual({
        ingest: 403,
        marketer: 403,
        publisher: 403,
        operator: 403,
        auditor: 403,
        admin: 200,
      });

      // A browser: signed in through the console, the cookie opens the board (and its API).
      const signIn = async (role: Role) => {
        const res = await request(t.app)
          .post('/v1/session')
          .send({ key: await keyOf(role) });
        expect(res.status).toBeLessThan(300);
        return (res.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
      };
      const admin = await signIn('admin');
      const page = await request(t.app).get('/admin/queues').set('Cookie', admin);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Touchpoint queues');
      expect((await request(t.app).get('/admin/queues/api/queues').set('Cookie', admin)).status).toBe(200);
      const operator = await signIn('operator');
      expect((await request(t.app).get('/admin/queues').set('Cookie', operator)).status).toBe(403);
      expect((await request(t.app).get('/metrics').set('Cookie', operator)).status).toBe(200);
    } finally {
      for await (const keys of redis.scanStream({ match: `${prefix}:*` }))
        if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
      await redis.quit();
    }
  });
});

describe('GET /openapi.json', () => {
  test('is public and is docs/openapi.yaml as JSON', async () => {
    const res = await request(t.app).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const yaml = parse(await readFile(path.join(projectRoot, 'docs/openapi.yaml'), 'utf8'));
    expect(res.body).toEqual(yaml);
    expect(res.body.paths['/metrics'].get['x-touchpoint-permission']).toBe('metrics:read');
    expect(res.body.paths['/openapi.json'].get['x-touchpoint-permission']).toBe('public');
    expect(res.body.paths['/admin/queues'].get['x-touchpoint-permission']).toBe('queues:dashboard');
  });
});
