import { randomUUID } from 'node:crypto';
import IORedis, { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../../runtime/redis-server';

/**
 * The Redis the suite talks to: the one global-setup started for the run (its URL is passed in
 * TOUCHPOINT_TEST_REDIS_URL), or TEST_REDIS_URL when a developer points the suite elsewhere.
 */
export function testRedisUrl(): string {
  const url = process.env.TOUCHPOINT_TEST_REDIS_URL ?? process.env.TEST_REDIS_URL;
  if (!url)
    throw new Error(
      'No test Redis: tests/support/global-setup.ts did not run (run the suite with `npm test`)',
    );
  return url;
}

/** A BullMQ-ready connection (maxRetriesPerRequest: null, as BullMQ workers require). */
export function testRedis(): Redis {
  return new IORedis({ ...redisOptionsFromUrl(testRedisUrl()), maxRetriesPerRequest: null });
}

/** A prefix unique to one test, so suites running side by side never see each other's keys. */
export function uniquePrefix(name = 't'): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under `prefix`, so a suite leaves nothing behind on the shared test Redis. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
}
