import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import request from 'supertest';
import { EnrolmentWorker, SegmentEnrolments, type EnrolmentCatalog } from '../../bulk/enrolment';
import type { EnrolmentRecord } from '../../bulk/enrolment-store';
import type { EnrolEvent } from '../../queues/events';
import { SegmentKeys } from '../../segmentation/keys';
import { ROOT } from '../cli/support';
import { bearer, JOURNEYS, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';

/*
 * Bulk enrolment of a segment: POST /v1/journeys/:id/enrol {segment, ratePerSecond} on the real
 * app, the job run by the real BullMQ worker on the test Redis against a real segment member set
 * (segmentation/keys.ts), progress through GET /v1/enrolments/:id, the rate kept, and a worker
 * process killed mid-way whose job another worker resumes without doubling anyone.
 */

const JOURNEY = JOURNEYS[0]!.id; // `reactivation`
let redis: Redis;
let keyPrefix: string;
let segmentKeys: SegmentKeys;
let app: TestApp;
let enrolments: SegmentEnrolments;
let workers: EnrolmentWorker[];
let open: boolean;
const logger = pino({ level: 'silent' });
const catalog: EnrolmentCatalog = {
  get: (id) => JOURNEYS.find((j) => j.id === id),
  isOpen: () => open,
};

beforeEach(async () => {
  redis = testRedis();
  keyPrefix = uniquePrefix('enrol');
  segmentKeys = new SegmentKeys(keyPrefix);
  open = true;
  const segments = {
    membersKey: (s: string) => (s === 'dormant' ? segmentKeys.members('dormant') : undefined),
  };
  // The enrolments queue under this test's key prefix; the events queue is the app's.
  enrolments = new SegmentEnrolments({
    connection: redis,
    prefix: keyPrefix,
    redis,
    keyPrefix,
    segments,
    logger,
  });
  app = await startTestApp({ enrolments });
  workers = [];
});

afterEach(async () => {
  for (const w of workers) await w.close();
  await enrolments.queue.obliterate({ force: true });
  await enrolments.close();
  await app.close();
  await deleteKeys(redis, keyPrefix);
  await redis.quit();
});

function startWorker(opts: Partial<ConstructorParameters<typeof EnrolmentWorker>[0]> = {}): EnrolmentWorker {
  const worker = new EnrolmentWorker({
    connection: redis,
    prefix: keyPrefix,
    redis,
    keyPrefix,
    segments: { membersKey: () => segmentKeys.members('dormant') },
    catalog,
    eventsQueue: app.queue,
    logger,
    ...opts,
  });
  worker.start();
  workers.push(worker);
  return worker;
}

async function addMembers(n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `c-${String(i).padStart(5, '0')}`);
  for (let i = 0; i < ids.length; i += 1000)
    await redis.sadd(segmentKeys.members('dormant'), ...ids.slice(i, i + 1000));
  return ids;
}

const post = (body: unknown, headers: Record<string, string> = {}) =>
  request(app.app)
    .post(`/v1/journeys/${JOURNEY}/enrol`)
    .set({ authorization: bearer(KEYS.adminKey), ...headers })
    .send(body as object);

const progress = async (id: string): Promise<EnrolmentRecord & { progress: number; etaSeconds?: number }> => {
  const res = await request(app.app).get(`/v1/enrolments/${id}`).set('authorization', bearer(KEYS.adminKey));
  expect(res.status).toBe(200);
  return res.body.enrolment;
};

async function until<T>(what: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const enrolJobs = async () =>
  (await app.queue.getJobs(['waiting'], 0, -1, true)).filter(
    (job): job is Job<EnrolEvent> => job?.data.type === 'enrol',
  );

test('a segment enrolled at its rate: 202, progress while it runs, every member once with customerId', async () => {
  const members = await addMembers(300);
  startWorker();
  const res = await post({ segment: 'dormant', ratePerSecond: 200, properties: { campaign: 'spring' } });
  expect(res.status).toBe(202);
  const id = res.body.enrolment.id as string;
  expect(res.headers.location).toBe(`/v1/enrolments/${id}`);
  expect(res.body.enrolment).toMatchObject({
    id: expect.stringMatching(/^enr_[0-9a-f]{24}$/),
    journeyId: JOURNEY,
    segment: 'dormant',
    ratePerSecond: 200,
    status: 'queued',
    queued: 0,
    progress: 0,
    created: true,
  });

  const midway = await until(
    () => progress(id),
    (p) => p.status === 'running' && p.queued > 0,
  );
  expect(midway).toMatchObject({ total: 300, startedAt: expect.any(String) });
  expect(midway.progress).toBeGreaterThan(0);
  expect(midway.progress).toBeLessThan(1);
  expect(midway.etaSeconds).toBeGreaterThan(0);
  const done = await until(
    () => progress(id),
    (p) => p.status === 'done',
  );
  expect(done).toMatchObject({ total: 300, queued: 300, progress: 1, finishedAt: expect.any(String) });

  const jobs = await enrolJobs();
  expect(jobs.map((j) => j.data.customerId).sort()).toEqual(members);
  expect(jobs[0]!.data).toMatchObject({
    type: 'enrol',
    journeyId: JOURNEY,
    messageId: `enrol:${JOURNEY}:${id}:${jobs[0]!.data.customerId}`,
    properties: { source: 'segment', segment: 'dormant', enrolment: id, campaign: 'spring' },
  });
  // The rate: 300 at 200/s take 1.5 s (chunks of 40 every 0.2 s); never 200 in less than a second.
  const times = jobs.map((j) => j.timestamp).sort((a, b) => a - b);
  expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual(1200);
  for (let i = 0; i + 240 < times.length; i++)
    expect(times[i + 240]! - times[i]!).toBeGreaterThanOrEqual(1000);
});

test('the request is checked: unknown segment 404, bad rate 400, closed journey 409, Idempotency-Key', async () => {
  await addMembers(3);
  expect((await post({ segment: 'nope' })).body).toEqual({
    error: 'not_found',
    message: 'no segment "nope"',
  });
  const bad = await post({ segment: 'dormant', ratePerSecond: 0, customers: ['a'] });
  expect(bad.status).toBe(400);
  expect(bad.body.issues).toEqual([
    { path: 'customers', message: 'unknown field: expected segment, ratePerSecond, properties' },
    { path: 'ratePerSecond', message: 'must be more than 0' },
  ]);
  expect((await post({ segment: 'dormant', ratePerSecond: 1e6 })).body.issues).toEqual([
    { path: 'ratePerSecond', message: 'must be at most 5000' },
  ]);
  open = false;
  const closedApp = await startTestApp({
    enrolments,
    journeys: { ...catalog, list: () => JOURNEYS, isOpen: () => false } as never,
  });
  const closed = await request(closedApp.app)
    .post(`/v1/journeys/${JOURNEY}/enrol`)
    .set({ authorization: bearer(KEYS.adminKey) })
    .send({ segment: 'dormant' });
  expect(closed.status).toBe(409);
  await closedApp.close();
  open = true;

  const first = await post({ segment: 'dormant' }, { 'Idempotency-Key': 'spring-1' });
  const again = await post({ segment: 'dormant' }, { 'Idempotency-Key': 'spring-1' });
  expect(first.body.enrolment).toMatchObject({ ratePerSecond: 100, created: true });
  expect(again.body.enrolment).toMatchObject({ id: first.body.enrolment.id, created: false });
  expect(await enrolments.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  expect(
    (await request(app.app).get('/v1/enrolments/enr_none').set('authorization', bearer(KEYS.adminKey)))
      .status,
  ).toBe(404);
  // The customers form is unchanged.
  expect((await post({ customers: ['x'] })).body).toEqual({ queued: 1 });
});

test('a journey paused mid-way stops the enrolment there', async () => {
  await addMembers(200);
  startWorker({ pageSize: 20 });
  const { id } = (await post({ segment: 'dormant', ratePerSecond: 100 })).body.enrolment;
  await until(
    () => progress(id),
    (p) => p.queued >= 40,
  );
  open = false;
  const stopped = await until(
    () => progress(id),
    (p) => p.status === 'stopped',
  );
  expect(stopped.reason).toBe(`journey "${JOURNEY}" takes no new entries (paused or stopped)`);
  expect(stopped.queued).toBeLessThan(200);
  expect(await enrolJobs()).toHaveLength(stopped.queued);
});

test('the worker process killed mid-way: another worker resumes its page, every member once, counted once', async () => {
  const members = await addMembers(500);
  const { id } = (await post({ segment: 'dormant', ratePerSecond: 250 })).body.enrolment;
  const child = startChild({
    redisUrl: testRedisUrl(),
    eventsPrefix: app.prefix,
    keyPrefix,
    segmentKey: segmentKeys.members('dormant'),
    journeyId: JOURNEY,
    // Short, so the test need not wait BullMQ's 30 s for the dead worker's lock and stall check.
    lockDurationMs: 1500,
    stalledIntervalMs: 500,
  });
  try {
    await until(
      () => progress(id),
      (p) => p.queued >= 150,
      60_000,
    );
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const atCrash = await progress(id);
    expect(atCrash.status).toBe('running');
    expect(atCrash.queued).toBeLessThan(500);
    // The job is still `active` under the dead worker's lock; once it expires it is stalled and
    // this worker takes it again.
    startWorker({ stalledIntervalMs: 500, lockDurationMs: 1500 });
    const done = await until(
      () => progress(id),
      (p) => p.status === 'done',
      60_000,
    );
    expect(done).toMatchObject({ queued: 500, total: 500, progress: 1 });
    const jobs = await enrolJobs();
    expect(jobs.map((j) => j.data.customerId).sort()).toEqual(members);
    const job = await enrolments.queue.getJob(id);
    expect(job?.attemptsStarted).toBeGreaterThanOrEqual(2); // run twice: before and after the kill
  } finally {
    child.kill('SIGKILL');
  }
}, 120_000);

function startChild(config: Record<string, unknown>): ChildProcess {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'tests/bulk/children/run.js'), 'enrolment-worker', JSON.stringify(config)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  child.on('exit', (code) => {
    if (code !== null && code !== 0) process.stderr.write(`enrolment worker exited ${code}:\n${output}\n`);
  });
  return child;
}
