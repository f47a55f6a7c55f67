import fc from 'fast-check';
import request from 'supertest';
import { MAX_BATCH_SIZE } from '../../server/ingest/schemas';
import { basic, bearer, KEYS } from '../server/fixture';
import { expectClientError, postJson, queued, RUNS, usePropertyApp } from './support';

/*
 * Property tests of what surrounds the data: batch sizes, body size, malformed JSON, content
 * types and API keys. Each bad request gets its 4xx with a JSON message and queues nothing.
 */

const t = usePropertyApp();

const routes = fc.constantFrom('/v1/track', '/v1/identify', '/v1/batch');
let seq = 0;
const nextId = () => `limits-${process.pid}-${++seq}`;
const item = () => ({ type: 'track', userId: 'u', event: 'e', messageId: nextId() });
/** A valid body for a route, as JSON text. */
const validBody = (route: string) =>
  JSON.stringify(
    route === '/v1/batch'
      ? { batch: [item()] }
      : route === '/v1/track'
        ? { userId: 'u', event: 'e', messageId: nextId() }
        : { userId: 'u', traits: { a: 1 }, messageId: nextId() },
  );

describe('huge batches', () => {
  test(`up to ${MAX_BATCH_SIZE} messages are taken, more are refused whole; one bad message refuses all`, async () => {
    const size = fc.oneof(
      fc.integer({ min: 1, max: 2 * MAX_BATCH_SIZE }),
      fc.constantFrom(MAX_BATCH_SIZE - 1, MAX_BATCH_SIZE, MAX_BATCH_SIZE + 1, 5_000),
    );
    await fc.assert(
      fc.asyncProperty(size, fc.option(fc.nat(), { freq: 3 }), async (n, bad) => {
        const batch: Record<string, unknown>[] = Array.from({ length: n }, item);
        if (bad !== null) batch[bad % n] = { ...batch[bad % n], event: 42 };
        const before = await queued(t);
        const res = await postJson(t, '/v1/batch', JSON.stringify({ batch }));
        if (n > MAX_BATCH_SIZE) {
          expectClientError(res, 400);
          expect(res.body.issues).toEqual([
            { path: 'batch', message: `must hold at most ${MAX_BATCH_SIZE} messages` },
          ]);
        } else if (bad !== null) {
          expectClientError(res, 400);
          expect(res.body.issues).toEqual([{ path: `batch[${bad % n}].event`, message: 'must be a string' }]);
        } else {
          expect(res.status).toBe(202);
          expect(res.body).toEqual({ accepted: n });
          expect(await queued(t)).toBe(before + n);
          return;
        }
        expect(await queued(t)).toBe(before);
      }),
      { numRuns: 10 },
    );
  });
});

describe('oversized bodies', () => {
  test('past 500 KB are a 413 payload_too_large at every endpoint, whatever their shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        routes,
        fc.integer({ min: 512_001, max: 3_000_000 }),
        fc.boolean(),
        async (route, size, many) => {
          // One huge string, or a batch of many small messages: either way past the limit.
          const json = many
            ? JSON.stringify({ batch: Array.from({ length: Math.ceil(size / 60) }, item) })
            : JSON.stringify({ userId: 'u', event: 'e', traits: {}, properties: { blob: 'x'.repeat(size) } });
          const before = await queued(t);
          const res = await postJson(t, route, json);
          expectClientError(res, 413);
          expect(res.body.error).toBe('payload_too_large');
          expect(await queued(t)).toBe(before);
        },
      ),
      { numRuns: 6 },
    );
  });
});

describe('malformed JSON', () => {
  test('a cut or garbled body is a 400 invalid_json', async () => {
    const garble = fc.oneof(
      fc.nat().map((n) => (json: string) => json.slice(0, n % json.length)),
      fc
        .tuple(fc.nat(), fc.constantFrom('{', '}', '"', ',', ':', '\\', "'", '\u0000', 'NaN', 'undefined'))
        .map(
          ([n, c]) =>
            (json: string) =>
              json.slice(0, n % json.length) + c + json.slice(n % json.length),
        ),
      fc.string({ maxLength: 40 }).map((s) => () => s),
    );
    await fc.assert(
      fc.asyncProperty(routes, garble, async (route, mangle) => {
        const json = mangle(validBody(route));
        fc.pre(json.trim() !== '' && !parses(json));
        const before = await queued(t);
        const res = await postJson(t, route, json);
        expectClientError(res, 400);
        expect(res.body.error).toBe('invalid_json');
        expect(res.body.message).toMatch(/^request body is not valid JSON: /);
        expect(await queued(t)).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });
});

const token = fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,12}$/);

describe('content types', () => {
  test('anything but application/json is a 400 unsupported_content_type, even with a JSON body', async () => {
    const contentType = fc.oneof(
      fc.constantFrom(
        'text/plain',
        'text/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/javascript',
        'application/jsonp',
        'application/json-seq',
        'application/octet-stream',
        'json',
        'application',
      ),
      fc.tuple(token, token).map(([a, b]) => `${a}/${b}`),
    );
    await fc.assert(
      fc.asyncProperty(routes, contentType, async (route, type) => {
        fc.pre(type.split(';')[0]!.trim().toLowerCase() !== 'application/json');
        const before = await queued(t);
        const res = await request(t.app)
          .post(route)
          .set('Authorization', basic(KEYS.writeKey))
          .set('Content-Type', type)
          .send(validBody(route));
        expectClientError(res);
        // `+json` suffixes (application/vnd.api+json) are not JSON to the API either.
        expect(res.body.error).toBe('unsupported_content_type');
        expect(await queued(t)).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });

  test('application/json in a charset other than UTF-8 is refused (415, or 400 if it cannot be read)', async () => {
    const charset = fc.oneof(
      fc.constantFrom('utf-8', 'UTF-8', 'utf8', 'latin1', 'iso-8859-1', 'utf-16', 'ascii', 'gbk', 'big5'),
      token,
    );
    await fc.assert(
      fc.asyncProperty(routes, charset, async (route, cs) => {
        const before = await queued(t);
        const res = await request(t.app)
          .post(route)
          .set('Authorization', basic(KEYS.writeKey))
          .set('Content-Type', `application/json; charset=${cs}`)
          .send(validBody(route));
        if (cs.toLowerCase() === 'utf-8') {
          expect(res.status).toBe(202);
          return;
        }
        expectClientError(res);
        expect(['unsupported_charset', 'invalid_json']).toContain(res.body.error);
        expect(await queued(t)).toBe(before);
      }),
      { numRuns: RUNS / 2 },
    );
  });
});

describe('API keys', () => {
  test('any Authorization but the write or admin key is a 401 before the body is looked at', async () => {
    const printable = fc.stringMatching(/^[\x21-\x7e]{0,40}$/);
    const header = fc.oneof(
      printable,
      printable.map((key) => basic(key)),
      printable.map((key) => bearer(key)),
      printable.map((key) => `Basic ${Buffer.from(`:${key}`).toString('base64')}`),
      fc.constantFrom(
        `Bearer ${KEYS.writeKey}x`,
        `Bearer ${KEYS.writeKey.slice(0, -1)}`,
        `Bearer  ${KEYS.writeKey.toUpperCase()}`,
        basic(`${KEYS.writeKey} `),
        `Digest ${KEYS.writeKey}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(routes, header, fc.boolean(), async (route, auth, garbage) => {
        const before = await queued(t);
        const res = await request(t.app)
          .post(route)
          .set('Authorization', auth)
          .set('Content-Type', 'application/json')
          .send(garbage ? '{"not json' : validBody(route));
        expectClientError(res, 401);
        expect(res.body.error).toBe('unauthorized');
        expect(await queued(t)).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });
});

function parses(json: string): boolean {
  try {
    JSON.parse(json);
    return true;
  } catch {
    return false;
  }
}
