import request from 'supertest';
import { createAccessServices } from '../../access/services';
import { loadTemplates } from '../../messages/templates';
import { closeHarness, identify, identityHarness, type IdentityHarness } from '../identity/support';
import { basic, bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { appendedDuring } from './support';
import path from 'node:path';

/*
 * Consent changes (API, unsubscribe link, SMS reply), enrolments and reads of unmasked personal
 * data each append exactly one entry; a refused request appends none. Identity, profiles and
 * consent on the real test Redis.
 */

let h: IdentityHarness;
let t: TestApp;
let auditorKey: string;

beforeAll(async () => {
  h = identityHarness();
  t = await startTestApp({
    rules: {
      consent: h.rules.consent,
      profiles: h.profiles,
      links: h.rules.links,
      smsKeywords: h.rules.config.consent.smsKeywords,
    },
    customers: { identity: h.identity, profiles: h.profiles },
    templates: {
      templates: loadTemplates(path.resolve(__dirname, '../fixtures/simulation/templates')),
      profiles: h.profiles,
    },
    accessServices: createAccessServices({
      redis: h.redis,
      keyPrefix: h.prefix,
      secret: Buffer.from('audit-routes-secret'),
    }),
  });
  const created = await request(t.app)
    .post('/v1/keys')
    .set('Authorization', bearer(KEYS.adminKey))
    .send({ name: 'audrey', role: 'auditor' });
  expect(created.status).toBe(201);
  auditorKey = created.body.secret;

  // c1: a customer with a phone number and an email.
  const { customerId } = await h.identity.resolveDetailed(identify({ userId: 'c1' }, {}));
  await h.profiles.merge(customerId, { name: 'Wang', phone: '+8613800138000', email: 'wang@example.com' });
});
afterAll(async () => {
  await t?.close();
  await closeHarness(h);
});

const during = <T>(action: () => Promise<T>) => appendedDuring(t.auditLog, action);
const ingest = (path: string, body: object) =>
  request(t.app).post(path).set('Authorization', basic(KEYS.writeKey)).send(body);
const WRITE_KEY = { name: 'write-key', keyId: 'bootstrap-write', role: 'ingest' };

describe('consent.change', () => {
  test('POST /v1/consent: one entry as the key that sent it; a bad body none', async () => {
    const bad = await during(() =>
      ingest('/v1/consent', { userId: 'c1', channel: 'fax', status: 'revoked' }),
    );
    expect(bad.result.status).toBe(400);
    expect(bad.entries).toEqual([]);

    const { result, entries } = await during(() =>
      ingest('/v1/consent', { userId: 'c1', channel: 'email', topic: 'news', status: 'granted' }),
    );
    expect(result.status).toBe(200);
    expect(entries).toEqual([
      expect.objectContaining({
        actor: WRITE_KEY,
        action: 'consent.change',
        target: 'customer:c1',
        detail: { channel: 'email', topic: 'news', status: 'granted', source: 'api' },
        from: expect.objectContaining({ via: 'api' }),
      }),
    ]);
  });

  test('the unsubscribe link: the customer’s own entry once; a second click and a forged link none', async () => {
    const link = new URL(h.rules.links.url('c1', 'marketing'));
    const { result, entries } = await during(() =>
      request(t.app).get(link.pathname).set('User-Agent', 'MailClient/1.0'),
    );
    expect(result.status).toBe(200);
    expect(entries).toEqual([
      expect.objectContaining({
        actor: { name: 'c1', role: 'customer' },
        action: 'consent.change',
        target: 'customer:c1',
        detail: { channel: 'email', topic: 'marketing', status: 'revoked', method: 'GET' },
        from: { ip: expect.any(String), userAgent: 'MailClient/1.0', via: 'unsubscribe-link' },
      }),
    ]);
    const again = await during(() => request(t.app).post(link.pathname));
    expect(again.result.status).toBe(200);
    expect(again.entries).toEqual([]);
    const forged = await during(() => request(t.app).get(`${link.pathname.slice(0, -3)}abc`));
    expect(forged.result.status).toBe(400);
    expect(forged.entries).toEqual([]);
  });

  test('an SMS stop reply: the customer’s entry, no phone number in it; other replies none', async () => {
    const chat = await during(() => ingest('/v1/inbound/sms', { from: '+8613800138000', text: 'thanks!' }));
    expect(chat.result.body).toEqual({ optOut: false });
    expect(chat.entries).toEqual([]);

    const { result, entries } = await during(() =>
      ingest('/v1/inbound/sms', { from: '+8613800138000', text: 'TD' }),
    );
    expect(result.body).toEqual({ optOut: true, keyword: 'TD' });
    expect(entries).toEqual([
      expect.objectContaining({
        actor: { name: 'c1', role: 'customer' },
        action: 'consent.change',
        target: 'customer:c1',
        detail: { channel: 'sms', topic: '*', status: 'revoked', keyword: 'TD', gateway: 'write-key' },
        from: expect.objectContaining({ via: 'sms-reply' }),
      }),
    ]);
    expect(JSON.stringify(entries)).not.toContain('13800138000');
  });
});

describe('enrolment.start', () => {
  test('one entry per accepted request; unknown journeys and bad bodies none', async () => {
    const enrol = (id: string, body: object) =>
      request(t.app).post(`/v1/journeys/${id}/enrol`).set('Authorization', bearer(KEYS.adminKey)).send(body);
    expect((await during(() => enrol('nope', { customers: ['c1'] }))).entries).toEqual([]);
    const bad = await during(() => enrol('reactivation', { customers: [] }));
    expect(bad.result.status).toBe(400);
    expect(bad.entries).toEqual([]);

    const { result, entries } = await during(() =>
      enrol('reactivation', { customers: ['c1', 'c2', 'c1'] }).set('Idempotency-Key', 'batch-7'),
    );
    expect(result.status).toBe(202);
    expect(entries).toEqual([
      expect.objectContaining({
        actor: { name: 'admin', keyId: 'bootstrap-admin', role: 'admin' },
        action: 'enrolment.start',
        target: 'enrolment:reactivation:batch-7',
        detail: { journeyId: 'reactivation', customers: 2 },
      }),
    ]);
  });
});

describe('personal-data.read', () => {
  const get = (path: string, key = KEYS.adminKey) =>
    request(t.app).get(path).set('Authorization', bearer(key));

  test('a customer with ?reveal=true: one entry naming the fields; masked reads none', async () => {
    const masked = await during(() => get('/v1/customers/c1'));
    expect(masked.result.status).toBe(200);
    expect(masked.result.body.customer.traits.phone).not.toBe('+8613800138000');
    expect(masked.entries).toEqual([]);

    const { result, entries } = await during(() => get('/v1/customers/c1?reveal=true'));
    expect(result.status).toBe(200);
    expect(result.body.customer.traits.phone).toBe('+8613800138000');
    expect(entries).toEqual([
      expect.objectContaining({
        actor: { name: 'admin', keyId: 'bootstrap-admin', role: 'admin' },
        action: 'personal-data.read',
        target: 'customer:c1',
        detail: { fields: ['phone', 'email', 'identifiers'], where: 'GET /v1/customers/:id' },
      }),
    ]);
    expect(JSON.stringify(entries)).not.toContain('wang@example.com');

    const merges = await during(() => get('/v1/customers/c1/merges?reveal=true'));
    expect(merges.result.status).toBe(200);
    expect(merges.entries).toEqual([
      expect.objectContaining({
        action: 'personal-data.read',
        target: 'customer:c1',
        detail: { fields: ['identifiers'], where: 'GET /v1/customers/:id/merges' },
      }),
    ]);
  });

  test('refused reveals append nothing: an unknown customer, a role without personal-data:reveal', async () => {
    const unknown = await during(() => get('/v1/customers/nobody?reveal=true'));
    expect(unknown.result.status).toBe(404);
    expect(unknown.entries).toEqual([]);
    const auditor = await during(() => get('/v1/customers/c1?reveal=true', auditorKey));
    expect(auditor.result.status).toBe(403);
    expect(auditor.entries).toEqual([]);
    // Masked, the auditor may read.
    expect((await get('/v1/customers/c1', auditorKey)).status).toBe(200);
  });

  test('a revealed template preview for a stored customer: one entry', async () => {
    const preview = (query: string, template = 'sim-tip') =>
      request(t.app)
        .post(`/v1/templates/preview${query}`)
        .set('Authorization', bearer(KEYS.adminKey))
        .send({ channel: 'sms', template, locale: 'en', customerId: 'c1' });
    expect((await during(() => preview(''))).entries).toEqual([]);
    const missing = await during(() => preview('?reveal=true', 'no-such-template'));
    expect(missing.result.status).toBe(404);
    expect(missing.entries).toEqual([]);

    const { result, entries } = await during(() => preview('?reveal=true'));
    expect(result.status).toBe(200);
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'personal-data.read',
        target: 'customer:c1',
        detail: { fields: ['phone', 'email'], where: 'POST /v1/templates/preview', template: 'sms/sim-tip' },
      }),
    ]);
  });
});

test('the whole log is one intact chain (run last: it holds every entry above)', async () => {
  const verification = await t.auditLog.verify();
  expect(verification).toMatchObject({ ok: true, problems: [] });
  // key.create, 3 consent changes, 1 enrolment, 3 reads.
  expect(verification.entries).toBe(8);
});
