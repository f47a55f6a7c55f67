import type { Journey } from '../../language/types';
import type { RegistrySnapshot, StoredJourney } from '../../registry/types';
import { JourneyCatalog, type CatalogSource } from '../../router/journey-catalog';
import { testStore, waitingJourney } from './support';

const always = { mode: 'always' } as const;

function journey(id: string, version: number, patch: Partial<Journey> = {}): Journey {
  return {
    id,
    name: id,
    version,
    defaultLocale: 'zh-CN',
    entry: { event: 'signed_up', reentry: always },
    exit: [{ event: 'order_completed' }],
    steps: [{ id: 'done', type: 'exit' }],
    ...patch,
  };
}

/** A registry in memory, counting how often the catalog reads it. */
class FakeSource implements CatalogSource {
  revisionReads = 0;
  snapshots = 0;
  constructor(public current: RegistrySnapshot) {}
  async revision() {
    this.revisionReads++;
    return this.current.revision;
  }
  async snapshot() {
    this.snapshots++;
    return this.current;
  }
}

const stored = (id: string, status: StoredJourney['status'], versions: Journey[]): StoredJourney => ({
  id,
  status,
  latest: versions[versions.length - 1]?.version ?? 0,
  versions,
});

test('a fixed catalog: every journey open, indexed by what starts it', async () => {
  const byEvent = journey('welcome', 3);
  const byTrait = journey('due-date', 1, { entry: { traitChanged: 'dueDate', reentry: always } });
  const bySchedule = journey('weekly', 2, {
    entry: { schedule: { cron: '0 9 * * 1', timezone: 'Asia/Shanghai' }, reentry: always },
  });
  const byApi = journey('vip', 1, { entry: { api: true, reentry: always } });
  const catalog = new JourneyCatalog([byEvent, byTrait, bySchedule, byApi]);

  expect(await catalog.refresh()).toBe(false);
  expect(catalog.enteredBy('signed_up')).toEqual([byEvent]);
  expect(catalog.enteredByTrait('dueDate')).toEqual([byTrait]);
  expect(catalog.scheduled()).toEqual([bySchedule]);
  expect(catalog.list().map((j) => j.id)).toEqual(['due-date', 'vip', 'weekly', 'welcome']);
  expect(catalog.get('welcome')).toBe(byEvent);
  expect(catalog.version('welcome', 3)).toBe(byEvent);
  expect(catalog.version('welcome', 2)).toBeUndefined();
  expect(catalog.isOpen('vip')).toBe(true);
  expect(catalog.isOpen('nope')).toBe(false);
  expect(catalog.listeningTo('order_completed').map((j) => j.id)).toEqual([
    'due-date',
    'vip',
    'weekly',
    'welcome',
  ]);
});

test('entry sees open journeys at their latest version; listening covers every version not stopped', async () => {
  const v1 = journey('care', 1, {
    steps: [
      { id: 'wait', type: 'waitFor', event: 'coupon_claimed', timeoutMs: 1000 },
      {
        id: 'b',
        type: 'branch',
        branches: [{ when: { any: [{ tag: 'vip' }, { did: 'message_opened', step: 's1' }] }, goto: 'done' }],
      },
      { id: 'done', type: 'exit' },
    ],
  });
  const v2 = journey('care', 2, { entry: { event: 'registered', reentry: always } });
  const paused = journey('paused-one', 1, { exit: [{ event: 'refund_requested' }] });
  const stopped = journey('stopped-one', 1, { exit: [{ event: 'review_posted' }] });
  const source = new FakeSource({
    revision: 7,
    journeys: [
      stored('care', 'published', [v1, v2]),
      stored('paused-one', 'paused', [paused]),
      stored('stopped-one', 'stopped', [stopped]),
      stored('draft-only', 'draft', []),
    ],
  });
  const catalog = await JourneyCatalog.fromStore(source);
  expect(catalog.revision).toBe(7);

  // New entries: the latest version of open journeys only.
  expect(catalog.enteredBy('registered')).toEqual([v2]);
  expect(catalog.enteredBy('signed_up')).toEqual([]);
  expect(catalog.isOpen('care')).toBe(true);
  expect(catalog.isOpen('paused-one')).toBe(false);
  expect(catalog.isOpen('stopped-one')).toBe(false);
  expect(catalog.isOpen('draft-only')).toBe(false);
  expect(catalog.get('draft-only')).toBeUndefined();
  expect(catalog.get('care')).toEqual(v2);
  expect(catalog.version('care', 1)).toEqual(v1);
  expect(catalog.status('paused-one')).toBe('paused');

  // Running customers of v1 still wait for coupon_claimed and may have opened a message.
  expect(catalog.listeningTo('coupon_claimed')).toEqual([v2]);
  expect(catalog.listeningTo('message_opened')).toEqual([v2]);
  expect(catalog.listeningTo('message_clicked')).toEqual([]);
  // A paused journey's runs go on; a stopped journey's have ended.
  expect(catalog.listeningTo('refund_requested').map((j) => j.id)).toEqual(['paused-one']);
  expect(catalog.listeningTo('review_posted')).toEqual([]);
  // Each journey once, whatever number of its versions listen.
  expect(catalog.listeningTo('order_completed')).toEqual([v2]);
});

test('refresh costs one revision read and reloads only when the revision moved', async () => {
  const source = new FakeSource({ revision: 1, journeys: [stored('a', 'published', [journey('a', 1)])] });
  const catalog = await JourneyCatalog.fromStore(source);
  expect(source.snapshots).toBe(1);

  expect(await catalog.refresh()).toBe(false);
  expect(await catalog.refresh()).toBe(false);
  expect(source.snapshots).toBe(1);
  expect(source.revisionReads).toBe(3);

  source.current = { revision: 2, journeys: [stored('a', 'paused', [journey('a', 1)])] };
  const concurrent = await Promise.all([catalog.refresh(), catalog.refresh(), catalog.refresh()]);
  expect(concurrent.filter(Boolean).length).toBeGreaterThan(0);
  expect(source.snapshots).toBe(2);
  expect(catalog.enteredBy('signed_up')).toEqual([]);
  expect(catalog.revision).toBe(2);
});

test('a catalog on the real store follows publish and pause', async () => {
  const t = testStore();
  try {
    const catalog = await JourneyCatalog.fromStore(t.store);
    expect(catalog.list()).toEqual([]);

    await t.store.publish(waitingJourney('welcome'), { by: 'li' });
    expect(catalog.enteredBy('signed_up')).toEqual([]); // not refreshed yet
    expect(await catalog.refresh()).toBe(true);
    expect(catalog.enteredBy('signed_up').map((j) => `${j.id}@${j.version}`)).toEqual(['welcome@1']);
    expect(catalog.listeningTo('coupon_claimed').map((j) => j.id)).toEqual(['welcome']);

    await t.store.publish(waitingJourney('welcome', { entryEvent: 'registered', waitStep: 'w2' }), {
      by: 'li',
    });
    await catalog.refresh();
    expect(catalog.enteredBy('signed_up')).toEqual([]);
    expect(catalog.enteredBy('registered').map((j) => j.version)).toEqual([2]);
    expect(catalog.version('welcome', 1)?.steps[0]?.id).toBe('wait-order');

    await t.store.transition('welcome', { action: 'pause', from: ['published'], to: 'paused', by: 'li' });
    expect(await catalog.refresh()).toBe(true);
    expect(catalog.enteredBy('registered')).toEqual([]);
    expect(catalog.isOpen('welcome')).toBe(false);
    expect(catalog.listeningTo('order_completed').map((j) => j.id)).toEqual(['welcome']);
    expect(await catalog.refresh()).toBe(false);
  } finally {
    await t.close();
  }
});
