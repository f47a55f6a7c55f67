import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadSettings, projectRoot } from '../../config/settings';
import { startTouchpoint } from '../../main/touchpoint';
import { RedisKeys } from '../../customers/keys';
import { RFM_SCHEDULER_ID } from '../../customers/rfm-schedule';
import { Queue } from 'bullmq';
import { eventually } from '../support/eventually';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { createDevServerEnv } from '../support/temporal';

/*
 * Start-up as `npm start` wires profiles (main/touchpoint.ts, api + router roles): keys generated
 * into the data directory, the RFM scheduler and its first recompute, and a process whose keys
 * differ from the ones the data was written with refused at once.
 */
let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createDevServerEnv();
});
afterAll(async () => {
  await env?.teardown();
});

test('keys into the data dir, the RFM scheduler with its first run; other keys stop start-up', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-profiles-boot-'));
  const keyPrefix = uniquePrefix('pboot');
  const redis = testRedis();
  const settingsFor = (dataDir: string) =>
    loadSettings({
      PORT: '0',
      TOUCHPOINT_DATA_DIR: dataDir,
      TOUCHPOINT_JOURNEYS_DIR: path.join(dir, 'no-journeys'),
      TOUCHPOINT_SEED_JOURNEYS: 'false',
      TOUCHPOINT_TEMPLATES_DIR: path.join(projectRoot, 'templates'),
      REDIS_URL: testRedisUrl(),
      TEMPORAL_ADDRESS: env.address,
      TOUCHPOINT_KEY_PREFIX: keyPrefix,
      TOUCHPOINT_QUEUE_PREFIX: `${keyPrefix}-bull`,
      TOUCHPOINT_ADMIN_KEY: 'admin',
      TOUCHPOINT_WRITE_KEY: 'write',
    });
  const logger = pino({ level: 'silent' });
  try {
    const app = await startTouchpoint(settingsFor(path.join(dir, 'a')), new Set(['api', 'router']), logger);
    try {
      const keys = new RedisKeys(keyPrefix);
      await eventually(
        async () => ((await redis.exists(keys.rfmModel())) ? true : undefined),
        15_000,
        'RFM model',
      );
      const queue = new Queue('profiles', { connection: redis, prefix: `${keyPrefix}-bull` });
      const schedulers = await queue.getJobSchedulers(0, -1);
      await queue.close();
      expect(schedulers).toEqual([
        expect.objectContaining({ key: RFM_SCHEDULER_ID, pattern: '0 3 * * *', tz: 'Asia/Shanghai' }),
      ]);
    } finally {
      await app.stop();
    }
    // Another data directory means other generated keys: refused before anything is served.
    await expect(startTouchpoint(settingsFor(path.join(dir, 'b')), new Set(['api']), logger)).rejects.toThrow(
      /encryption key "k1" has other bytes than the key "k1" this installation’s data was encrypted with/,
    );
  } finally {
    await deleteKeys(redis, keyPrefix);
    await deleteKeys(redis, `${keyPrefix}-bull`);
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  }
});
