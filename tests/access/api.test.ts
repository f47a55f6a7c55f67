import { Client, Connection } from '@temporalio/client';
import request from 'supertest';
import { createAccessServices, type AccessServices } from '../../access/services';
import type { PublishApprovalMode } from '../../access/config';
import { ROLE_PERMISSIONS, type Role } from '../../access/permissions';
import type { AuditEntry } from '../../audit-log/types';
import { JourneyLifecycle } from '../../registry/lifecycle';
import { testStore, waitingJourney } from '../registry/support';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { redisSnapshot, snapshotChanges } from './support';

/*
 * Keys with roles, console sessions and four-eyes publishing over the HTTP API, on the real test
 * Redis (keys, sessions, approvals, the journey registry and the audit log). Nothing here reaches
 * Temporal: publish and drafts do not, so the lifecycle's client connects lazily to nowhere.
 */

let t: TestApp;
let reg: ReturnType<typeof testStore>;
let services: AccessServices;

async function start(publishApproval: PublishApprovalMode = 'none') {
  reg = testStore();
  services = createAccessServices({
    redis: reg.redis,
    keyPrefix: reg.prefix,
    secret: Buffer.from('access-test-secret'),
    publishApproval,
  });
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  t = await startTestApp({
    registry: { store: reg.store, lifecycle: new JourneyLifecycle({ store: reg.store, temporal }) },
    accessServices: services,
  });
}
async function stop() {
  await t.close();
  await reg.close();
}

const as = (key: string, req: request.Test) => req.set('Authorization', bearer(key));
const admin = (req: request.Test) => as(KEYS.adminKey, req);

async function createKey(name: string, role: Role): Promise<{ id: string; secret: string }> {
  const res = await admin(request(t.app).post('/v1/keys')).send({ name, role });
  expect(res.status).toBe(201);
  return { id: res.body.key.id, secret: res.body.secret };
}

async function audit(): Promise<AuditEntry[]> {
  return (await t.auditLog.list({ limit: 1000 })).entries;
}

/** Every key the access services and the registry hold, to show a rejected request wrote nothing. */
const snapshot = () => redisSnapshot(reg.redis, reg.prefix, t.prefix);

describe('the key API', () => {
  beforeEach(() => start());
  afterEach(() => stop());

  test('create: 201 with the secret once; the list never shows it; the key acts with its role and name', async () => {
    const res = await admin(request(t.app).post('/v1/keys').set('X-Touchpoint-Client', 'cli')).send({
      name: 'Li Na',
      role: 'marketer',
      expiresAt: '2099-01-01T00:00:00Z',
    });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v1/keys/${res.body.key.id}`);
    expect(res.body).toEqual({
      key: {
        id: expect.stringMatching(/^k_/),
        name: 'Li Na',
        role: 'marketer',
        createdAt: expect.any(String),
        createdBy: 'admin',
        expiresAt: '2099-01-01T00:00:00.000Z',
        status: 'active',
      },
      secret: expect.stringMatching(/^tp_marketer_/),
    });
    const { key, secret } = res.body as { key: { id: string }; secret: string };

    const list = await admin(request(t.app).get('/v1/keys'));
    expect(list.status).toBe(200);
    expect(list.body.keys).toEqual([
      expect.objectContaining({ id: key.id, name: 'Li Na', status: 'active' }),
    ]);
    expect(JSON.stringify(list.body)).not.toContain(secret);

    // A marketer reads and drafts; it may not publish, enrol or manage keys.
    expect((await as(secret, request(t.app).get('/v1/journeys'))).status).toBe(200);
    const draft = await as(secret, request(t.app).put('/v1/journeys/welcome/draft'))
      .set('X-Touchpoint-Actor', 'someone else')
      .send({ source: waitingJourney('welcome') });
    expect(draft.status).toBe(200);
    const publish = await as(secret, request(t.app).post('/v1/journeys/welcome/publish')).send({});
    expect(publish.status).toBe(403);
    expect(publish.body).toEqual({ error: 'forbidden', message: 'role marketer may not journeys:publish' });
    expect((await as(secret, request(t.app).get('/v1/keys'))).status).toBe(403);
    // The draft names the key's holder; a named key cannot claim to be someone else.
    expect(draft.body.savedBy).toBe('Li Na');

    const [entry] = await audit();
    expect(entry).toMatchObject({
      seq: 1,
      action: 'key.create',
      target: `key:${key.id}`,
      actor: { name: 'admin', keyId: 'bootstrap-admin', role: 'admin' },
      detail: { name: 'Li Na', role: 'marketer', expiresAt: '2099-01-01T00:00:00.000Z' },
      from: { via: 'cli' },
    });
    expect(JSON.stringify(await audit())).not.toContain(secret);
  });

  test('create: 400 with the field paths, nothing stored or logged', async () => {
    const before = await snapshot();
    const res = await admin(request(t.app).post('/v1/keys')).send({
      name: '',
      role: 'superuser',
      expiresAt: '2001-01-01T00:00:00Z',
      extra: 1,
    });
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'expiresAt',
      'extra',
      'name',
      'role',
    ]);
    expect(res.body.issues).toContainEqual({
      path: 'role',
      message: 'must be one of ingest, marketer, publisher, operator, auditor, admin',
    });
    expect(snapshotChanges(before, await snapshot())).toEqual([]);
  });

  test('rotate: old and new secret both work during the grace; grace 0 ends the old one at once', async () => {
    const { id, secret: first } = await createKey('deploy bot', 'publisher');
    const rotated = await admin(request(t.app).post(`/v1/keys/${id}/rotate`)).send({ graceSeconds: 600 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.key).toMatchObject({ id, previousSecretValidUntil: expect.any(String) });
    const second = rotated.body.secret as string;
    expect(second).toMatch(/^tp_publisher_/);
    for (const key of [first, second])
      expect((await as(key, request(t.app).get('/v1/journeys'))).status).toBe(200);

    // Without a body: the default grace of a day.
    const again = await admin(request(t.app).post(`/v1/keys/${id}/rotate`));
    expect(again.status).toBe(200);
    expect(Date.parse(again.body.key.previousSecretValidUntil) - Date.now()).toBeGreaterThan(86_000_000);

    const now = await admin(request(t.app).post(`/v1/keys/${id}/rotate`)).send({ graceSeconds: 0 });
    for (const old of [first, second, again.body.secret as string])
      expect((await as(old, request(t.app).get('/v1/journeys'))).status).toBe(401);
    expect((await as(now.body.secret as string, request(t.app).get('/v1/journeys'))).status).toBe(200);

    const entries = (await audit()).filter((e) => e.action === 'key.rotate');
    expect(entries.map((e) => [e.target, e.detail?.graceSeconds])).toEqual([
      [`key:${id}`, 600],
      [`key:${id}`, 86_400],
      [`key:${id}`, 0],
    ]);

    const before = await snapshot();
    const bad = await admin(request(t.app).post(`/v1/keys/${id}/rotate`)).send({ graceSeconds: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ path: 'graceSeconds', message: 'must not be negative' }]);
    expect((await admin(request(t.app).post('/v1/keys/k_nope/rotate'))).status).toBe(404);
    expect(snapshotChanges(before, await snapshot())).toEqual([]);
  });

  test('revoke: needs a reason, takes effect at once, is logged with it; a second revoke is 409', async () => {
    const { id, secret } = await createKey('leaver', 'operator');
    expect((await as(secret, request(t.app).get('/v1/journeys'))).status).toBe(200);

    const noReason = await admin(request(t.app).delete(`/v1/keys/${id}`));
    expect(noReason.status).toBe(400);
    expect(noReason.body.issues).toEqual([{ path: 'reason', message: 'is required' }]);
    expect((await as(secret, request(t.app).get('/v1/journeys'))).status).toBe(200);

    const res = await admin(request(t.app).delete(`/v1/keys/${id}`)).send({ reason: 'left the team' });
    expect(res.status).toBe(200);
    expect(res.body.key).toMatchObject({
      id,
      status: 'revoked',
      revokedBy: 'admin',
      revokeReason: 'left the team',
    });
    const refused = await as(secret, request(t.app).get('/v1/journeys'));
    expect(refused.status).toBe(401);
    expect(refused.body.message).toBe('invalid API key');

    const before = await snapshot();
    const twice = await admin(request(t.app).delete(`/v1/keys/${id}`)).send({ reason: 'again' });
    expect(twice.status).toBe(409);
    expect((await admin(request(t.app).delete('/v1/keys/k_nope')).send({ reason: 'x' })).status).toBe(404);
    expect(snapshotChanges(before, await snapshot())).toEqual([]);

    expect((await audit()).map((e) => [e.action, e.target, e.reason])).toEqual([
      ['key.create', `key:${id}`, undefined],
      ['key.revoke', `key:${id}`, 'left the team'],
    ]);
  });

  test('?reveal=true needs personal-data:reveal: 403 for an auditor, who reads the same route masked', async () => {
    const { secret } = await createKey('auditor', 'auditor');
    expect((await as(secret, request(t.app).get('/v1/journeys'))).status).toBe(200);
    const revealed = await as(secret, request(t.app).get('/v1/journeys?reveal=true'));
    expect(revealed.status).toBe(403);
    expect(revealed.body.message).toMatch(/^role auditor may not personal-data:reveal/);
    expect((await admin(request(t.app).get('/v1/journeys?reveal=true'))).status).toBe(200);
  });

  test('a named key is who acts in the journey history; X-Touchpoint-Actor cannot rename it', async () => {
    const { secret } = await createKey('Zhao Lei', 'publisher');
    const res = await as(secret, request(t.app).post('/v1/journeys/welcome/publish'))
      .set('X-Touchpoint-Actor', 'somebody else')
      .send({ source: waitingJourney('welcome') });
    expect(res.status).toBe(201);
    const versions = await admin(request(t.app).get('/v1/journeys/welcome/versions'));
    expect(versions.body.versions).toEqual([
      expect.objectContaining({ version: 1, publishedBy: 'Zhao Lei' }),
    ]);
    const paused = await as(secret, request(t.app).post('/v1/journeys/welcome/pause')).send({
      reason: 'check',
    });
    expect(paused.status).toBe(200);
    const history = await admin(request(t.app).get('/v1/journeys/welcome/history'));
    expect(history.body.history.map((h: { action: string; by: string }) => [h.action, h.by])).toEqual([
      ['publish', 'Zhao Lei'],
      ['pause', 'Zhao Lei'],
    ]);
  });

  test('the bootstrap admin key names the person with X-Touchpoint-Actor, as before', async () => {
    const res = await admin(request(t.app).put('/v1/journeys/welcome/draft'))
      .set('X-Touchpoint-Actor', 'Wang Fang')
      .send({ source: waitingJourney('welcome') });
    expect(res.status).toBe(200);
    expect(res.body.savedBy).toBe('Wang Fang');
    const published = await admin(request(t.app).post('/v1/journeys/welcome/publish'))
      .set('X-Touchpoint-Actor', 'Wang Fang')
      .send({});
    expect(published.status).toBe(201);
    const history = await admin(request(t.app).get('/v1/journeys/welcome/history'));
    expect(history.body.history).toEqual([expect.objectContaining({ action: 'publish', by: 'Wang Fang' })]);
    const key = await admin(request(t.app).post('/v1/keys'))
      .set('X-Touchpoint-Actor', 'Wang Fang')
      .send({ name: 'Li Na', role: 'marketer' });
    expect(key.body.key.createdBy).toBe('Wang Fang');
    const [entry] = (await audit()).filter((e) => e.action === 'key.create');
    expect(entry?.actor).toEqual({
      name: 'admin',
      keyId: 'bootstrap-admin',
      role: 'admin',
      onBehalfOf: 'Wang Fang',
    });
  });
});

describe('console sessions', () => {
  beforeEach(() => start());
  afterEach(() => stop());

  async function signIn(key: string): Promise<{ cookie: string; body: Record<string, unknown> }> {
    const res = await request(t.app).post('/v1/session').send({ key });
    expect(res.status).toBe(200);
    const set = res.headers['set-cookie'] as unknown as string[];
    expect(set).toHaveLength(1);
    return { cookie: set[0]!.split(';')[0]!, body: res.body };
  }

  test('sign in with a key: an HttpOnly SameSite=Strict cookie for 12 h; GET says who and what they may do', async () => {
    const { id, secret } = await createKey('Zhao Lei', 'publisher');
    const res = await request(t.app).post('/v1/session').send({ key: secret });
    expect(res.status).toBe(200);
    const cookie = (res.headers['set-cookie'] as unknown as string[])[0]!;
    expect(cookie).toMatch(
      /^tp_session=[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=(4319\d|43200)$/,
    );
    expect(cookie).not.toContain(secret);
    expect(res.body).toEqual({
      keyId: id,
      name: 'Zhao Lei',
      role: 'publisher',
      permissions: [...ROLE_PERMISSIONS.publisher],
      expiresAt: expect.any(String),
    });

    const who = await request(t.app).get('/v1/session').set('Cookie', cookie.split(';')[0]!);
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ keyId: id, name: 'Zhao Lei', role: 'publisher', via: 'session' });
    // With a key instead of the cookie, the same answer for that key.
    const byKey = await as(KEYS.adminKey, request(t.app).get('/v1/session'));
    expect(byKey.body).toMatchObject({ keyId: 'bootstrap-admin', role: 'admin', via: 'key' });
    expect((await request(t.app).get('/v1/session')).status).toBe(401);
  });

  test('a wrong key signs nobody in and sets no cookie; a bad body is 400', async () => {
    const res = await request(t.app).post('/v1/session').send({ key: 'nope' });
    expect(res.status).toBe(401);
    expect(res.headers['set-cookie']).toBeUndefined();
    const bad = await request(t.app).post('/v1/session').send({});
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ path: 'key', message: 'is required' }]);
  });

  test('the cookie authenticates reads; a change needs X-Touchpoint-Client: console (CSRF), else 403 and nothing changes', async () => {
    const { secret } = await createKey('Li Na', 'marketer');
    const { cookie } = await signIn(secret);
    expect((await request(t.app).get('/v1/journeys').set('Cookie', cookie)).status).toBe(200);

    const before = await snapshot();
    const forged = await request(t.app)
      .put('/v1/journeys/welcome/draft')
      .set('Cookie', cookie)
      .send({ source: waitingJourney('welcome') });
    expect(forged.status).toBe(403);
    expect(forged.body.message).toBe(
      'a change made with the console session must carry X-Touchpoint-Client: console',
    );
    expect(snapshotChanges(before, await snapshot())).toEqual([]);

    const console = await request(t.app)
      .put('/v1/journeys/welcome/draft')
      .set('Cookie', cookie)
      .set('X-Touchpoint-Client', 'console')
      .send({ source: waitingJourney('welcome') });
    expect(console.status).toBe(200);
    // The role still decides: a marketer's session may not publish.
    const publish = await request(t.app)
      .post('/v1/journeys/welcome/publish')
      .set('Cookie', cookie)
      .set('X-Touchpoint-Client', 'console')
      .send({});
    expect(publish.status).toBe(403);
    expect(publish.body.message).toBe('role marketer may not journeys:publish');
  });

  test('revoking the key ends its sessions at once; rotating it does not', async () => {
    const { id, secret } = await createKey('Zhou', 'auditor');
    const { cookie } = await signIn(secret);
    await admin(request(t.app).post(`/v1/keys/${id}/rotate`)).send({ graceSeconds: 0 });
    expect((await request(t.app).get('/v1/journeys').set('Cookie', cookie)).status).toBe(200);
    await admin(request(t.app).delete(`/v1/keys/${id}`)).send({ reason: 'lost laptop' });
    const after = await request(t.app).get('/v1/journeys').set('Cookie', cookie);
    expect(after.status).toBe(401);
    expect(after.body.message).toMatch(/session has expired or its key was revoked/);
  });

  test('sign out: the cookie is cleared and a kept copy no longer works', async () => {
    const { secret } = await createKey('Zhou', 'auditor');
    const { cookie } = await signIn(secret);
    const out = await request(t.app).delete('/v1/session').set('Cookie', cookie);
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ signedOut: true });
    expect((out.headers['set-cookie'] as unknown as string[])[0]).toMatch(/^tp_session=; .*Max-Age=0/);
    expect((await request(t.app).get('/v1/journeys').set('Cookie', cookie)).status).toBe(401);
    expect((await request(t.app).delete('/v1/session').set('Cookie', cookie)).body).toEqual({
      signedOut: false,
    });
  });

  test('a tampered or foreign token is no session, and a session token is no API key', async () => {
    const { secret } = await createKey('Zhou', 'admin');
    const { cookie } = await signIn(secret);
    const token = cookie.slice('tp_session='.length);
    const [body, mac] = token.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<string, unknown>;
    const edited = Buffer.from(JSON.stringify({ ...payload, keyId: 'bootstrap-admin' })).toString(
      'base64url',
    );
    expect(
      (await request(t.app).get('/v1/journeys').set('Cookie', `tp_session=${edited}.${mac}`)).status,
    ).toBe(401);
    expect((await request(t.app).get('/v1/journeys').set('Authorization', bearer(token))).status).toBe(401);
  });
});

describe('four-eyes publishing (approvals.publish: required)', () => {
  beforeEach(() => start('required'));
  afterEach(() => stop());

  const publishAs = (key: string, id: string, body: object) =>
    as(key, request(t.app).post(`/v1/journeys/${id}/publish`)).send(body);

  test('a publish becomes a pending approval; another person approves and exactly that source is published, once', async () => {
    const alice = await createKey('Alice', 'publisher');
    const bob = await createKey('Bob', 'publisher');
    const source = waitingJourney('welcome', { name: 'Welcome v1' });

    const requested = await publishAs(alice.secret, 'welcome', { source, note: 'launch' });
    expect(requested.status).toBe(202);
    expect(requested.body.approval).toEqual({
      id: expect.stringMatching(/^a_/),
      journeyId: 'welcome',
      sourceSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      format: 'yaml',
      note: 'launch',
      requestedBy: 'Alice',
      requestedAt: expect.any(String),
      status: 'pending',
    });
    const approvalId = requested.body.approval.id as string;
    // Nothing is published yet.
    expect((await admin(request(t.app).get('/v1/journeys/welcome'))).status).toBe(404);

    const pending = await as(bob.secret, request(t.app).get('/v1/approvals?status=pending'));
    expect(pending.status).toBe(200);
    expect(pending.body.approvals).toEqual([
      expect.objectContaining({ id: approvalId, source, status: 'pending' }),
    ]);

    // The requester cannot approve their own request.
    const own = await as(alice.secret, request(t.app).post(`/v1/approvals/${approvalId}/approve`)).send({});
    expect(own.status).toBe(409);
    expect(own.body.error).toBe('same_person');

    const approved = await as(bob.secret, request(t.app).post(`/v1/approvals/${approvalId}/approve`)).send({
      note: 'looks right',
    });
    expect(approved.status).toBe(201);
    expect(approved.body.approval).toMatchObject({
      id: approvalId,
      status: 'approved',
      decidedBy: 'Bob',
      decisionNote: 'looks right',
      version: 1,
    });
    expect(approved.body.published).toMatchObject({ id: 'welcome', version: 1, created: true });
    const version = await admin(request(t.app).get('/v1/journeys/welcome/versions/1'));
    expect(version.body).toMatchObject({
      source,
      publishedBy: 'Alice',
      note: `launch (approved by Bob, ${approvalId})`,
    });

    // Used once.
    const before = await snapshot();
    const again = await as(bob.secret, request(t.app).post(`/v1/approvals/${approvalId}/approve`)).send({});
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('already_decided');
    const reject = await as(bob.secret, request(t.app).post(`/v1/approvals/${approvalId}/reject`)).send({
      reason: 'too late',
    });
    expect(reject.status).toBe(409);
    expect(snapshotChanges(before, await snapshot())).toEqual([]);

    expect(
      (await as(bob.secret, request(t.app).get('/v1/approvals?status=approved'))).body.approvals.map(
        (a: { id: string }) => a.id,
      ),
    ).toEqual([approvalId]);
    expect(
      (await audit())
        .filter((e) => e.action.startsWith('journey.'))
        .map((e) => [e.action, e.target, e.actor.name]),
    ).toEqual([
      ['journey.publish-requested', `approval:${approvalId}`, 'Alice'],
      ['journey.publish-approved', `approval:${approvalId}`, 'Bob'],
      ['journey.publish', 'journey:welcome@1', 'Bob'],
    ]);
  });

  test('the approval publishes the draft as it was requested, not as it was changed afterwards', async () => {
    const alice = await createKey('Alice', 'publisher');
    const bob = await createKey('Bob', 'admin');
    const first = waitingJourney('welcome', { name: 'Reviewed' });
    await as(alice.secret, request(t.app).put('/v1/journeys/welcome/draft')).send({ source: first });
    const requested = await publishAs(alice.secret, 'welcome', {});
    expect(requested.status).toBe(202);
    await as(alice.secret, request(t.app).put('/v1/journeys/welcome/draft')).send({
      source: waitingJourney('welcome', { name: 'Changed after review' }),
    });
    const approved = await as(
      bob.secret,
      request(t.app).post(`/v1/approvals/${requested.body.approval.id}/approve`),
    );
    expect(approved.status).toBe(201);
    expect((await admin(request(t.app).get('/v1/journeys/welcome/versions/1'))).body.source).toBe(first);
  });

  test('the shared bootstrap admin key is one person, whatever X-Touchpoint-Actor says', async () => {
    const requested = await admin(request(t.app).post('/v1/journeys/welcome/publish'))
      .set('X-Touchpoint-Actor', 'alice')
      .send({ source: waitingJourney('welcome') });
    expect(requested.status).toBe(202);
    expect(requested.body.approval.requestedBy).toBe('alice');
    const self = await admin(request(t.app).post(`/v1/approvals/${requested.body.approval.id}/approve`))
      .set('X-Touchpoint-Actor', 'bob')
      .send({});
    expect(self.status).toBe(409);
    expect(self.body.error).toBe('same_person');
  });

  test('reject: with a reason, by anyone who may publish (the requester may withdraw); nothing published', async () => {
    const alice = await createKey('Alice', 'publisher');
    const bob = await createKey('Bob', 'publisher');
    const a = await publishAs(alice.secret, 'welcome', { source: waitingJourney('welcome') });
    const noReason = await as(
      bob.secret,
      request(t.app).post(`/v1/approvals/${a.body.approval.id}/reject`),
    ).send({});
    expect(noReason.status).toBe(400);
    expect(noReason.body.issues).toEqual([{ path: 'reason', message: 'is required' }]);
    const rejected = await as(
      bob.secret,
      request(t.app).post(`/v1/approvals/${a.body.approval.id}/reject`),
    ).send({
      reason: 'wrong coupon',
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body.approval).toMatchObject({
      status: 'rejected',
      decidedBy: 'Bob',
      decisionNote: 'wrong coupon',
    });
    expect((await admin(request(t.app).get('/v1/journeys/welcome'))).status).toBe(404);

    const b = await publishAs(alice.secret, 'welcome', { source: waitingJourney('welcome') });
    const withdrawn = await as(
      alice.secret,
      request(t.app).post(`/v1/approvals/${b.body.approval.id}/reject`),
    ).send({
      reason: 'not yet',
    });
    expect(withdrawn.status).toBe(200);
    const entries = (await audit()).filter((e) => e.action === 'journey.publish-rejected');
    expect(entries.map((e) => [e.actor.name, e.reason])).toEqual([
      ['Bob', 'wrong coupon'],
      ['Alice', 'not yet'],
    ]);
  });

  test('an invalid source is refused as a publish would be: 400, no approval, nothing logged', async () => {
    const alice = await createKey('Alice', 'publisher');
    const before = await snapshot();
    const res = await publishAs(alice.secret, 'welcome', { source: 'id: welcome\nsteps: 3\n' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_journey');
    const noDraft = await publishAs(alice.secret, 'welcome', {});
    expect(noDraft.status).toBe(400);
    expect(noDraft.body.issues).toEqual([
      { path: 'source', message: 'is required when the journey has no draft' },
    ]);
    const listBad = await as(alice.secret, request(t.app).get('/v1/approvals?status=maybe'));
    expect(listBad.status).toBe(400);
    expect(listBad.body.issues[0].path).toBe('query.status');
    expect(snapshotChanges(before, await snapshot())).toEqual([]);
  });

  test('a marketer may list approvals but not decide them', async () => {
    const alice = await createKey('Alice', 'publisher');
    const mia = await createKey('Mia', 'marketer');
    const a = await publishAs(alice.secret, 'welcome', { source: waitingJourney('welcome') });
    expect((await as(mia.secret, request(t.app).get('/v1/approvals'))).body.approvals).toHaveLength(1);
    const approve = await as(
      mia.secret,
      request(t.app).post(`/v1/approvals/${a.body.approval.id}/approve`),
    ).send({});
    expect(approve.status).toBe(403);
  });
});
