import type { TestWorkflowEnvironment } from '@temporalio/testing';
import request from 'supertest';
import { createAccessServices } from '../../access/services';
import { JourneyStats } from '../../customers/journey-stats';
import { JourneyLifecycle } from '../../registry/lifecycle';
import { testStore, waitingJourney } from '../registry/support';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { createDevServerEnv } from '../support/temporal';
import { appendedDuring } from './support';

/*
 * Every journey change through the API appends exactly one entry, with who (the principal, and
 * whom the shared admin key acts for), what, why and from where; a refused request appends none.
 * The real registry on Redis and a Temporal dev server (stop and migrate search its visibility).
 */

let env: TestWorkflowEnvironment;
let reg: ReturnType<typeof testStore>;
let t: TestApp;
let marketerKey: string;

beforeAll(async () => {
  env = await createDevServerEnv();
  reg = testStore();
  t = await startTestApp({
    registry: {
      store: reg.store,
      lifecycle: new JourneyLifecycle({ store: reg.store, temporal: env.client, stopResweepMs: 10 }),
      stats: new JourneyStats(reg.redis, reg.keys),
    },
    accessServices: createAccessServices({
      redis: reg.redis,
      keyPrefix: reg.prefix,
      secret: Buffer.from('audit-journeys-secret'),
    }),
  });
  const created = await request(t.app)
    .post('/v1/keys')
    .set('Authorization', bearer(KEYS.adminKey))
    .send({ name: 'mia', role: 'marketer' });
  expect(created.status).toBe(201);
  marketerKey = created.body.secret;
}, 120_000);
afterAll(async () => {
  await t?.close();
  await reg?.close();
  await env?.teardown();
});

const as = (key: string, method: 'post' | 'put', path: string, body?: object) => {
  const req = request(t.app)[method](`/v1/journeys/${path}`).set('Authorization', bearer(key));
  return body ? req.send(body) : req;
};
const admin = (method: 'post' | 'put', path: string, body?: object) =>
  as(KEYS.adminKey, method, path, body)
    .set('X-Touchpoint-Actor', 'ana')
    .set('X-Touchpoint-Client', 'cli')
    .set('User-Agent', 'touchpoint-cli-test');
const during = <T>(action: () => Promise<T>) => appendedDuring(t.auditLog, action);

const ADMIN = { name: 'admin', keyId: 'bootstrap-admin', role: 'admin', onBehalfOf: 'ana' };
const FROM = { ip: expect.any(String), userAgent: 'touchpoint-cli-test', via: 'cli' };

test('draft, publish, pause, resume, migrate, stop: one entry each, refusals none', async () => {
  const source = waitingJourney('welcome');

  const draft = await during(() => as(marketerKey, 'put', 'welcome/draft', { source }));
  expect(draft.result.status).toBe(200);
  expect(draft.entries).toEqual([
    expect.objectContaining({
      actor: { name: 'mia', keyId: expect.stringMatching(/^k_/), role: 'marketer' },
      action: 'journey.draft',
      target: 'journey:welcome',
      detail: { sourceSha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      from: expect.objectContaining({ via: 'api' }),
    }),
  ]);

  // A marketer may not publish: 403, nothing appended.
  const refused = await during(() => as(marketerKey, 'post', 'welcome/publish', {}));
  expect(refused.result.status).toBe(403);
  expect(refused.entries).toEqual([]);

  const invalid = await during(() => admin('post', 'welcome/publish', { source: 'id: welcome\nsteps: 3\n' }));
  expect(invalid.result.status).toBe(400);
  expect(invalid.entries).toEqual([]);

  const published = await during(() => admin('post', 'welcome/publish', { note: 'first cut' }));
  expect(published.result.status).toBe(201);
  expect(published.entries).toEqual([
    {
      seq: expect.any(Number),
      at: expect.any(String),
      prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      actor: ADMIN,
      action: 'journey.publish',
      target: 'journey:welcome@1',
      reason: 'first cut',
      detail: { status: 'published', fromDraft: true },
      from: FROM,
    },
  ]);

  // The same source again publishes nothing, and records nothing.
  const again = await during(() => admin('post', 'welcome/publish', { source }));
  expect(again.result.status).toBe(200);
  expect(again.entries).toEqual([]);

  const paused = await during(() => admin('post', 'welcome/pause', { reason: 'copy review' }));
  expect(paused.result.status).toBe(200);
  expect(paused.entries).toEqual([
    expect.objectContaining({
      action: 'journey.pause',
      target: 'journey:welcome',
      reason: 'copy review',
      detail: { status: 'paused', version: 1 },
    }),
  ]);
  const pausedAgain = await during(() => admin('post', 'welcome/pause'));
  expect(pausedAgain.result.status).toBe(409);
  expect(pausedAgain.entries).toEqual([]);

  const resumed = await during(() => admin('post', 'welcome/resume'));
  expect(resumed.result.status).toBe(200);
  expect(resumed.entries).toEqual([
    expect.objectContaining({ action: 'journey.resume', detail: { status: 'published', version: 1 } }),
  ]);
  expect(resumed.entries[0]).not.toHaveProperty('reason');

  const v2 = await during(() =>
    admin('post', 'welcome/publish', { source: waitingJourney('welcome', { name: 'Welcome v2' }) }),
  );
  expect(v2.entries.map((e) => e.target)).toEqual(['journey:welcome@2']);
  const badMigration = await during(() =>
    admin('post', 'welcome/migrate', { from: 1, to: 1, reason: 'nothing' }),
  );
  expect(badMigration.result.status).toBe(400);
  expect(badMigration.entries).toEqual([]);
  const migrated = await during(() =>
    admin('post', 'welcome/migrate', { from: 1, to: 2, reason: 'new copy for everyone' }),
  );
  expect(migrated.result.status).toBe(200);
  expect(migrated.entries).toEqual([
    expect.objectContaining({
      action: 'journey.migrate',
      target: 'journey:welcome@2',
      reason: 'new copy for everyone',
      detail: { from: 1, to: 2, migrated: 0, mapping: {} },
    }),
  ]);

  const noReason = await during(() => admin('post', 'welcome/stop', {}));
  expect(noReason.result.status).toBe(400);
  expect(noReason.entries).toEqual([]);
  const stopped = await during(() => admin('post', 'welcome/stop', { reason: 'campaign over' }));
  expect(stopped.result.status).toBe(200);
  expect(stopped.entries).toEqual([
    expect.objectContaining({
      actor: ADMIN,
      action: 'journey.stop',
      target: 'journey:welcome',
      reason: 'campaign over',
      detail: { status: 'stopped', version: 2, stopped: 0 },
      from: FROM,
    }),
  ]);

  expect(await t.auditLog.verify()).toMatchObject({ ok: true, problems: [] });
});
