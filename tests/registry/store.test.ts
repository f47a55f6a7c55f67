import path from 'node:path';
import { projectRoot } from '../../config/settings';
import { loadTemplates } from '../../messages/templates';
import { diffVersions } from '../../registry/diff';
import { RegistryError } from '../../registry/errors';
import { testStore, waitingJourney } from './support';

let t: ReturnType<typeof testStore>;
beforeEach(() => {
  t = testStore();
});
afterEach(() => t.close());

test('publishing makes immutable versions numbered 1, 2, ... whatever the source says', async () => {
  const first = await t.store.publish(waitingJourney('welcome'), { by: 'li', note: 'first cut' });
  expect(first).toMatchObject({ ok: true, created: true, id: 'welcome', version: 1, status: 'published' });

  // The source claims version 7: only a hint; the registry assigns 2.
  const source2 = waitingJourney('welcome', { name: 'Welcome v2' }).replace('version: 1', 'version: 7');
  const second = await t.store.publish(source2, { by: 'wang' });
  expect(second).toMatchObject({ ok: true, created: true, version: 2 });
  if (!second.ok) throw new Error('unreachable');
  expect(second.journey.version).toBe(2);

  const v1 = await t.store.version('welcome', 1);
  expect(v1).toMatchObject({ version: 1, publishedBy: 'li', note: 'first cut', format: 'yaml' });
  expect(v1!.source).toBe(waitingJourney('welcome'));
  expect(v1!.journey).toMatchObject({ id: 'welcome', version: 1, name: 'Waiting journey' });
  const latest = await t.store.latest('welcome');
  expect(latest).toMatchObject({ version: 2, publishedBy: 'wang', source: source2 });
  expect(latest!.journey).toMatchObject({ version: 2, name: 'Welcome v2' });
  expect((await t.store.versions('welcome')).map((v) => v.version)).toEqual([1, 2]);
  expect(await t.store.status('welcome')).toBe('published');
});

test('publishing the latest version’s text again is a no-op answering that version', async () => {
  const source = waitingJourney('welcome');
  await t.store.publish(source, { by: 'li' });
  const revision = await t.store.revision();
  const again = await t.store.publish(source, { by: 'wang' });
  expect(again).toMatchObject({ ok: true, created: false, version: 1, status: 'published' });
  expect(await t.store.revision()).toBe(revision);
  expect((await t.store.versions('welcome')).length).toBe(1);
  expect((await t.store.history('welcome'))!.length).toBe(1);
});

test('an invalid source is refused with file, line, column, step id and stores nothing', async () => {
  const before = await t.keysHeld();
  const bad = waitingJourney('welcome').replace('timeout: 7d', 'timeout: 3 fortnights');
  const result = await t.store.publish(bad, { by: 'li', id: 'welcome' });
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.issues).toEqual([
    expect.objectContaining({
      file: 'welcome.yaml',
      line: 12,
      stepId: 'wait-order',
      path: 'steps[0].timeout',
    }),
  ]);
  expect(result.issues[0]!.column).toBeGreaterThan(0);
  expect(await t.keysHeld()).toEqual(before);
  expect(await t.store.state('welcome')).toBeUndefined();
});

test('a source sent to another journey’s id is refused at `id`', async () => {
  const result = await t.store.publish(waitingJourney('welcome'), { by: 'li', id: 'farewell' });
  expect(result).toMatchObject({
    ok: false,
    issues: [expect.objectContaining({ path: 'id', line: 1, column: 1 })],
  });
  expect(await t.keysHeld()).toEqual([]);
});

test('templates are checked when the store knows them', async () => {
  const templates = loadTemplates(path.join(projectRoot, 'templates'));
  const checked = testStore({ check: { templates } });
  try {
    const source = waitingJourney('welcome', {
      extra: '  - id: greet\n    type: send\n    channel: sms\n    template: no-such-template',
    });
    const result = await checked.store.publish(source, { by: 'li' });
    expect(result.ok).toBe(false);
    if (result.ok) throw new Error('unreachable');
    expect(result.issues.some((i) => i.stepId === 'greet' && /no-such-template/.test(i.message))).toBe(true);
  } finally {
    await checked.close();
  }
});

test('JSON sources are read as JSON: a syntax error is placed on its line', async () => {
  const result = await t.store.publish('{\n  "id": "welcome",\n  "name": }\n', { by: 'li', format: 'json' });
  expect(result).toMatchObject({ ok: false, issues: [expect.objectContaining({ line: 3, column: 11 })] });
  expect(result.ok || result.issues[0]!.message).toBe("JSON syntax: Unexpected token '}'");
});

test('concurrent publishes get distinct consecutive versions', async () => {
  const sources = Array.from({ length: 6 }, (_, i) => waitingJourney('busy', { name: `Busy ${i}` }));
  const results = await Promise.all(sources.map((s, i) => t.store.publish(s, { by: `user-${i}` })));
  const versions = results.map((r) => (r.ok ? r.version : 0)).sort((a, b) => a - b);
  expect(versions).toEqual([1, 2, 3, 4, 5, 6]);
  const stored = await t.store.versions('busy');
  expect(stored.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
  // Each version holds the source its publisher sent.
  for (const r of results) {
    if (!r.ok) throw new Error('unreachable');
    expect(stored[r.version - 1]!.journey.name).toBe(r.journey.name);
  }
});

test('drafts are saved with their problems; publishing without a source is done by the lifecycle', async () => {
  const draft = await t.store.saveDraft('welcome', 'id: welcome\nname: [', { by: 'li' });
  expect(draft).toMatchObject({ id: 'welcome', savedBy: 'li', valid: false, format: 'yaml' });
  expect(draft.issues.length).toBeGreaterThan(0);
  expect(await t.store.state('welcome')).toMatchObject({ status: 'draft', latest: 0, hasDraft: true });

  const good = waitingJourney('welcome');
  await t.store.saveDraft('welcome', good, { by: 'li' });
  expect(await t.store.draft('welcome')).toMatchObject({ valid: true, issues: [] });
  // Publishing the draft's text clears the draft.
  await t.store.publish(good, { by: 'wang' });
  expect(await t.store.state('welcome')).toMatchObject({ status: 'published', latest: 1, hasDraft: false });
  expect(await t.store.draft('welcome')).toBeUndefined();
});

test('status transitions are checked, recorded with who and why, and bump the revision', async () => {
  await t.store.publish(waitingJourney('welcome'), { by: 'li' });
  const revision = await t.store.revision();
  await t.store.transition('welcome', {
    action: 'pause',
    from: ['published'],
    to: 'paused',
    by: 'wang',
    reason: 'stock-out',
  });
  expect(await t.store.status('welcome')).toBe('paused');
  expect(await t.store.revision()).toBe(revision + 1);

  await expect(
    t.store.transition('welcome', { action: 'pause', from: ['published'], to: 'paused', by: 'wang' }),
  ).rejects.toMatchObject({ kind: 'conflict', message: 'journey welcome is already paused' });
  await expect(
    t.store.transition('nope', { action: 'pause', from: ['published'], to: 'paused', by: 'wang' }),
  ).rejects.toBeInstanceOf(RegistryError);

  const history = await t.store.history('welcome');
  expect(history).toEqual([
    expect.objectContaining({ action: 'publish', by: 'li', version: 1, from: null }),
    expect.objectContaining({
      action: 'pause',
      by: 'wang',
      version: 1,
      reason: 'stock-out',
      from: 'published',
      status: 'paused',
    }),
  ]);
  await t.store.annotateHistory('welcome', 1, { runs: 3 });
  expect((await t.store.history('welcome'))![1]).toMatchObject({ reason: 'stock-out', runs: 3 });
});

test('a paused journey keeps its status when a new version is published', async () => {
  await t.store.publish(waitingJourney('welcome'), { by: 'li' });
  await t.store.transition('welcome', { action: 'pause', from: ['published'], to: 'paused', by: 'li' });
  const v2 = await t.store.publish(waitingJourney('welcome', { name: 'Two' }), { by: 'li' });
  expect(v2).toMatchObject({ version: 2, status: 'paused' });
});

test('the diff of two versions: a unified diff of the source and the steps that changed', async () => {
  await t.store.publish(waitingJourney('welcome'), { by: 'li' });
  const v2 = waitingJourney('welcome', { waitStep: 'wait-claim', timeout: '3d', entryEvent: 'registered' });
  await t.store.publish(v2, { by: 'wang' });
  const diff = diffVersions((await t.store.version('welcome', 1))!, (await t.store.version('welcome', 2))!);
  expect(diff.changes).toEqual({
    added: ['wait-claim'],
    removed: ['wait-order'],
    changed: [],
    entryChanged: true,
    exitChanged: false,
    settingsChanged: [],
  });
  expect(diff.unified).toContain('--- welcome@v1.yaml');
  expect(diff.unified).toContain('+++ welcome@v2.yaml');
  expect(diff.unified).toContain('-  event: signed_up');
  expect(diff.unified).toContain('+  event: registered');
  expect(diff.unified).toContain('+    timeout: 3d');
});

test('list and snapshot show every journey with its status and versions', async () => {
  await t.store.publish(waitingJourney('alpha'), { by: 'li' });
  await t.store.publish(waitingJourney('alpha', { name: 'Alpha 2' }), { by: 'li' });
  await t.store.saveDraft('beta', waitingJourney('beta'), { by: 'li' });
  const listed = await t.store.list();
  expect(listed.map((l) => [l.state.id, l.state.status, l.journey?.version])).toEqual([
    ['alpha', 'published', 2],
    ['beta', 'draft', undefined],
  ]);
  const snapshot = await t.store.snapshot();
  expect(snapshot.revision).toBe(await t.store.revision());
  expect(snapshot.journeys.map((j) => [j.id, j.status, j.latest, j.versions.map((v) => v.version)])).toEqual([
    ['alpha', 'published', 2, [1, 2]],
    ['beta', 'draft', 0, []],
  ]);
});
