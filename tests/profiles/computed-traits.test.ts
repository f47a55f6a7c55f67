import { ComputedTraitsMerge } from '../../customers/computed-traits-merge';
import { countsAsSeen } from '../../customers/computed-traits';
import { DAY, profilesHarness } from './support';

type Harness = Awaited<ReturnType<typeof profilesHarness>>;

describe('computed traits from track events (real Redis)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await profilesHarness();
  });
  afterEach(() => h.close());

  const iso = (ms: number) => new Date(ms).toISOString();

  test('a first order sets every order trait, last seen, RFM, group and lifecycle stage', async () => {
    const changed = await h.computed.onTrack(
      'c1',
      h.event('order_completed', { orderId: 'o1', total: 199.5, category: 'shoes' }),
    );
    expect(changed.sort()).toEqual(
      [
        'lastSeenAt',
        'orderCount',
        'totalSpend',
        'avgOrderValue',
        'firstOrderAt',
        'lastOrderAt',
        'preferredCategories',
        'rfmR',
        'rfmF',
        'rfmM',
        'rfmGroup',
        'lifecycleStage',
      ].sort(),
    );
    expect(await h.profiles.get('c1')).toEqual({
      lastSeenAt: iso(h.clock.now),
      orderCount: 1,
      totalSpend: 199.5,
      avgOrderValue: 199.5,
      firstOrderAt: iso(h.clock.now),
      lastOrderAt: iso(h.clock.now),
      preferredCategories: ['shoes'],
      // Recency by the default cut points (0 days ≤ 30 → 5); F and M by quantile, no model yet → 3.
      rfmR: 5,
      rfmF: 3,
      rfmM: 3,
      rfmGroup: 'new',
      lifecycleStage: 'purchase',
    });
  });

  test('sums, averages (to the cent) and the amount fallback; categories may be a list', async () => {
    await h.computed.onTrack('c1', h.event('order_completed', { orderId: 'o1', total: 10.1, category: 'a' }));
    h.clock.now += 1000;
    await h.computed.onTrack(
      'c1',
      h.event('order_completed', { orderId: 'o2', amount: '20.2', category: ['b', 'a', 'a', ' '] }),
    );
    h.clock.now += 1000;
    await h.computed.onTrack('c1', h.event('order_completed', { orderId: 'o3', total: 'n/a', amount: 5 }));
    const traits = await h.profiles.get('c1');
    expect(traits).toMatchObject({ orderCount: 3, totalSpend: 35.3, avgOrderValue: 11.77 });
    expect(traits.preferredCategories).toEqual(['a', 'b']);
  });

  test('the same order reported twice counts once; a retried job reports the same changes again', async () => {
    const first = h.event('order_completed', { orderId: 'o1', total: 100 });
    const changed = await h.computed.onTrack('c1', first);
    const after = await h.profiles.get('c1');

    // The same message again (a BullMQ retry): counted once, the changes reported again for the segments hook.
    expect((await h.computed.onTrack('c1', first)).sort()).toEqual(
      changed
        .filter((n) => !['lastSeenAt', 'rfmR', 'rfmF', 'rfmM', 'rfmGroup', 'lifecycleStage'].includes(n))
        .sort(),
    );
    // The same order from another source (another messageId): nothing changes.
    expect(await h.computed.onTrack('c1', h.event('order_completed', { orderId: 'o1', total: 100 }))).toEqual(
      [],
    );
    // An order id given as a number is the same order as the text.
    await h.computed.onTrack('c2', h.event('order_completed', { orderId: 42, total: 1 }));
    expect(await h.computed.onTrack('c2', h.event('order_completed', { orderId: '42', total: 1 }))).toEqual(
      [],
    );
    expect(await h.profiles.get('c1')).toEqual(after);
    expect(await h.redis.hlen(h.keys.customerOrders('c1'))).toBe(1);
  });

  test('without an order id the messageId is the order: retries count once, other messages count', async () => {
    const e = h.event('order_completed', { total: 10 });
    await h.computed.onTrack('c1', e);
    await h.computed.onTrack('c1', e);
    expect((await h.profiles.get('c1')).orderCount).toBe(1);
    await h.computed.onTrack('c1', h.event('order_completed', { total: 10 }));
    expect((await h.profiles.get('c1')).orderCount).toBe(2);
  });

  test('parallel orders of one customer are all counted (one Lua script each)', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        h.computed.onTrack('c1', h.event('order_completed', { orderId: `o${i}`, total: 2.5 })),
      ),
    );
    expect(await h.profiles.get('c1')).toMatchObject({ orderCount: 40, totalSpend: 100, avgOrderValue: 2.5 });
  });

  test('other events only move last seen; internal events do not count as seen', async () => {
    const t0 = h.clock.now;
    expect(await h.computed.onTrack('c1', h.event('page_viewed'))).toEqual(['lastSeenAt', 'lifecycleStage']);
    expect(await h.profiles.get('c1')).toEqual({ lastSeenAt: iso(t0), lifecycleStage: 'interest' });

    h.clock.now += DAY;
    for (const name of ['message_opened', 'message_delivered', 'segment_entered', 'journey_enrolled'])
      expect(await h.computed.onTrack('c1', h.event(name))).toEqual([]);
    expect(countsAsSeen({ event: 'coupon_claimed' })).toBe(true);
    expect(await h.computed.onTrack('c1', h.event('coupon_claimed'), { internal: true })).toEqual([]);
    expect((await h.profiles.get('c1')).lastSeenAt).toBe(iso(t0));

    // The same time again, an older time, a time in the future: last seen never goes back or ahead.
    expect(await h.computed.onTrack('c1', h.event('page_viewed', {}, { timestamp: iso(t0) }))).toEqual([]);
    expect(await h.computed.onTrack('c1', h.event('page_viewed', {}, { timestamp: iso(t0 - DAY) }))).toEqual(
      [],
    );
    await h.computed.onTrack('c1', h.event('page_viewed', {}, { timestamp: iso(h.clock.now + 365 * DAY) }));
    expect((await h.profiles.get('c1')).lastSeenAt).toBe(iso(h.clock.now));
  });

  test('orders arriving out of order: first is the earliest, last the latest', async () => {
    const t0 = h.clock.now;
    await h.computed.onTrack('c1', h.event('order_completed', { orderId: 'new', total: 1 }));
    await h.computed.onTrack(
      'c1',
      h.event('order_completed', { orderId: 'old', total: 1 }, { timestamp: iso(t0 - 40 * DAY) }),
    );
    expect(await h.profiles.get('c1')).toMatchObject({
      firstOrderAt: iso(t0 - 40 * DAY),
      lastOrderAt: iso(t0),
      lastSeenAt: iso(t0),
      orderCount: 2,
    });
  });

  test('preferred categories: the top 3 by orders, ties by name', async () => {
    const orders: [string, string[]][] = [
      ['o1', ['toys']],
      ['o2', ['toys', 'books']],
      ['o3', ['garden']],
      ['o4', ['books', 'food']],
      ['o5', ['food']],
      ['o6', ['toys']],
    ];
    for (const [orderId, category] of orders)
      await h.computed.onTrack('c1', h.event('order_completed', { orderId, total: 1, category }));
    // toys 3, books 2, food 2, garden 1.
    expect((await h.profiles.get('c1')).preferredCategories).toEqual(['toys', 'books', 'food']);
  });

  test('the order mapping comes from config: events, amount paths, category and id paths', async () => {
    const custom = await profilesHarness({
      orders: {
        event: ['purchase', 'pos_sale'],
        amount: 'order.total',
        category: 'order.dept',
        orderId: 'order.no',
      },
    });
    try {
      const { computed, profiles, event } = custom;
      expect(await computed.onTrack('c1', event('order_completed', { total: 5 }))).toEqual([
        'lastSeenAt',
        'lifecycleStage',
      ]);
      await computed.onTrack('c1', event('purchase', { order: { total: 30, dept: 'baby', no: 'A1' } }));
      await computed.onTrack('c1', event('pos_sale', { order: { total: 12, dept: 'baby', no: 'A2' } }));
      await computed.onTrack('c1', event('pos_sale', { order: { total: 12, dept: 'baby', no: 'A2' } }));
      expect(await profiles.get('c1')).toMatchObject({
        orderCount: 2,
        totalSpend: 42,
        preferredCategories: ['baby'],
      });
    } finally {
      await custom.close();
    }
  });

  test('merging customers: orders united (a shared order once), traits recomputed, idempotent', async () => {
    const t0 = h.clock.now;
    await h.computed.onTrack('w', h.event('order_completed', { orderId: 'o1', total: 100, category: 'a' }));
    await h.computed.onTrack(
      'l',
      h.event(
        'order_completed',
        { orderId: 'o0', total: 50, category: 'b' },
        { timestamp: iso(t0 - 10 * DAY) },
      ),
    );
    await h.computed.onTrack('l', h.event('order_completed', { orderId: 'o1', total: 100, category: 'a' }));
    h.clock.now += DAY;
    await h.computed.onTrack('l', h.event('page_viewed'));
    // Whatever a profile merge copied into the winner's order traits is corrected.
    await h.profiles.merge('w', { orderCount: 99 });

    const merge = new ComputedTraitsMerge({ redis: h.redis, keys: h.keys, computed: h.computed });
    await merge.mergeInto('l', 'w');
    const merged = await h.profiles.get('w');
    expect(merged).toMatchObject({
      orderCount: 2,
      totalSpend: 150,
      avgOrderValue: 75,
      firstOrderAt: iso(t0 - 10 * DAY),
      lastOrderAt: iso(t0),
      lastSeenAt: iso(t0 + DAY),
      preferredCategories: ['a', 'b'],
      rfmR: 5,
      lifecycleStage: 'purchase',
    });
    expect(await h.redis.exists(h.keys.customerOrders('l'), h.keys.customerCategories('l'))).toBe(0);

    await merge.mergeInto('l', 'w');
    expect(await h.profiles.get('w')).toEqual(merged);
    // The orders the loser brought still count once when reported again to the winner.
    expect(await h.computed.onTrack('w', h.event('order_completed', { orderId: 'o0', total: 50 }))).toEqual(
      [],
    );
  });
});
