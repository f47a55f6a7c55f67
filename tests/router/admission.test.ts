import type { Redis } from 'ioredis';
import { JourneyStats } from '../../customers/journey-stats';
import { RedisKeys } from '../../customers/keys';
import { EntryAdmission, type AdmissionOptions } from '../../router/admission';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';
import { journey } from './support';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-01T10:00:00+08:00');

let redis: Redis;
let prefix: string;
let keys: RedisKeys;
let stats: JourneyStats;
let seq = 0;
const msg = () => `m-${++seq}`;

beforeAll(() => {
  redis = testRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('adm');
  keys = new RedisKeys(prefix);
  stats = new JourneyStats(redis, keys);
});
afterEach(() => deleteKeys(redis, prefix));
afterAll(() => redis.quit());

const admission = (opts: AdmissionOptions = {}) => new EntryAdmission(redis, keys, opts);

describe('EntryAdmission', () => {
  test('admits, then answers running while the customer is in the journey; release frees it', async () => {
    const a = admission();
    const j = journey('welcome');
    expect(await a.admit(j, 'c1', msg(), T0)).toEqual({ admitted: true });
    expect(await a.admit(j, 'c1', msg(), T0)).toEqual({ admitted: false, reason: 'running' });
    expect(await a.active('welcome')).toBe(1);
    await a.release('welcome', 'c1');
    await a.release('welcome', 'c1'); // idempotent
    expect(await a.active('welcome')).toBe(0);
    expect(await a.admit(j, 'c1', msg(), T0)).toEqual({ admitted: true });
    expect(await stats.get('welcome', 1)).toEqual({ 'refused:running': 1 });
  });

  test('closed: the catalog says the journey takes no entries, or entry.endAt has passed', async () => {
    let open = false;
    const a = admission({ isOpen: () => open });
    const j = journey('promo', { endAt: '2026-03-31T23:59:59+08:00' });
    expect(await a.admit(j, 'c1', msg(), T0)).toEqual({ admitted: false, reason: 'closed' });
    open = true;
    expect(await a.admit(j, 'c1', msg(), Date.parse('2026-04-01T00:00:00+08:00'))).toEqual({
      admitted: false,
      reason: 'closed',
    });
    expect(await a.admit(j, 'c1', msg(), T0)).toEqual({ admitted: true });
    expect(await stats.get('promo', 1)).toEqual({ 'refused:closed': 2 });
  });

  test('re-entry never: once admitted, never again, even after the run ended', async () => {
    const a = admission();
    const j = journey('once', { reentry: { mode: 'never' } });
    expect((await a.admit(j, 'c1', msg(), T0)).admitted).toBe(true);
    await a.release('once', 'c1');
    expect(await a.admit(j, 'c1', msg(), T0 + 365 * DAY)).toEqual({ admitted: false, reason: 'reentry' });
    expect((await a.admit(j, 'c2', msg(), T0)).admitted).toBe(true); // others still may
  });

  test('re-entry always: again as soon as the run ended', async () => {
    const a = admission();
    const j = journey('always');
    expect((await a.admit(j, 'c1', msg(), T0)).admitted).toBe(true);
    await a.release('always', 'c1');
    expect((await a.admit(j, 'c1', msg(), T0 + 1)).admitted).toBe(true);
  });

  test('re-entry after a cool-down, measured from the last entry', async () => {
    const a = admission();
    const j = journey('cool', { reentry: { mode: 'after', cooldownMs: 30 * DAY } });
    expect((await a.admit(j, 'c1', msg(), T0)).admitted).toBe(true);
    await a.release('cool', 'c1');
    expect(await a.admit(j, 'c1', msg(), T0 + 29 * DAY)).toEqual({ admitted: false, reason: 'reentry' });
    expect((await a.admit(j, 'c1', msg(), T0 + 30 * DAY)).admitted).toBe(true);
    await a.release('cool', 'c1');
    // The cool-down now runs from the second entry.
    expect(await a.admit(j, 'c1', msg(), T0 + 31 * DAY)).toEqual({ admitted: false, reason: 'reentry' });
  });

  test('entry limit: no more than `limit` customers at once; a release makes room', async () => {
    const a = admission();
    const j = journey('small', { limit: 2 });
    expect((await a.admit(j, 'c1', msg(), T0)).admitted).toBe(true);
    expect((await a.admit(j, 'c2', msg(), T0)).admitted).toBe(true);
    expect(await a.admit(j, 'c3', msg(), T0)).toEqual({ admitted: false, reason: 'limit' });
    await a.release('small', 'c1');
    expect((await a.admit(j, 'c3', msg(), T0)).admitted).toBe(true);
    expect(await stats.get('small', 1)).toEqual({ 'refused:limit': 1 });
  });

  test('parallel admissions from several connections never exceed the limit', async () => {
    const connections = Array.from({ length: 4 }, () => testRedis());
    try {
      const admissions = connections.map((c) => new EntryAdmission(c, keys));
      const j = journey('rush', { limit: 7 });
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => admissions[i % 4]!.admit(j, `c${i}`, `rush-${i}`, T0)),
      );
      expect(results.filter((r) => r.admitted)).toHaveLength(7);
      expect(results.filter((r) => !r.admitted && r.reason === 'limit')).toHaveLength(53);
      expect(await admission().active('rush')).toBe(7);
      expect(await stats.get('rush', 1)).toEqual({ 'refused:limit': 53 });
    } finally {
      await Promise.all(connections.map((c) => c.quit()));
    }
  });

  test('parallel admissions of one customer into capped journeys never exceed the cap', async () => {
    const a = admission({ maxPerCustomer: 3 });
    const journeys = Array.from({ length: 12 }, (_, i) => journey(`j${i}`));
    const results = await Promise.all(journeys.map((j) => a.admit(j, 'c1', msg(), T0)));
    expect(results.filter((r) => r.admitted)).toHaveLength(3);
    expect(await a.journeysOf('c1')).toHaveLength(3);
  });

  test('per-customer cap: capExempt journeys neither count nor are refused', async () => {
    const a = admission({ maxPerCustomer: 2 });
    const [j1, j2, j3] = ['cap-1', 'cap-2', 'cap-3'].map((id) => journey(id));
    const service = journey('service', {}, { capExempt: true });
    expect((await a.admit(service, 'c1', msg(), T0)).admitted).toBe(true);
    expect((await a.admit(j1!, 'c1', msg(), T0)).admitted).toBe(true);
    expect((await a.admit(j2!, 'c1', msg(), T0)).admitted).toBe(true);
    expect(await a.admit(j3!, 'c1', msg(), T0)).toEqual({ admitted: false, reason: 'cap' });
    expect((await a.admit(journey('service-2', {}, { capExempt: true }), 'c1', msg(), T0)).admitted).toBe(
      true,
    );
    expect(await a.journeysOf('c1')).toEqual(['cap-1', 'cap-2']);
    expect((await a.admit(j3!, 'c2', msg(), T0)).admitted).toBe(true); // the cap is per customer
    await a.release('cap-1', 'c1');
    expect((await a.admit(j3!, 'c1', msg(), T0)).admitted).toBe(true);
    expect(await stats.get('cap-3', 1)).toEqual({ 'refused:cap': 1 });
  });

  test('no cap configured: any number of journeys', async () => {
    const a = admission();
    for (let i = 0; i < 10; i++)
      expect((await a.admit(journey(`free-${i}`), 'c1', msg(), T0)).admitted).toBe(true);
  });

  test('the same message admits again (a retried job) without taking a second slot', async () => {
    const a = admission({ maxPerCustomer: 1 });
    const j = journey('retry', { limit: 1, reentry: { mode: 'never' } });
    expect(await a.admit(j, 'c1', 'order-1', T0)).toEqual({ admitted: true });
    expect(await a.admit(j, 'c1', 'order-1', T0 + HOUR)).toEqual({ admitted: true, repeat: true });
    expect(await a.active('retry')).toBe(1);
    expect(await a.journeysOf('c1')).toEqual(['retry']);
    // After the run ended and was released, the repeat does not take the slot back.
    await a.release('retry', 'c1');
    expect(await a.admit(j, 'c1', 'order-1', T0 + 2 * HOUR)).toEqual({ admitted: true, repeat: true });
    expect(await a.active('retry')).toBe(0);
    expect(await a.journeysOf('c1')).toEqual([]);
    // Any other message is judged by the rules.
    expect(await a.admit(j, 'c1', 'order-2', T0)).toEqual({ admitted: false, reason: 'reentry' });
  });

  test('a refusal is counted once per message, however often the job is retried', async () => {
    const a = admission();
    const j = journey('counted', { limit: 0 }, { version: 4 });
    for (let i = 0; i < 3; i++)
      expect(await a.admit(j, 'c1', 'same', T0)).toEqual({ admitted: false, reason: 'limit' });
    await a.admit(j, 'c1', 'other', T0);
    expect(await stats.get('counted', 4)).toEqual({ 'refused:limit': 2 });
    expect(await stats.get('counted', 1)).toEqual({});
  });

  test('checks in order: running before closed, closed before re-entry and limit', async () => {
    let open = true;
    const a = admission({ isOpen: () => open });
    const j = journey('order', { limit: 1, reentry: { mode: 'never' } });
    expect((await a.admit(j, 'c1', msg(), T0)).admitted).toBe(true);
    open = false;
    expect(await a.admit(j, 'c1', msg(), T0)).toEqual({ admitted: false, reason: 'running' });
    expect(await a.admit(j, 'c2', msg(), T0)).toEqual({ admitted: false, reason: 'closed' });
    open = true;
    expect(await a.admit(j, 'c2', msg(), T0)).toEqual({ admitted: false, reason: 'limit' });
    await a.release('order', 'c1');
    expect(await a.admit(j, 'c1', msg(), T0)).toEqual({ admitted: false, reason: 'reentry' });
  });
});
