import type { Redis } from 'ioredis';
import { RedisKeys } from '../../customers/keys';
import { EntryAdmission } from '../../router/admission';
import { journey } from '../router/support';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

const T0 = Date.parse('2026-03-01T10:00:00+08:00');
const DAY = 86_400_000;

let redis: Redis;
let prefix: string;
let admission: EntryAdmission;
let seq = 0;
const msg = () => `m-${++seq}`;

beforeAll(() => {
  redis = testRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('adm-alias');
  admission = new EntryAdmission(redis, new RedisKeys(prefix), { maxPerCustomer: 2 });
});
afterEach(() => deleteKeys(redis, prefix));
afterAll(() => redis.quit());

describe('admission counts the ids merged into a customer as the customer', () => {
  test('an alias in the journey: the customer is `running` there; once its run ends, the customer may enter', async () => {
    const j = journey('welcome');
    expect(await admission.admit(j, 'anon:pos', msg(), T0)).toEqual({ admitted: true });
    expect(await admission.admit(j, 'web', msg(), T0, ['anon:pos'])).toEqual({
      admitted: false,
      reason: 'running',
    });
    expect(await admission.activeAmong('welcome', ['web', 'anon:pos'])).toEqual(['anon:pos']);
    await admission.release('welcome', 'anon:pos');
    expect(await admission.admit(j, 'web', msg(), T0, ['anon:pos'])).toEqual({ admitted: true });
  });

  test('an alias’s last entry counts for re-entry (never, or a cool-down)', async () => {
    const once = journey('once', { reentry: { mode: 'never' } });
    const cool = journey('cool', { reentry: { mode: 'after', cooldownMs: 30 * DAY } });
    for (const j of [once, cool]) {
      expect((await admission.admit(j, 'anon:pos', msg(), T0)).admitted).toBe(true);
      await admission.release(j.id, 'anon:pos');
    }
    expect(await admission.admit(once, 'web', msg(), T0 + DAY, ['anon:pos'])).toEqual({
      admitted: false,
      reason: 'reentry',
    });
    expect(await admission.admit(cool, 'web', msg(), T0 + DAY, ['anon:pos'])).toEqual({
      admitted: false,
      reason: 'reentry',
    });
    expect((await admission.admit(cool, 'web', msg(), T0 + 31 * DAY, ['anon:pos'])).admitted).toBe(true);
  });

  test('the alias’s journeys count towards the per-customer cap, each once', async () => {
    const [a, b, c] = ['cap-a', 'cap-b', 'cap-c'].map((id) => journey(id));
    expect((await admission.admit(a!, 'anon:pos', msg(), T0)).admitted).toBe(true);
    expect((await admission.admit(b!, 'web', msg(), T0, ['anon:pos'])).admitted).toBe(true);
    expect(await admission.admit(c!, 'web', msg(), T0, ['anon:pos'])).toEqual({
      admitted: false,
      reason: 'cap',
    });
    // Without the alias the customer would be under the cap: the merged person is in two journeys.
    expect((await admission.admit(c!, 'other', msg(), T0)).admitted).toBe(true);
  });
});
