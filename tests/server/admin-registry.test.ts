import { Client, Connection } from '@temporalio/client';
import request from 'supertest';
import { JourneyStats } from '../../customers/journey-stats';
import { JourneyLifecycle } from '../../registry/lifecycle';
import { testStore, waitingJourney } from '../registry/support';
import { bearer, KEYS, startTestApp, type TestApp } from './fixture';

/*
 * The journey registry over the admin API, on a real Redis. Nothing here reaches Temporal (the
 * stop and migrate paths that signal runs are in tests/registry/lifecycle.test.ts), so the
 * lifecycle gets a client whose connection is only opened when first used.
 */

let t: TestApp;
let reg: ReturnType<typeof testStore>;
let stats: JourneyStats;
let changes = 0;

beforeEach(async () => {
  reg = testStore();
  stats = new JourneyStats(reg.redis, reg.keys);
  changes = 0;
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  t = await startTestApp({
    registry: {
      store: reg.store,
      lifecycle: new JourneyLifecycle({ store: reg.store, temporal }),
      stats,
      onChange: async () => void changes++,
    },
  });
});
afterEach(async () => {
  await t.close();
  await reg.close();
});

const admin = (req: request.Test, actor?: string) => {
  req.set('Authorization', bearer(KEYS.adminKey));
  return actor ? req.set('X-Touchpoint-Actor', actor) : req;
};
const get = (path: string) => admin(request(t.app).get(path));
const post = (path: string, body?: object, actor?: string) => {
  const req = admin(request(t.app).post(path), actor);
  return body === undefined ? req : req.send(body);
};
const put = (path: string, body: object, actor?: string) => admin(request(t.app).put(path), actor).send(body);

const publish = (id: string, source: string, actor?: string, note?: string) =>
  post(`/v1/journeys/${id}/publish`, { source, ...(note ? { note } : {}) }, actor);

test('every registry route needs the admin key', async () => {
  const res = await request(t.app)
    .post('/v1/journeys/welcome/publish')
    .send({ source: waitingJourney('welcome') });
  expect(res.status).toBe(401);
  expect(await reg.keysHeld()).toEqual([]);
});

test('POST /validate lists problems with file, line, column, step id and hint; changes nothing', async () => {
  const ok = await post('/v1/journeys/validate', { source: waitingJourney('welcome') });
  expect(ok.status).toBe(200);
  expect(ok.body).toEqual({ valid: true, issues: [], warnings: expect.any(Array) });

  const bad = await post('/v1/journeys/validate', {
    source: waitingJourney('welcome').replace('onTimeout: done', 'onTimeout: dnoe'),
    file: 'journeys/welcome.yaml',
  });
  expect(bad.status).toBe(200);
  expect(bad.body.valid).toBe(false);
  expect(bad.body.issues).toEqual([
    {
      file: 'journeys/welcome.yaml',
      line: 14,
      column: 5,
      stepId: 'wait-order',
      path: 'steps[0].onTimeout',
      message: 'no step has the id `dnoe`',
      hint: expect.stringContaining('done'),
    },
  ]);

  // A file name that does not match the id is reported as the loader would.
  const misnamed = await post('/v1/journeys/validate', { source: waitingJourney('welcome'), file: 'x.yaml' });
  expect(misnamed.body.issues).toEqual([expect.objectContaining({ path: 'id' })]);

  const invalid = await post('/v1/journeys/validate', { format: 'toml' });
  expect(invalid.status).toBe(400);
  expect(invalid.body).toMatchObject({
    error: 'invalid_request',
    issues: [
      { path: 'source', message: 'is required' },
      { path: 'format', message: 'must be `yaml` or `json`' },
    ],
  });
  expect(await reg.keysHeld()).toEqual([]);
});

test('publish: 201 with the assigned version, 200 when unchanged, recorded with the actor and note', async () => {
  const first = await publish('welcome', waitingJourney('welcome'), 'li.na', 'launch');
  expect(first.status).toBe(201);
  expect(first.body).toMatchObject({ id: 'welcome', version: 1, status: 'published', created: true });

  const same = await publish('welcome', waitingJourney('welcome'), 'wang');
  expect(same.status).toBe(200);
  expect(same.body).toMatchObject({ id: 'welcome', version: 1, status: 'published', created: false });

  const second = await publish('welcome', waitingJourney('welcome', { timeout: '3d' }));
  expect(second.status).toBe(201);
  expect(second.body.version).toBe(2);
  expect(changes).toBe(2);

  const versions = await get('/v1/journeys/welcome/versions');
  expect(versions.status).toBe(200);
  expect(versions.body).toEqual({
    id: 'welcome',
    versions: [
      {
        version: 1,
        publishedAt: expect.any(String),
        publishedBy: 'li.na',
        note: 'launch',
        format: 'yaml',
        changes: {
          added: ['wait-order', 'done'],
          removed: [],
          changed: [],
          entryChanged: false,
          exitChanged: false,
          settingsChanged: [],
        },
      },
      {
        version: 2,
        publishedAt: expect.any(String),
        publishedBy: 'admin',
        note: null,
        format: 'yaml',
        changes: {
          added: [],
          removed: [],
          changed: ['wait-order'],
          entryChanged: false,
          exitChanged: false,
          settingsChanged: [],
        },
      },
    ],
  });

  const v1 = await get('/v1/journeys/welcome/versions/1');
  expect(v1.status).toBe(200);
  expect(v1.body).toMatchObject({
    id: 'welcome',
    version: 1,
    source: waitingJourney('welcome'),
    format: 'yaml',
  });
  expect(v1.body.journey).toMatchObject({ id: 'welcome', version: 1 });
  expect((await get('/v1/journeys/welcome/versions/3')).status).toBe(404);
  expect((await get('/v1/journeys/welcome/versions/one')).status).toBe(400);
  expect((await get('/v1/journeys/nope/versions/1')).body.message).toBe('no journey "nope"');

  const current = await get('/v1/journeys/welcome');
  expect(current.body).toMatchObject({ id: 'welcome', version: 2, status: 'published', hasDraft: false });
  const list = await get('/v1/journeys');
  expect(list.body.journeys).toEqual([
    expect.objectContaining({
      id: 'welcome',
      version: 2,
      status: 'published',
      steps: [
        { id: 'wait-order', type: 'waitFor' },
        { id: 'done', type: 'exit' },
      ],
    }),
  ]);
});

test('an invalid publish answers 400 with located issues and stores nothing', async () => {
  await publish('welcome', waitingJourney('welcome'));
  const before = await reg.keysHeld();
  const revision = await reg.store.revision();

  const res = await publish('welcome', waitingJourney('welcome').replace('timeout: 7d', 'timeout: 7'));
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({
    error: 'invalid_journey',
    message: 'the journey has 1 problem; nothing was published',
    issues: [
      {
        file: 'welcome.yaml',
        line: 12,
        column: expect.any(Number),
        stepId: 'wait-order',
        path: 'steps[0].timeout',
        message: '7 has no unit',
        hint: expect.stringContaining('7m'),
      },
    ],
  });
  const misdirected = await publish('welcome', waitingJourney('farewell'));
  expect(misdirected.status).toBe(400);
  expect(misdirected.body.issues).toEqual([expect.objectContaining({ path: 'id', line: 1 })]);
  const badId = await publish('Welcome!', waitingJourney('welcome'));
  expect(badId.status).toBe(400);
  expect(badId.body.issues).toEqual([expect.objectContaining({ path: 'id' })]);

  expect(await reg.keysHeld()).toEqual(before);
  expect(await reg.store.revision()).toBe(revision);
  expect((await get('/v1/journeys/welcome/history')).body.history).toHaveLength(1);
});

test('drafts: saved with their problems, listed, then published without a body', async () => {
  const broken = await put(
    '/v1/journeys/welcome/draft',
    { source: 'id: welcome\nname: Welcome\nsteps: []\n' },
    'li',
  );
  expect(broken.status).toBe(200);
  expect(broken.body).toMatchObject({ id: 'welcome', savedBy: 'li', valid: false, format: 'yaml' });
  expect(broken.body.issues.length).toBeGreaterThan(0);

  expect((await get('/v1/journeys')).body.journeys).toEqual([
    { id: 'welcome', name: 'Welcome', status: 'draft', version: null, hasDraft: true },
  ]);
  expect((await get('/v1/journeys/welcome')).body).toEqual({
    id: 'welcome',
    name: 'Welcome',
    status: 'draft',
    version: null,
    hasDraft: true,
  });
  // A draft-only journey cannot be paused, and its broken draft cannot be published.
  expect((await post('/v1/journeys/welcome/pause')).status).toBe(409);
  const refused = await post('/v1/journeys/welcome/publish');
  expect(refused.status).toBe(400);
  expect(refused.body.error).toBe('invalid_journey');

  await put('/v1/journeys/welcome/draft', { source: waitingJourney('welcome') });
  expect((await get('/v1/journeys/welcome/draft')).body).toMatchObject({ valid: true, savedBy: 'admin' });
  const published = await post('/v1/journeys/welcome/publish', undefined, 'wang');
  expect(published.status).toBe(201);
  expect(published.body).toMatchObject({ version: 1, status: 'published' });
  expect((await get('/v1/journeys/welcome/draft')).status).toBe(404);
  expect((await post('/v1/journeys/farewell/publish', {})).body).toMatchObject({
    error: 'invalid_request',
    issues: [{ path: 'source', message: 'is required when the journey has no draft' }],
  });
});

test('diff between versions: unified source diff and step changes', async () => {
  await publish('welcome', waitingJourney('welcome'));
  await publish('welcome', waitingJourney('welcome', { waitStep: 'wait-claim' }));
  await publish('welcome', waitingJourney('welcome', { waitStep: 'wait-claim', name: 'Renamed' }));

  const latest = await get('/v1/journeys/welcome/diff');
  expect(latest.status).toBe(200);
  expect(latest.body).toMatchObject({ id: 'welcome', from: 2, to: 3 });
  expect(latest.body.changes).toMatchObject({ added: [], removed: [], settingsChanged: ['name'] });

  const res = await get('/v1/journeys/welcome/diff?from=1&to=2');
  expect(res.body.changes).toEqual({
    added: ['wait-claim'],
    removed: ['wait-order'],
    changed: [],
    entryChanged: false,
    exitChanged: false,
    settingsChanged: [],
  });
  expect(res.body.unified).toMatch(
    /^={67}\n--- welcome@v1\.yaml\tpublished .* by admin\n\+\+\+ welcome@v2\.yaml/,
  );
  expect(res.body.unified).toContain('-  - id: wait-order\n+  - id: wait-claim');

  expect((await get('/v1/journeys/welcome/diff?from=x')).status).toBe(400);
  expect((await get('/v1/journeys/welcome/diff?from=1&to=9')).status).toBe(404);
  expect((await get('/v1/journeys/nope/diff')).status).toBe(404);
});

test('pause and resume: status, 409 when not allowed, 404 unknown, history with who and why', async () => {
  await publish('welcome', waitingJourney('welcome'), 'li');

  const paused = await post('/v1/journeys/welcome/pause', { reason: 'stock-out' }, 'ops-zhang');
  expect(paused.status).toBe(200);
  expect(paused.body).toEqual({ id: 'welcome', status: 'paused', version: 1 });
  expect((await get('/v1/journeys/welcome')).body.status).toBe('paused');

  const again = await post('/v1/journeys/welcome/pause');
  expect(again.status).toBe(409);
  expect(again.body).toEqual({ error: 'conflict', message: 'journey welcome is already paused' });

  // A new version of a paused journey is stored and the journey stays paused.
  const v2 = await publish('welcome', waitingJourney('welcome', { timeout: '2d' }));
  expect(v2.body).toMatchObject({ version: 2, status: 'paused' });

  const resumed = await post('/v1/journeys/welcome/resume');
  expect(resumed.body).toEqual({ id: 'welcome', status: 'published', version: 2 });
  expect((await post('/v1/journeys/welcome/resume')).status).toBe(409);
  expect((await post('/v1/journeys/nope/pause')).status).toBe(404);

  const history = await get('/v1/journeys/welcome/history');
  expect(history.body).toEqual({
    id: 'welcome',
    history: [
      expect.objectContaining({ action: 'publish', by: 'li', version: 1 }),
      expect.objectContaining({
        action: 'pause',
        by: 'ops-zhang',
        version: 1,
        reason: 'stock-out',
        status: 'paused',
      }),
      expect.objectContaining({ action: 'publish', by: 'admin', version: 2 }),
      expect.objectContaining({ action: 'resume', by: 'admin', version: 2, status: 'published' }),
    ],
  });
  for (const entry of history.body.history) expect(Date.parse(entry.at)).not.toBeNaN();
  expect((await get('/v1/journeys/nope/history')).status).toBe(404);
});

test('rejected lifecycle requests change nothing: stop without a reason, a bad migration, a bad actor', async () => {
  await publish('welcome', waitingJourney('welcome'));
  await publish('welcome', waitingJourney('welcome', { waitStep: 'wait-claim' }));
  const before = await reg.keysHeld();
  const revision = await reg.store.revision();

  const stop = await post('/v1/journeys/welcome/stop', {});
  expect(stop.status).toBe(400);
  expect(stop.body.issues).toEqual([{ path: 'reason', message: 'is required' }]);

  const unmapped = await post('/v1/journeys/welcome/migrate', { from: 1, to: 2, reason: 'rename' });
  expect(unmapped.status).toBe(400);
  expect(unmapped.body).toMatchObject({
    error: 'invalid_request',
    issues: [{ path: 'mapping.wait-order', message: expect.stringContaining('not in version 2') }],
  });
  const wrongTarget = await post('/v1/journeys/welcome/migrate', {
    from: 1,
    to: 2,
    mapping: { 'wait-order': 'wait-clam' },
    reason: 'rename',
  });
  expect(wrongTarget.status).toBe(400);
  expect(wrongTarget.body.issues).toEqual([
    { path: 'mapping.wait-order', message: expect.stringContaining('wait-claim') },
  ]);
  const noVersion = await post('/v1/journeys/welcome/migrate', { from: 1, to: 5, mapping: {}, reason: 'x' });
  expect(noVersion.body.issues).toEqual([{ path: 'to', message: 'journey welcome has no version 5' }]);
  const malformed = await post('/v1/journeys/welcome/migrate', {
    from: '1',
    to: 2,
    mapping: { __proto__x: 1 },
  });
  expect(malformed.status).toBe(400);
  expect(malformed.body.issues.map((i: { path: string }) => i.path)).toEqual(
    expect.arrayContaining(['from', 'reason']),
  );
  expect((await post('/v1/journeys/nope/migrate', { from: 1, to: 2, reason: 'x' })).status).toBe(404);

  const actor = await post('/v1/journeys/welcome/pause', {}, 'x'.repeat(300));
  expect(actor.status).toBe(400);
  expect(actor.body.issues).toEqual([{ path: 'X-Touchpoint-Actor', message: expect.any(String) }]);

  expect(await reg.keysHeld()).toEqual(before);
  expect(await reg.store.revision()).toBe(revision);
  expect(await reg.store.status('welcome')).toBe('published');
});

test('GET /:id/status: status, current version and the counters of every version', async () => {
  await publish('welcome', waitingJourney('welcome'));
  await publish('welcome', waitingJourney('welcome', { timeout: '1d' }));
  await stats.countOnce('welcome', 1, 'entered', `${reg.prefix}-a`);
  await stats.countOnce('welcome', 1, 'converted', `${reg.prefix}-b`);
  await stats.countOnce('welcome', 2, 'entered', `${reg.prefix}-c`);

  const res = await get('/v1/journeys/welcome/status');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    id: 'welcome',
    status: 'published',
    version: 2,
    versions: { '1': { entered: 1, converted: 1 }, '2': { entered: 1 } },
    results: {
      '1': { conversion: { entered: 1, converted: 1, rate: 1 }, splits: {} },
      '2': { conversion: { entered: 1, converted: 0, rate: 0 }, splits: {} },
    },
  });
  expect((await get('/v1/journeys/nope/status')).status).toBe(404);
});

test('hostile journey ids: reads answer 404, writes 400 or 404, nothing is stored', async () => {
  for (const raw of ['__proto__', 'Upper', '%2F..%2F', '%E2%9C%93', 'a%00b', 'x'.repeat(300)]) {
    const read = await get(`/v1/journeys/${raw}`);
    expect(read.status).toBe(404);
    expect(read.headers['content-type']).toMatch(/^application\/json/);
    for (const sub of ['versions', 'history', 'status', 'draft', 'diff']) {
      expect((await get(`/v1/journeys/${raw}/${sub}`)).status).toBe(404);
    }
    expect((await put(`/v1/journeys/${raw}/draft`, { source: 'id: x' })).status).toBe(400);
    expect((await publish(raw, waitingJourney('welcome'))).status).toBe(400);
    expect((await post(`/v1/journeys/${raw}/pause`)).status).toBe(404);
    expect((await post(`/v1/journeys/${raw}/stop`, { reason: 'x' })).status).toBe(404);
  }
  expect(await reg.keysHeld()).toEqual([]);
});
