import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startRedisServer, type RedisServer } from '../../runtime/redis-server';
import { findTemporalCli, findTestServer } from '../../runtime/temporal-binaries';

/** What global-setup started and global-teardown must stop (both run in Jest's own process). */
export interface TestRunResources {
  redis?: RedisServer;
  /** Temp dir holding the test Redis's files; removed at teardown. */
  redisDir?: string;
}

declare global {
  var __touchpointTestRun: TestRunResources | undefined;
}

/**
 * Jest globalSetup, run once in Jest's own process before any worker starts. Workers inherit
 * process.env from here, which is how they learn the binaries' paths and the Redis URL.
 */
export default async function globalSetup(): Promise<void> {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });

  // The suite runs against real servers: a missing binary fails the run with what to install,
  // rather than skipping tests or waiting on an SDK download (no internet on CI machines).
  const cli = await findTemporalCli({ logger, allowSdkDownload: false });
  const testServer = await findTestServer({ logger, allowSdkDownload: false });
  process.env.TEMPORAL_CLI = cli.path;
  process.env.TEMPORAL_TEST_SERVER = testServer.path;

  const resources: TestRunResources = {};
  globalThis.__touchpointTestRun = resources;
  if (process.env.TEST_REDIS_URL) return; // the developer's own Redis; tests/support/redis.ts reads it

  // A Redis of our own in a fresh dir: never the machine's shared Redis on 6379. Not detached,
  // so Ctrl-C on the run stops it too; it is unref'd, so it never keeps Jest from exiting.
  resources.redisDir = await fs.mkdtemp(path.join(os.tmpdir(), 'touchpoint-test-'));
  try {
    resources.redis = await startRedisServer({ dataDir: resources.redisDir, logger, detached: false });
  } catch (err) {
    // Jest skips globalTeardown when globalSetup fails.
    await fs.rm(resources.redisDir, { recursive: true, force: true });
    throw err;
  }
  process.env.TOUCHPOINT_TEST_REDIS_URL = resources.redis.url;
}
