import fs from 'node:fs';
import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Redis } from 'ioredis';
import { JourneyStats } from '../../customers/journey-stats';
import { RedisKeys } from '../../customers/keys';
import { JourneyLifecycle } from '../../registry/lifecycle';
import { JourneyStore } from '../../registry/store';
import { KEYS, startTestApp, type TestApp } from '../server/fixture';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { createDevServerEnv } from '../support/temporal';
import { fixtureTemplates } from '../simulation/support';
import { cli, SIM } from './support';

/*
 * publish / pause / resume / stop / list / status against the admin API of an app started
 * in-process on a real port, with the real journey registry on Redis and a real Temporal dev
 * server (stop looks for running customers through its visibility).
 */

let env: TestWorkflowEnvironment;
let redis: Redis;
let prefix: string;
let store: JourneyStore;
let app: TestApp;
let server: Server;
let url: string;

beforeAll(async () => {
  env = await createDevServerEnv();
  redis = testRedis();
  prefix = uniquePrefix('cli');
  const keys = new RedisKeys(prefix);
  store = new JourneyStore(redis, keys, { check: { templates: fixtureTemplates() } });
  app = await startTestApp({
    registry: {
      store,
      lifecycle: new JourneyLifecycle({ store, temporal: env.client }),
      stats: new JourneyStats(redis, keys),
    },
  });
  server = app.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await app?.close();
  if (redis) {
    await deleteKeys(redis, prefix);
    await redis.quit();
  }
  await env?.teardown();
});

const WELCOME = `${SIM}/journeys/sim-welcome.yaml`;
const withServer = (args: string[], extra: string[] = ['--key', KEYS.adminKey]) =>
  cli([...args, '--url', url, ...extra]);

test('publish, then the lifecycle: pause, resume, list, status, stop', async () => {
  const published = await withServer(['publish', WELCOME, '--note', 'first cut', '--actor', 'ana']);
  expect(published.err).toBe('');
  expect(published.code).toBe(0);
  expect(published.out).toBe('published sim-welcome version 1, status published\n');

  const again = await withServer(['publish', WELCOME]);
  expect(again.code).toBe(0);
  expect(again.out).toContain('version 1, status published (unchanged');

  const paused = await withServer(['pause', 'sim-welcome', '--reason', 'copy review', '--actor', 'ana']);
  expect(paused).toMatchObject({ code: 0, out: 'sim-welcome: paused (version 1)\n' });
  const listed = await withServer(['list']);
  expect(listed.code).toBe(0);
  expect(listed.out).toMatch(/^ID +STATUS +VERSION +ENTRY +STEPS +NAME\n/);
  expect(listed.out).toMatch(
    /\nsim-welcome +paused +v1 +event signed_up +5 +Welcome coupon \(simulator fixture\)\n/,
  );

  const resumed = await withServer(['resume', 'sim-welcome']);
  expect(resumed).toMatchObject({ code: 0, out: 'sim-welcome: published (version 1)\n' });

  const status = await withServer(['status', 'sim-welcome']);
  expect(status.code).toBe(0);
  expect(status.out).toMatch(/^sim-welcome: published, latest version 1\n {2}version 1/);
  const json = JSON.parse((await withServer(['status', 'sim-welcome', '--json'])).out);
  expect(json).toMatchObject({ id: 'sim-welcome', status: 'published', version: 1 });

  // Counters as runs record them: the status shows the conversion rate, lift and split arms.
  const stats = new JourneyStats(redis, new RedisKeys(prefix));
  const counts: [string, number][] = [
    ['entered', 40],
    ['converted', 10],
    ['entered:control', 10],
    ['converted:control', 1],
    ['entered:treatment', 30],
    ['converted:treatment', 9],
    ['split:offer:A', 16],
    ['split:offer:B', 14],
  ];
  for (const [field, n] of counts)
    for (let i = 0; i < n; i++) await stats.countOnce('sim-welcome', 1, field, `${prefix}:${field}:${i}`);
  const results = await withServer(['status', 'sim-welcome']);
  expect(results.out).toContain('conversion rate                  25.0 %\n');
  expect(results.out).toContain('treatment / control              30.0 % of 30 / 10.0 % of 10\n');
  expect(results.out).toContain('lift over control                +200.0 %\n');
  expect(results.out).toContain('split offer                      A 16, B 14\n');

  const stopped = await withServer(['stop', 'sim-welcome', '--reason', 'campaign over', '--actor', 'ana']);
  expect(stopped.err).toBe('');
  expect(stopped).toMatchObject({ code: 0, out: 'sim-welcome: stopped; 0 running customers stopped\n' });

  // Who did what, as the server recorded it from X-Touchpoint-Actor.
  const history = (await store.history('sim-welcome'))!;
  expect(history.map((h) => [h.action, h.by])).toEqual([
    ['publish', 'ana'],
    ['pause', 'ana'],
    ['resume', expect.any(String)],
    ['stop', 'ana'],
  ]);
  expect(history[1]).toMatchObject({ reason: 'copy review' });
  expect(history[3]).toMatchObject({ reason: 'campaign over' });
});

test('stop needs a reason', async () => {
  const run = await withServer(['stop', 'sim-welcome']);
  expect(run.code).not.toBe(0);
  expect(run.err).toContain("required option '--reason <text>' not specified");
});

test('publishing an invalid journey: the server’s issues, located in the file; exit 1', async () => {
  const run = await withServer(['publish', 'tests/fixtures/cli/broken.yaml']);
  expect(run.code).toBe(1);
  expect(run.err).toContain('answered 400 invalid_journey: the journey has');
  expect(run.err).toMatch(/:16:5 \[step wait-order\] steps\[1\]\.onTimeout: no step has the id `nowhere`/);
  expect(await store.latest('broken')).toBeFalsy();
});

test('an unknown journey: the 404 as the server said it', async () => {
  const run = await withServer(['status', 'no-such-journey']);
  expect(run.code).toBe(1);
  expect(run.err).toContain('answered 404 not_found: no journey "no-such-journey"');
});

test('a wrong admin key: 401, and where the key came from', async () => {
  const run = await withServer(['list'], ['--key', 'wrong']);
  expect(run.code).toBe(1);
  expect(run.err).toContain('answered 401');
  expect(run.err).toContain('did not accept the key (from --key)');
});

test('the key from TOUCHPOINT_ADMIN_KEY and the URL from TOUCHPOINT_URL', async () => {
  const run = await cli(['list', '--json'], { TOUCHPOINT_ADMIN_KEY: KEYS.adminKey, TOUCHPOINT_URL: url });
  expect(run.code).toBe(0);
  expect(JSON.parse(run.out).journeys).toContainEqual(expect.objectContaining({ id: 'sim-welcome' }));
});

test('keys.json holds only hashes: the CLI never reads a key from it, and says so', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-cli-data-'));
  // Even an old plaintext file is not read: the key comes from --key or the environment.
  fs.writeFileSync(path.join(dataDir, 'keys.json'), JSON.stringify(KEYS));
  const run = await cli(['list', '--json'], { TOUCHPOINT_DATA_DIR: dataDir, TOUCHPOINT_URL: url });
  expect(run.code).toBe(1);
  expect(run.err).toContain('no admin key: pass --key or set TOUCHPOINT_ADMIN_KEY');
  expect(run.err).toContain(`${path.join(dataDir, 'keys.json')} keeps only the SHA-256 of the keys`);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('no server there: a clear message, exit 1', async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const run = await cli(['list', '--url', `http://127.0.0.1:${port}`, '--key', 'k']);
  expect(run.code).toBe(1);
  expect(run.err).toContain(
    `cannot reach the Touchpoint server at http://127.0.0.1:${port} (connection refused)`,
  );
  expect(run.err).toContain('--url or TOUCHPOINT_URL');
});

test('no admin key anywhere: says where it looked', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-cli-empty-'));
  const run = await cli(['list', '--url', url], { TOUCHPOINT_DATA_DIR: dataDir });
  expect(run.code).toBe(1);
  expect(run.err).toContain('no admin key: pass --key or set TOUCHPOINT_ADMIN_KEY');
  expect(run.err).toContain(path.join(dataDir, 'keys.json'));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('simulate a journey by id: not a local file, so its published version from the server', async () => {
  const published = await withServer(['publish', WELCOME, '--note', 'after stop']);
  expect(published.code).toBe(0);
  const run = await cli(
    [
      'simulate',
      'sim-welcome',
      '--scenario',
      `${SIM}/scenarios/welcome-converts.json`,
      '--templates',
      `${SIM}/templates`,
      '--url',
      url,
      '--key',
      KEYS.adminKey,
      '--compact',
    ],
    { REDIS_URL: testRedisUrl(), TEMPORAL_TEST_SERVER: process.env.TEMPORAL_TEST_SERVER },
  );
  expect(run.err).toBe('');
  expect(run.code).toBe(0);
  expect(run.out.trim().split('\n')).toHaveLength(1);
  expect(JSON.parse(run.out)).toMatchObject({ journey: 'sim-welcome', outcome: 'converted' });
}, 180_000);
