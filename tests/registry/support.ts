import type { Redis } from 'ioredis';
import { RedisKeys } from '../../customers/keys';
import { JourneyStore, type JourneyStoreOptions } from '../../registry/store';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

/** A journey source in the language's YAML: a wait for an order, then an exit. */
export function waitingJourney(
  id: string,
  opts: { name?: string; entryEvent?: string; waitStep?: string; timeout?: string; extra?: string } = {},
): string {
  const wait = opts.waitStep ?? 'wait-order';
  return [
    `id: ${id}`,
    `name: ${opts.name ?? 'Waiting journey'}`,
    'version: 1',
    'entry:',
    `  event: ${opts.entryEvent ?? 'signed_up'}`,
    'exit:',
    '  - event: order_completed',
    'steps:',
    `  - id: ${wait}`,
    '    type: waitFor',
    '    event: coupon_claimed',
    `    timeout: ${opts.timeout ?? '7d'}`,
    '    onEvent: done',
    '    onTimeout: done',
    ...(opts.extra ? [opts.extra] : []),
    '  - id: done',
    '    type: exit',
    '',
  ].join('\n');
}

/** A store on the test Redis under a prefix of its own; `close()` deletes its keys. */
export function testStore(options: JourneyStoreOptions = {}) {
  const redis: Redis = testRedis();
  const prefix = uniquePrefix('reg');
  const keys = new RedisKeys(prefix);
  const store = new JourneyStore(redis, keys, options);
  return {
    redis,
    prefix,
    keys,
    store,
    /** Every key the store holds, to show a rejected request wrote nothing. */
    keysHeld: async () => (await redis.keys(`${prefix}:*`)).sort(),
    async close() {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}
