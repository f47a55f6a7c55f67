import { activityNow } from '../../activities';
import { activityHarness, closeAfterEach } from './support';

const update = (
  customerId: string,
  change: { addTags?: string[]; removeTags?: string[]; traits?: Record<string, unknown> },
) => ({
  journeyId: 'pregnancy-care',
  customerId,
  stepId: 'mark',
  idempotencyKey: `pregnancy-care:${customerId}:mark`,
  ...change,
});

describe('profile tags, updateProfile and loadTraits', () => {
  const track = closeAfterEach();

  test('tags are a set per customer: added, removed, listed sorted, each once', async () => {
    const { profiles } = track(await activityHarness());
    expect(await profiles.tags('u1')).toEqual([]);
    await profiles.addTags('u1', ['pregnant', 'vip', 'vip', ' ', '']);
    await profiles.addTags('u1', ['app-user']);
    expect(await profiles.tags('u1')).toEqual(['app-user', 'pregnant', 'vip']);
    await profiles.removeTags('u1', ['pregnant', 'never-had']);
    expect(await profiles.tags('u1')).toEqual(['app-user', 'vip']);
    expect(await profiles.tags('u2')).toEqual([]);
  });

  test('loadTraits returns the traits plus `tags` (sorted, always present)', async () => {
    const { profiles, activities } = track(await activityHarness());
    await profiles.merge('u1', { name: 'Li', dueDate: '2026-09-01', orders: 3 });
    expect(await activities.loadTraits('u1')).toEqual({
      name: 'Li',
      dueDate: '2026-09-01',
      orders: 3,
      tags: [],
    });
    await profiles.addTags('u1', ['vip', 'new-mum']);
    expect(await activities.loadTraits('u1')).toEqual({
      name: 'Li',
      dueDate: '2026-09-01',
      orders: 3,
      tags: ['new-mum', 'vip'],
    });
    expect(await activities.loadTraits('nobody')).toEqual({ tags: [] });
  });

  test('an identify with a `tags` trait does not set tags: journeys see the tag set', async () => {
    const { profiles, activities } = track(await activityHarness());
    await profiles.merge('u1', { tags: ['from-identify'] });
    await profiles.addTags('u1', ['vip']);
    expect((await activities.loadTraits('u1')).tags).toEqual(['vip']);
    expect((await profiles.get('u1')).tags).toEqual(['from-identify']); // stored as a plain trait
  });

  test('updateProfile removes and adds tags and merges traits; running it again changes nothing', async () => {
    const { profiles, activities } = track(await activityHarness());
    await profiles.merge('u1', { stage: 'pregnant', old: 'x' });
    await profiles.addTags('u1', ['pregnant']);
    const change = update('u1', {
      addTags: ['new-mum'],
      removeTags: ['pregnant'],
      traits: { stage: 'newborn', stageSince: '2026-03-01T10:00:00.000Z', old: null },
    });

    await activities.updateProfile(change);
    const once = await activities.loadTraits('u1');
    await activities.updateProfile(change);

    expect(once).toEqual({ stage: 'newborn', stageSince: '2026-03-01T10:00:00.000Z', tags: ['new-mum'] });
    expect(await activities.loadTraits('u1')).toEqual(once);
  });

  test('updateProfile with only tags or only traits touches only those', async () => {
    const { profiles, activities } = track(await activityHarness());
    await activities.updateProfile(update('u1', { addTags: ['a'] }));
    await activities.updateProfile(update('u1', { traits: { lastSize: 'L' } }));
    await activities.updateProfile(update('u1', {}));
    expect(await profiles.getWithTags('u1')).toEqual({ lastSize: 'L', tags: ['a'] });
  });
});

describe('recordProgress and the clock', () => {
  const track = closeAfterEach();

  test('counts once per key, and calls onRunEnded for final records with a customer', async () => {
    const ended: string[] = [];
    const harness = track(
      await activityHarness({
        onRunEnded: async (journeyId, customerId) => {
          ended.push(`${journeyId}/${customerId}`);
        },
      }),
    );
    const { activities, stats } = harness;
    const base = { journeyId: 'j', journeyVersion: 1 };
    await activities.recordProgress({ ...base, field: 'entered', key: 'k-enter', customerId: 'c1' });
    await activities.recordProgress({ ...base, field: 'step:s1:sent', key: 'k-s1' });
    await activities.recordProgress({ ...base, field: 'completed', key: 'k-done' }); // no customer: an old run
    await activities.recordProgress({ ...base, field: 'converted', key: 'k-conv', customerId: 'c1' });
    await activities.recordProgress({ ...base, field: 'converted', key: 'k-conv', customerId: 'c1' }); // retry
    await activities.recordProgress({ ...base, field: 'exited', key: 'k-exit', customerId: 'c2' });
    await activities.recordProgress({ ...base, field: 'converted:treatment', key: 'k-ct', customerId: 'c3' });

    expect(await stats.get('j', 1)).toEqual({
      entered: 1,
      'step:s1:sent': 1,
      completed: 1,
      converted: 1,
      exited: 1,
      'converted:treatment': 1,
    });
    // A retry releases again (the release must be idempotent): a failed release is never lost.
    expect(ended).toEqual(['j/c1', 'j/c1', 'j/c2', 'j/c3']);
  });

  test('a failing onRunEnded fails the activity (so Temporal retries it) after counting', async () => {
    const harness = track(
      await activityHarness({
        onRunEnded: async () => {
          throw new Error('redis down');
        },
      }),
    );
    const record = { journeyId: 'j', journeyVersion: 1, field: 'completed', key: 'k', customerId: 'c' };
    await expect(harness.activities.recordProgress(record)).rejects.toThrow('redis down');
    expect(await harness.stats.get('j', 1)).toEqual({ completed: 1 });
  });

  test('activityNow adds the simulation clock offset', () => {
    const offset = 90 * 24 * 3600_000;
    const before = Date.now();
    const now = activityNow(offset).getTime();
    expect(now).toBeGreaterThanOrEqual(before + offset);
    expect(now).toBeLessThan(Date.now() + offset + 1000);
    expect(Math.abs(activityNow().getTime() - Date.now())).toBeLessThan(1000);
  });
});

describe('the simulation clock offset reaches the rules', () => {
  const track = closeAfterEach();

  /** The offset that makes the activities' clock read the next `hour`:00 in Shanghai. */
  function offsetTo(hour: number): number {
    const now = Date.now();
    const shanghai = new Date(now + 8 * 3600_000);
    const target =
      Date.UTC(shanghai.getUTCFullYear(), shanghai.getUTCMonth(), shanghai.getUTCDate() + 1, hour) -
      8 * 3600_000;
    return target - now;
  }

  test.each([
    [23, 'deferred'],
    [12, 'queued'],
  ])('a send at %i:00 (clock moved by the offset) is %s by quiet hours 21:00-09:00', async (hour, status) => {
    const harness = track(
      await activityHarness({
        templates: { 'sms/hi.en.hbs': 'Hi {{customer.name}}' },
        clockOffsetMs: offsetTo(hour),
      }),
    );
    await harness.profiles.merge('c1', { name: 'Li', phone: '+8613800138000', timezone: 'Asia/Shanghai' });
    const outcome = await harness.activities.sendMessage({
      journeyId: 'j',
      journeyVersion: 1,
      journeyName: 'J',
      customerId: 'c1',
      stepId: 's1',
      channel: 'sms',
      template: 'hi',
      defaultLocale: 'en',
      event: { event: 'x', properties: {}, messageId: 'm-1', timestamp: '2026-03-01T10:00:00.000Z' },
      idempotencyKey: `j:c1:s1:${harness.prefix}`,
      quietHours: { start: '21:00', end: '09:00', action: 'delay' },
    });
    expect(outcome.status).toBe(status);
  });
});
