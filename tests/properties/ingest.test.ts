import fc from 'fast-check';
import { MAX_DEPTH } from '../../server/ingest/json-object';
import {
  anyJson,
  anyKey,
  expectClientError,
  jsonObjectOf,
  postJson,
  queued,
  reported,
  RESERVED_KEYS,
  RUNS,
  safeKey,
  weirdString,
  usePropertyApp,
  type JsonPath,
} from './support';

/*
 * Property tests of the ingestion endpoints against the real app on a real BullMQ queue: whatever
 * a client sends, the answer is a 202 (and exactly the sent data is queued) or a 4xx with a
 * clear JSON message (and nothing is queued); never a 5xx, and no prototype is touched.
 */

const t = usePropertyApp();

type Endpoint = 'track' | 'identify' | 'batch';
const endpoints = fc.constantFrom<Endpoint>('track', 'identify', 'batch');

let seq = 0;
/** A messageId no other request of the run uses, so every accepted message is a new job. */
const nextId = () => `prop-${process.pid}-${++seq}`;

/** A message of the endpoint's type; in a batch, tracks and identifies alike. */
function messageFor(endpoint: Endpoint, fields: Record<string, unknown>, type: 'track' | 'identify') {
  return endpoint === 'batch' ? { batch: [{ type, ...fields }] } : fields;
}
const typeOf = (endpoint: Endpoint, pick: boolean): 'track' | 'identify' =>
  endpoint === 'batch' ? (pick ? 'track' : 'identify') : endpoint;
/** Where a message's fields are reported: at the root, or under `batch[i]`. */
const at = (endpoint: Endpoint, index = 0): JsonPath => (endpoint === 'batch' ? ['batch', index] : []);

const id = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.constantFrom("{{constructor.constructor('return process')()}}", '会员 42', 'a:b/c'),
);
const eventName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 60 }),
  fc.constantFrom('{{event}}', 'Order Completed'),
);

describe('any JSON at all', () => {
  test('is a 202 or a 4xx with a JSON message; a refused request queues nothing', async () => {
    // Message-shaped bodies too, each field right or wrong at random, so that some get through.
    const field = <T, U>(right: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
      fc.oneof({ arbitrary: right, weight: 6 }, { arbitrary: bad, weight: 1 });
    const data = fc.oneof(
      { arbitrary: jsonObjectOf(safeKey), weight: 3 },
      { arbitrary: jsonObjectOf(anyKey), weight: 1 },
    );
    const message = fc.record(
      {
        type: fc.constantFrom('track', 'identify', 'track', 'identify', 'page', 7),
        userId: field(id, wrong.id),
        event: field(eventName, wrong.event),
        properties: field(data, wrong.object),
        traits: field(data, wrong.object),
        context: field(data, wrong.object),
      },
      { requiredKeys: ['type', 'userId', 'event'] },
    );
    const body = fc.oneof(anyJson, message, fc.record({ batch: fc.array(message, { maxLength: 4 }) }));
    await fc.assert(
      fc.asyncProperty(endpoints, body, async (endpoint, body) => {
        const before = await queued(t);
        const res = await postJson(t, `/v1/${endpoint}`, JSON.stringify(body));
        expect(res.status).toBeLessThan(500);
        if (res.status === 202) {
          expect(await queued(t)).toBe(before + res.body.accepted);
        } else {
          expectClientError(res);
          expect(await queued(t)).toBe(before);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('valid but weird data', () => {
  test('is accepted and queued exactly as sent: injections, unicode, odd keys are only data', async () => {
    await fc.assert(
      fc.asyncProperty(
        endpoints,
        fc.boolean(),
        id,
        eventName,
        jsonObjectOf(safeKey),
        jsonObjectOf(safeKey),
        async (endpoint, pick, userId, event, data, context) => {
          const type = typeOf(endpoint, pick);
          const messageId = nextId();
          const fields =
            type === 'track'
              ? { userId, event, properties: data, context, messageId }
              : { userId, traits: data, context, messageId };
          const res = await postJson(
            t,
            `/v1/${endpoint}`,
            JSON.stringify(messageFor(endpoint, fields, type)),
          );
          expect(res.status).toBe(202);
          const job = await t.job(messageId);
          // What JSON can carry of what was sent (-0 and NaN do not survive any JSON).
          const sent = JSON.parse(JSON.stringify(fields));
          expect(job!.data).toMatchObject({ type, userId, messageId, context: sent.context });
          if (type === 'track') expect(job!.data).toMatchObject({ event, properties: sent.properties });
          else expect(job!.data).toMatchObject({ traits: sent.traits });
          expect(Object.getPrototypeOf(job!.data)).toBe(Object.prototype);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/** Wrongly typed (or out of range) values for each field a message can have. */
const wrong = {
  id: fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(''),
    fc.constant('x'.repeat(257)),
    fc.array(fc.string(), { maxLength: 2 }),
    jsonObjectOf(safeKey),
  ),
  event: fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(''),
    fc.constant('e'.repeat(201)),
    fc.array(fc.string(), { maxLength: 2 }),
  ),
  object: fc.oneof(weirdString, fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 })),
  timestamp: fc.oneof(
    fc.constantFrom('soon', '2024-13-45T00:00:00Z', '2024-05-01T12:00:00', '1714564800', ''),
    fc.integer(),
    fc.boolean(),
  ),
  type: fc.oneof(
    fc.constantFrom('page', 'screen', 'group', 'alias', 'TRACK', ''),
    fc.integer(),
    fc.constant(null),
  ),
};
const fieldsOf = {
  track: {
    userId: wrong.id,
    anonymousId: wrong.id,
    messageId: wrong.id,
    event: wrong.event,
    properties: wrong.object,
    context: wrong.object,
    timestamp: wrong.timestamp,
  },
  identify: {
    userId: wrong.id,
    anonymousId: wrong.id,
    messageId: wrong.id,
    traits: wrong.object,
    context: wrong.object,
    timestamp: wrong.timestamp,
  },
};

describe('wrongly typed fields', () => {
  test('are a 400 naming every bad field, and a bad message anywhere in a batch queues nothing', async () => {
    const corruption = fc.boolean().chain((pick) =>
      fc.record({
        pick: fc.constant(pick),
        fields: fc
          .subarray(Object.keys(fieldsOf[pick ? 'track' : 'identify']), { minLength: 1, maxLength: 3 })
          .chain((names) =>
            fc.tuple(
              ...names.map((name) =>
                fc.tuple(
                  fc.constant(name),
                  (fieldsOf[pick ? 'track' : 'identify'] as Record<string, fc.Arbitrary<unknown>>)[name]!,
                ),
              ),
            ),
          ),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        endpoints,
        corruption,
        fc.integer({ min: 0, max: 4 }),
        fc.option(wrong.type, { freq: 4 }),
        async (endpoint, { pick, fields }, position, badType) => {
          const type = endpoint === 'batch' ? (pick ? 'track' : 'identify') : endpoint;
          // Only corrupt fields the message type has (track and identify differ).
          const corrupt = fields.filter(([name]) => name in fieldsOf[type]);
          if (corrupt.length === 0) return;
          const valid = (n: number) =>
            type === 'track'
              ? { type, userId: `u-${n}`, event: 'e', messageId: nextId() }
              : { type, userId: `u-${n}`, traits: { n }, messageId: nextId() };
          const bad: Record<string, unknown> = { ...valid(position) };
          for (const [name, value] of corrupt) bad[name] = value;
          if (badType !== null && endpoint === 'batch') bad.type = badType;

          let body: unknown;
          let index = 0;
          if (endpoint === 'batch') {
            const batch = Array.from({ length: position + 1 }, (_, n) => valid(n));
            index = position;
            batch[index] = bad as ReturnType<typeof valid>;
            body = { batch };
          } else {
            const { type: _type, ...single } = bad;
            body = single;
          }
          const before = await queued(t);
          const res = await postJson(t, `/v1/${endpoint}`, JSON.stringify(body));
          expectClientError(res, 400);
          expect(res.body.error).toBe('invalid_request');
          const paths = res.body.issues.map((i: { path: string }) => i.path);
          // A message of an unknown type is reported as that alone; else every bad field is named.
          const expected =
            badType !== null && endpoint === 'batch'
              ? [reported([...at(endpoint, index), 'type'])]
              : corrupt.map(([name]) => reported([...at(endpoint, index), name]));
          for (const path of expected) expect(paths).toContain(path);
          expect(await queued(t)).toBe(before);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('prototype pollution keys at any depth', () => {
  test('are refused with the exact path of the key; nothing is queued, no prototype changes', async () => {
    const step = fc.oneof(safeKey, fc.constant(0));
    await fc.assert(
      fc.asyncProperty(
        endpoints,
        fc.boolean(),
        fc.constantFrom('data', 'context', 'batchContext'),
        jsonObjectOf(safeKey),
        fc.tuple(safeKey, fc.array(step, { maxLength: 5 })),
        fc.constantFrom(...RESERVED_KEYS),
        fc.oneof(jsonObjectOf(anyKey), weirdString),
        async (endpoint, pick, where, tree, [first, rest], reserved, payload) => {
          const route: [string, ...(string | 0)[]] = [first, ...rest];
          const type = typeOf(endpoint, pick);
          const container = where === 'data' ? (type === 'track' ? 'properties' : 'traits') : 'context';
          const hostile = withReserved(tree, [...route], reserved, {
            polluted: true,
            isAdmin: true,
            payload,
          });
          const message: Record<string, unknown> =
            type === 'track'
              ? { userId: 'u', event: 'e', messageId: nextId() }
              : { userId: 'u', messageId: nextId() };
          let body: Record<string, unknown>;
          let path: JsonPath;
          if (where === 'batchContext' && endpoint === 'batch') {
            body = { batch: [{ type, ...message }], context: hostile };
            path = ['context', ...route, reserved];
          } else {
            message[container] = hostile;
            body = messageFor(endpoint, message, type);
            path = [...at(endpoint), container, ...route, reserved];
          }
          const before = await queued(t);
          const res = await postJson(t, `/v1/${endpoint}`, JSON.stringify(body));
          expectClientError(res, 400);
          expect(res.body.issues).toEqual([
            { path: reported(path), message: `"${reserved}" is a reserved key` },
          ]);
          expect(await queued(t)).toBe(before);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  test('top-level __proto__ and constructor are dropped like unknown fields, never merged', async () => {
    await fc.assert(
      fc.asyncProperty(endpoints, fc.boolean(), jsonObjectOf(anyKey), async (endpoint, pick, junk) => {
        const type = typeOf(endpoint, pick);
        const messageId = nextId();
        const fields: Record<string, unknown> =
          type === 'track' ? { anonymousId: 'a', event: 'e', messageId } : { anonymousId: 'a', messageId };
        for (const key of ['__proto__', 'constructor'])
          Object.defineProperty(fields, key, {
            value: { ...junk, userId: 'intruder', isAdmin: true },
            enumerable: true,
          });
        const res = await postJson(t, `/v1/${endpoint}`, JSON.stringify(messageFor(endpoint, fields, type)));
        expect(res.status).toBe(202);
        const job = await t.job(messageId);
        expect(job!.data.userId).toBeUndefined();
        expect(Object.keys(job!.data)).not.toContain('__proto__');
        expect(Object.keys(job!.data)).not.toContain('constructor');
      }),
      { numRuns: RUNS / 2 },
    );
  });
});

/**
 * `tree` plus, under `first`, a path of keys (or `0`: through a one-element array) ending in the
 * `reserved` key holding `payload`. Keys are defined, not assigned, as JSON.parse does.
 */
function withReserved(
  tree: Record<string, unknown>,
  [first, ...route]: [string, ...(string | 0)[]],
  reserved: string,
  payload: unknown,
): Record<string, unknown> {
  let node: unknown = own({}, reserved, payload);
  for (const step of route.reverse()) node = step === 0 ? [node] : own({}, step, node);
  return own({ ...tree }, first, node);
}

function own(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

describe('deep nesting', () => {
  test(`is taken below ${MAX_DEPTH} levels and refused from there, with the path where it went too deep`, async () => {
    const depth = fc.oneof(
      fc.integer({ min: 1, max: MAX_DEPTH + 8 }),
      fc.constantFrom(MAX_DEPTH - 1, MAX_DEPTH, 1_000, 50_000),
    );
    await fc.assert(
      fc.asyncProperty(
        endpoints,
        fc.boolean(),
        fc.boolean(),
        depth,
        fc.integer(),
        async (endpoint, pick, inContext, k, seed) => {
          const type = typeOf(endpoint, pick);
          const container = inContext ? 'context' : type === 'track' ? 'properties' : 'traits';
          // Level i is an array when bit i of a little generator's output is set, else {"n": ...}.
          const arrays: boolean[] = [];
          for (let i = 0, x = seed | 1; i < k; i++)
            arrays.push(((x = (x * 1103515245 + 12345) | 0) & 0x10000) !== 0);
          const open = arrays.map((a) => (a ? '[' : '{"n":')).join('');
          const nested =
            open +
            '1' +
            [...arrays]
              .reverse()
              .map((a) => (a ? ']' : '}'))
              .join('');
          const messageId = nextId();
          const head = type === 'track' ? `"userId":"u","event":"e"` : `"userId":"u"`;
          const message = `{${head},"messageId":"${messageId}","${container}":{"a":${nested}}}`;
          const json = endpoint === 'batch' ? `{"batch":[{"type":"${type}",${message.slice(1)}]}` : message;
          const res = await postJson(t, `/v1/${endpoint}`, json);
          if (k < MAX_DEPTH) {
            expect(res.status).toBe(202);
            expect(await t.job(messageId)).toBeDefined();
            return;
          }
          expectClientError(res, 400);
          // The container at depth MAX_DEPTH below `container` is where it is cut off.
          const steps = arrays.slice(0, MAX_DEPTH - 1).map((a) => (a ? 0 : 'n'));
          expect(res.body.issues).toEqual([
            {
              path: reported([...at(endpoint), container, 'a', ...steps]),
              message: `nested more than ${MAX_DEPTH} levels deep`,
            },
          ]);
          expect(await t.job(messageId)).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  });
});
