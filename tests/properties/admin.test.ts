import fc from 'fast-check';
import request from 'supertest';
import { basic, bearer, JOURNEYS, KEYS } from '../server/fixture';
import { expectClientError, queued, RUNS, usePropertyApp, weirdString } from './support';

/*
 * Property tests of the rest of the API: the admin routes with hostile ids and keys, unknown
 * routes and methods, and /healthz. Never a 5xx, always JSON, and a run lookup only with the
 * admin key and exactly the ids the client sent.
 */

const lookups: [string, string][] = [];
const t = usePropertyApp({
  runs: {
    describe: async (journeyId, customerId) => {
      lookups.push([journeyId, customerId]);
      return null;
    },
  },
});
beforeEach(() => void (lookups.length = 0));

const admin = (path: string) => request(t.app).get(path).set('Authorization', bearer(KEYS.adminKey));

/** A path segment as a client might send it: any text percent-encoded, or raw oddities. */
const segment = fc.oneof(
  weirdString
    .filter((s) => s.length > 0)
    .map((s) => ({ raw: encodeURIComponent(s), decoded: s as string | null })),
  fc
    .constantFrom(
      '%',
      '%zz',
      '%E0%A4%A',
      '%00',
      '..',
      '%2e%2e',
      '%2F',
      '__proto__',
      'constructor',
      '%7B%7Bx%7D%7D',
    )
    .map((raw) => ({ raw, decoded: null })),
);

describe('admin routes with hostile ids', () => {
  test('GET /v1/journeys/:id is the journey, a 404 naming the id, or a 400 for undecodable text', async () => {
    await fc.assert(
      fc.asyncProperty(segment, async ({ raw, decoded }) => {
        const res = await admin(`/v1/journeys/${raw}`);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        if (res.status === 200) {
          expect(JOURNEYS.map((j) => j.id)).toContain(res.body.id);
          return;
        }
        expectClientError(res);
        if (decoded !== null) {
          expect(res.status).toBe(404);
          expect(res.body.message).toBe(`no journey ${JSON.stringify(decoded)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('GET /v1/journeys/:id/customers/:customerId looks up exactly the decoded ids', async () => {
    await fc.assert(
      fc.asyncProperty(segment, segment, async (journey, customer) => {
        lookups.length = 0;
        const res = await admin(`/v1/journeys/${journey.raw}/customers/${customer.raw}`);
        expect(res.status).toBeLessThan(500);
        expectClientError(res);
        if (journey.decoded !== null && customer.decoded !== null) {
          expect(res.status).toBe(404);
          expect(lookups).toEqual([[journey.decoded, customer.decoded]]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('without a key that may read runs: 401, or 403 for the write key (400 for an undecodable path), and no run is looked up', async () => {
    const key = fc.oneof(
      fc.stringMatching(/^[\x21-\x7e]{0,40}$/).map(bearer),
      fc.constantFrom(
        bearer(KEYS.writeKey),
        basic(KEYS.writeKey),
        bearer(`${KEYS.adminKey} x`),
        'Bearer',
        '',
      ),
    );
    await fc.assert(
      fc.asyncProperty(key, segment, async (auth, customer) => {
        lookups.length = 0;
        const req = request(t.app).get(`/v1/journeys/reactivation/customers/${customer.raw}`);
        if (auth) req.set('Authorization', auth);
        const res = await req;
        // A path that cannot be decoded fails routing (400) before the key is looked at; the write
        // key is known but its role (ingest) may not read runs.
        const known = auth === bearer(KEYS.writeKey) || auth === basic(KEYS.writeKey);
        expectClientError(res, customer.decoded === null ? undefined : known ? 403 : 401);
        expect(lookups).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('unknown routes and methods', () => {
  test('are a JSON 4xx and queue nothing, with or without keys and bodies', async () => {
    const method = fc.constantFrom('get', 'post', 'put', 'patch', 'delete');
    const path = fc.oneof(
      fc.constantFrom(
        '/v1/track',
        '/v1/identify',
        '/v1/batch',
        '/v1/journeys',
        '/v1/journeys/reactivation',
        '/healthz',
        '/',
      ),
      segment.map((s) => `/v1/${s.raw}`),
      segment.map((s) => `/${s.raw}/track`),
    );
    const auth = fc.constantFrom(undefined, basic(KEYS.writeKey), bearer(KEYS.adminKey));
    await fc.assert(
      fc.asyncProperty(method, path, auth, async (m, p, a) => {
        // The routes that exist answer as other tests say; the rest is checked here.
        const known =
          (m === 'post' && ['/v1/track', '/v1/identify', '/v1/batch'].includes(p)) ||
          (m === 'get' && ['/v1/journeys', '/v1/journeys/reactivation', '/healthz'].includes(p));
        fc.pre(!known);
        const before = await queued(t);
        const req = request(t.app)[m](p);
        if (a) req.set('Authorization', a);
        const res = await req.set('Content-Type', 'application/json').send('{"userId":"u","event":"e"}');
        expectClientError(res);
        expect([400, 401, 403, 404]).toContain(res.status);
        expect(await queued(t)).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('GET /healthz', () => {
  test('is 200 {"status":"ok"} whatever the query, headers or keys', async () => {
    const printable = fc.stringMatching(/^[\x21-\x7e]{0,30}$/);
    await fc.assert(
      fc.asyncProperty(printable, printable, async (query, header) => {
        const res = await request(t.app)
          .get(`/healthz?${encodeURIComponent(query)}=${encodeURIComponent(header)}`)
          .set('Authorization', header)
          .set('X-Forwarded-For', header);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ status: 'ok' });
      }),
      { numRuns: RUNS / 2 },
    );
  });
});
