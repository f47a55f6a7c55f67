import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadSettings, projectRoot } from '../../config/settings';
import { startTouchpoint, type Touchpoint } from '../../main/touchpoint';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { createDevServerEnv } from '../support/temporal';
import { waitingJourney } from './support';

/*
 * Start-up as `npm start` wires it (main/touchpoint.ts, api role) on the test Redis and a Temporal
 * dev server: journeys/ files are seeded into the registry, restarts are idempotent, a paused
 * journey stays paused, and TOUCHPOINT_SEED_JOURNEYS=false leaves the folder alone.
 */

const ADMIN_KEY = 'startup-admin-key';
let env: TestWorkflowEnvironment;
let dir: string;
let keyPrefix: string;

beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tp-startup-'));
  keyPrefix = uniquePrefix('boot');
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha'));
});
afterEach(async () => {
  const redis = testRedis();
  await deleteKeys(redis, keyPrefix);
  await deleteKeys(redis, `${keyPrefix}-bull`);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

async function start(extra: Record<string, string> = {}): Promise<Touchpoint & { url: string }> {
  const settings = loadSettings({
    PORT: '0',
    TOUCHPOINT_DATA_DIR: path.join(dir, 'data'),
    TOUCHPOINT_JOURNEYS_DIR: dir,
    TOUCHPOINT_TEMPLATES_DIR: path.join(projectRoot, 'templates'),
    REDIS_URL: testRedisUrl(),
    TEMPORAL_ADDRESS: env.address,
    TOUCHPOINT_KEY_PREFIX: keyPrefix,
    TOUCHPOINT_QUEUE_PREFIX: `${keyPrefix}-bull`,
    TOUCHPOINT_ADMIN_KEY: ADMIN_KEY,
    TOUCHPOINT_WRITE_KEY: 'startup-write-key',
    ...extra,
  });
  const touchpoint = await startTouchpoint(settings, new Set(['api']), pino({ level: 'silent' }));
  return { ...touchpoint, url: `http://127.0.0.1:${touchpoint.port}` };
}

const call = (url: string, method = 'GET', body?: unknown) =>
  fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { history?: { action: string }[] },
  }));

test('journeys/ files are published at start-up once; a restart changes nothing and keeps a pause', async () => {
  let app = await start();
  try {
    const list = await call(`${app.url}/v1/journeys`);
    expect(list.body.journeys).toEqual([
      expect.objectContaining({ id: 'alpha', version: 1, status: 'published' }),
    ]);
    expect((await call(`${app.url}/v1/journeys/alpha/versions`)).body.versions).toEqual([
      expect.objectContaining({ version: 1, publishedBy: 'startup', note: 'from alpha.yaml' }),
    ]);
    expect((await call(`${app.url}/v1/journeys/alpha/pause`, 'POST', { reason: 'audit' })).status).toBe(200);
  } finally {
    await app.stop();
  }

  // The same file again: nothing new. A changed file: a new version, still paused.
  app = await start();
  try {
    expect((await call(`${app.url}/v1/journeys/alpha/history`)).body.history?.map((h) => h.action)).toEqual([
      'publish',
      'pause',
    ]);
  } finally {
    await app.stop();
  }
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha', { timeout: '2d' }));
  app = await start();
  try {
    expect((await call(`${app.url}/v1/journeys/alpha`)).body).toMatchObject({ version: 2, status: 'paused' });
  } finally {
    await app.stop();
  }
});

test('TOUCHPOINT_SEED_JOURNEYS=false ignores the folder; the registry alone holds journeys', async () => {
  // A broken file would stop a seeding start-up; with seeding off it is never read.
  await writeFile(path.join(dir, 'beta.yaml'), 'id: beta\nsteps: [');
  const app = await start({ TOUCHPOINT_SEED_JOURNEYS: 'false' });
  try {
    expect((await call(`${app.url}/v1/journeys`)).body).toEqual({ journeys: [] });
    const published = await call(`${app.url}/v1/journeys/alpha/publish`, 'POST', {
      source: waitingJourney('alpha'),
    });
    expect(published).toMatchObject({ status: 201, body: { version: 1, status: 'published' } });
  } finally {
    await app.stop();
  }
  await expect(start()).rejects.toThrow(/beta\.yaml:2:\d+/);
});
