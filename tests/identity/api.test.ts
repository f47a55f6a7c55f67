import request from 'supertest';
import type { IngestEvent } from '../../queues/events';
import { basic, bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { closeHarness, identify, identityHarness, track, type IdentityHarness } from './support';

let h: IdentityHarness;
let t: TestApp;
beforeAll(async () => {
  h = identityHarness({ maxCustomersPerIdentifier: 2 });
  t = await startTestApp({ customers: { identity: h.identity, profiles: h.profiles } });
});
afterAll(async () => {
  await t.close();
  await closeHarness(h);
});

/** Resolve, then an identify's traits into the profile: what the router does first. */
async function route(event: IngestEvent): Promise<string> {
  const { customerId } = await h.identity.resolveDetailed(event);
  if (event.type === 'identify') await h.profiles.merge(customerId, event.traits, event.messageId);
  return customerId;
}

const admin = (path: string) => request(t.app).get(path).set('Authorization', bearer(KEYS.adminKey));

describe('ingestion refuses the internal customerId', () => {
  test('400 with the field path, on single calls and in a batch; nothing queued', async () => {
    const single = await request(t.app)
      .post('/v1/track')
      .set('Authorization', basic(KEYS.writeKey))
      .send({ userId: 'u1', event: 'x', customerId: 'someone-else' });
    expect(single.status).toBe(400);
    expect(single.body.issues).toEqual([
      { path: 'customerId', message: expect.stringContaining('set by Touchpoint only') },
    ]);
    const identifyCall = await request(t.app)
      .post('/v1/identify')
      .set('Authorization', basic(KEYS.writeKey))
      .send({ anonymousId: 'a1', customerId: null });
    expect(identifyCall.body.issues).toEqual([{ path: 'customerId', message: expect.any(String) }]);
    const batch = await request(t.app)
      .post('/v1/batch')
      .set('Authorization', basic(KEYS.writeKey))
      .send({
        batch: [
          { type: 'track', userId: 'u1', event: 'ok' },
          { type: 'identify', userId: 'u1', traits: {}, customerId: 'c9' },
        ],
      });
    expect(batch.status).toBe(400);
    expect(batch.body.issues).toEqual([{ path: 'batch[1].customerId', message: expect.any(String) }]);
    expect(await t.jobs()).toHaveLength(0);
  });
});

describe('GET /v1/customers', () => {
  beforeAll(async () => {
    await route(
      identify(
        { anonymousId: 'pos-1' },
        { memberId: 'CY001', phone: '13800138000', level: 'gold', name: '钟磊' },
      ),
    );
    await route(identify({ userId: 'web-1' }, { email: 'zhong@example.com', name: 'Zhong', orderCount: 3 }));
    await h.profiles.addTags('web-1', ['online']);
    await route(track({ userId: 'web-1' }, 'coupon_claimed', { memberId: 'CY001' }));
    // A second store member with the same (store) phone: a third person, over the limit (2): refused, recorded.
    await route(identify({ anonymousId: 'pos-2' }, { memberId: 'CY002' }));
    await route(identify({ anonymousId: 'pos-2' }, { memberId: 'CY002', phone: '13800138000' }));
  });

  test('a customer: identifiers and traits masked, computed traits apart, tags, aliases', async () => {
    const res = await admin('/v1/customers/web-1');
    expect(res.status).toBe(200);
    expect(res.body.customer).toEqual({
      id: 'web-1',
      createdAt: expect.any(String),
      origin: 'userId',
      identifiers: [
        { type: 'userId', value: 'web-1', linkedAt: expect.any(String) },
        { type: 'memberId', value: 'CY001', linkedAt: expect.any(String) },
        { type: 'email', value: 'z***@example.com', linkedAt: expect.any(String) },
        { type: 'phone', value: '+86 138****8000', linkedAt: expect.any(String) },
        { type: 'anonymousId', value: 'pos-1', linkedAt: expect.any(String) },
      ],
      traits: {
        name: 'Zhong',
        email: 'z***@example.com',
        phone: '+86 138****8000',
        memberId: 'CY001',
        level: 'gold',
      },
      computedTraits: { orderCount: 3 },
      tags: ['online'],
      aliases: ['anon:pos-1'],
    });
    expect(JSON.stringify(res.body)).not.toContain('13800138000');
  });

  test('?reveal=true shows the values and logs the reveal; a merged-away id answers its customer', async () => {
    const before = t.logs.length;
    const res = await admin('/v1/customers/anon:pos-1?reveal=true');
    expect(res.status).toBe(200);
    expect(res.body.customer).toMatchObject({
      id: 'web-1',
      resolvedFrom: 'anon:pos-1',
      traits: { phone: '13800138000', email: 'zhong@example.com' },
    });
    expect(res.body.customer.identifiers).toContainEqual(
      expect.objectContaining({ type: 'phone', value: '+8613800138000' }),
    );
    const logged = t.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'personal data revealed',
        customerId: 'web-1',
        who: 'admin', // the name of the key that revealed (the bootstrap admin key)
        level: 30,
      }),
    );
    expect(JSON.stringify(logged)).not.toContain('13800138000');
  });

  test('lookup by any identifier, in any spelling; 404 when none holds it; 400 for a bad query', async () => {
    for (const query of [
      'phone=%2B86%20138-0013-8000',
      'memberId=CY001',
      'email=ZHONG@example.com',
      'anonymousId=pos-1',
      'userId=web-1',
    ]) {
      const res = await admin(`/v1/customers?${query}`);
      expect([query, res.status, res.body.customer?.id]).toEqual([query, 200, 'web-1']);
    }
    expect((await admin('/v1/customers?memberId=CY002')).body.customer.id).toBe('anon:pos-2');
    const missing = await admin('/v1/customers?memberId=NOPE');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');
    const bad = await admin('/v1/customers?phone=call-me');
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ path: 'query.phone', message: 'is not a valid phone' }]);
    expect((await admin('/v1/customers?nickname=x')).body.issues).toEqual([
      { path: 'query.nickname', message: expect.stringContaining('unknown identifier') },
    ]);
    expect((await admin('/v1/customers?phone=1&email=a@b.c')).body.issues).toEqual([
      { path: 'query', message: expect.stringContaining('exactly one identifier') },
    ]);
    expect((await admin('/v1/customers')).status).toBe(400);
  });

  test('merges: the history of the customer and its conflicts', async () => {
    const res = await admin('/v1/customers/web-1/merges');
    expect(res.status).toBe(200);
    expect(res.body.merges).toEqual([
      expect.objectContaining({
        winner: 'web-1',
        loser: 'anon:pos-1',
        completed: true,
        via: [
          { type: 'userId', value: 'web-1' },
          { type: 'memberId', value: 'CY001' },
        ],
      }),
    ]);
    expect(res.body.conflicts).toEqual([
      expect.objectContaining({
        kind: 'customersPerIdentifier',
        limit: 2,
        customer: 'anon:pos-2',
        holder: 'web-1',
        identifier: { type: 'phone', value: '+86 138****8000' },
      }),
    ]);
    const other = await admin('/v1/customers/anon:pos-2/merges');
    expect(other.body).toMatchObject({ customer: 'anon:pos-2', merges: [], conflicts: [expect.any(Object)] });
  });

  test('404 for an unknown customer; 403 for the write key, 401 without a key', async () => {
    const missing = await admin('/v1/customers/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');
    expect((await admin('/v1/customers/nobody/merges')).status).toBe(404);
    const write = await request(t.app).get('/v1/customers/web-1').set('Authorization', bearer(KEYS.writeKey));
    expect(write.status).toBe(403);
    expect((await request(t.app).get('/v1/customers?memberId=CY001')).status).toBe(401);
  });
});
