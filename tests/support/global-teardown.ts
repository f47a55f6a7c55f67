import fs from 'node:fs/promises';
import type {} from './global-setup'; // the type of globalThis.__touchpointTestRun

/** Jest globalTeardown: stops what global-setup started. */
export default async function globalTeardown(): Promise<void> {
  const resources = globalThis.__touchpointTestRun;
  globalThis.__touchpointTestRun = undefined;
  if (!resources) return;
  await resources.redis?.stop();
  if (resources.redisDir) await fs.rm(resources.redisDir, { recursive: true, force: true });
}
