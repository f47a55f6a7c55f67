import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JourneyConfigError } from '../../language/errors';
import { readJourneyFiles, seedJourneys } from '../../registry/seed';
import { testStore, waitingJourney } from './support';

let t: ReturnType<typeof testStore>;
let dir: string;
beforeEach(async () => {
  t = testStore();
  dir = await mkdtemp(path.join(tmpdir(), 'tp-seed-'));
});
afterEach(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

const seed = () => seedJourneys(t.store, readJourneyFiles(dir));

test('start-up seeding publishes unknown journeys once, by `startup`; seeding again changes nothing', async () => {
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha'));
  await writeFile(path.join(dir, 'beta.yaml'), waitingJourney('beta'));

  const first = await seed();
  expect(first.map((o) => [o.id, o.action, o.version, o.status])).toEqual([
    ['alpha', 'published', 1, 'published'],
    ['beta', 'published', 1, 'published'],
  ]);
  expect(await t.store.latest('alpha')).toMatchObject({
    publishedBy: 'startup',
    note: 'from alpha.yaml',
    source: waitingJourney('alpha'),
  });

  const revision = await t.store.revision();
  const again = await seed();
  expect(again.map((o) => o.action)).toEqual(['unchanged', 'unchanged']);
  expect(await t.store.revision()).toBe(revision);
});

test('a changed file becomes a new version; a paused journey stays paused', async () => {
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha'));
  await seed();
  await t.store.transition('alpha', {
    action: 'pause',
    from: ['published'],
    to: 'paused',
    by: 'ops',
    reason: 'x',
  });

  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha', { timeout: '3d' }));
  const outcomes = await seed();
  expect(outcomes).toEqual([
    expect.objectContaining({ id: 'alpha', action: 'published', version: 2, status: 'paused' }),
  ]);
  expect(await t.store.status('alpha')).toBe('paused');

  await t.store.transition('alpha', {
    action: 'stop',
    from: ['paused'],
    to: 'stopped',
    by: 'ops',
    reason: 'y',
  });
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha', { timeout: '4d' }));
  expect((await seed())[0]).toMatchObject({ action: 'published', version: 3, status: 'stopped' });
});

test('versions published through the API since are not overwritten by an unchanged file', async () => {
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha'));
  await seed();
  await t.store.publish(waitingJourney('alpha', { name: 'Edited in the API' }), { by: 'li' });

  expect((await seed())[0]).toMatchObject({ action: 'kept', version: 2 });
  expect((await t.store.latest('alpha'))!.journey.name).toBe('Edited in the API');

  // A deploy that changes the file wins over the API's version.
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha', { name: 'From the repo' }));
  expect((await seed())[0]).toMatchObject({ action: 'published', version: 3 });
});

test('a broken file stops seeding before anything is stored, listing file, line and step', async () => {
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha'));
  await writeFile(
    path.join(dir, 'beta.yaml'),
    waitingJourney('beta').replace('timeout: 7d', 'timeout: soon'),
  );
  let error: unknown;
  try {
    readJourneyFiles(dir);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(JourneyConfigError);
  expect((error as JourneyConfigError).issues).toEqual([
    expect.objectContaining({ file: path.join(dir, 'beta.yaml'), line: 12, stepId: 'wait-order' }),
  ]);
  expect(await t.keysHeld()).toEqual([]);
});
