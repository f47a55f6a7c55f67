import type { Redis } from 'ioredis';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

let redis: Redis;
let prefix: string;
let profiles: ProfileStore;
beforeAll(() => {
  redis = testRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('traits');
  profiles = new ProfileStore(redis, new RedisKeys(prefix));
});
afterEach(() => deleteKeys(redis, prefix));
afterAll(() => redis.quit());

describe('ProfileStore.merge reports the traits it changed (traitChanged entries start on them)', () => {
  test('set anew, set to another value, removed: changed; the same value again or removing nothing: not', async () => {
    expect(await profiles.merge('c1', { name: 'Li', dueDate: '2026-09-01', size: { w: 1, h: 2 } })).toEqual([
      'name',
      'dueDate',
      'size',
    ]);
    expect(
      await profiles.merge('c1', {
        name: 'Li',
        dueDate: '2026-10-01',
        size: { h: 2, w: 1 }, // the same value, keys in another order
        stage: null, // never set
      }),
    ).toEqual(['dueDate']);
    expect(await profiles.merge('c1', { name: null, orders: 3 })).toEqual(['name', 'orders']);
    expect(await profiles.merge('c1', { orders: '3' })).toEqual(['orders']); // another JSON value
    expect(await profiles.merge('c1', {})).toEqual([]);
    expect(await profiles.get('c1')).toEqual({ dueDate: '2026-10-01', size: { w: 1, h: 2 }, orders: '3' });
  });

  test('parallel identical merges: exactly one reports the change', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => profiles.merge('c2', { dueDate: '2026-09-01' })),
    );
    expect(results.filter((changed) => changed.length > 0)).toHaveLength(1);
  });

  test('the same identify merged again (a retried job) reports the same changes; another message does not', async () => {
    expect(await profiles.merge('c3', { dueDate: '2026-09-01', name: 'Li' }, 'm1')).toEqual([
      'dueDate',
      'name',
    ]);
    expect(await profiles.merge('c3', { dueDate: '2026-09-01', name: 'Li' }, 'm1')).toEqual([
      'dueDate',
      'name',
    ]);
    expect(await profiles.merge('c3', { dueDate: '2026-09-01', name: 'Li' }, 'm2')).toEqual([]);
    expect(await profiles.get('c3')).toEqual({ dueDate: '2026-09-01', name: 'Li' });
  });
});
