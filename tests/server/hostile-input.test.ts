import request from 'supertest';
import { MAX_DEPTH } from '../../server/ingest/json-object';
import { basic, KEYS, startTestApp, type TestApp } from './fixture';

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => t.close());

/** Sends raw JSON text, as an attacker would: JSON.parse turns "__proto__" into an own key. */
const send = (path: string, json: string) =>
  request(t.app)
    .post(path)
    .set('Authorization', basic(KEYS.writeKey))
    .set('Content-Type', 'application/json')
    .send(json);

function expectCleanPrototypes() {
  const probe: Record<string, unknown> = {};
  expect(probe.polluted).toBeUndefined();
  expect(probe.isAdmin).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(Object.prototype).not.toHaveProperty('isAdmin');
}

describe('prototype pollution attempts', () => {
  test.each([
    [
      '__proto__ in properties',
      '/v1/track',
      '{"userId":"u","event":"e","properties":{"__proto__":{"polluted":"yes"}}}',
      'properties.__proto__',
    ],
    [
      'constructor.prototype in traits',
      '/v1/identify',
      '{"userId":"u","traits":{"constructor":{"prototype":{"polluted":"yes"}}}}',
      'traits.constructor',
    ],
    [
      '__proto__ deep inside an array in context',
      '/v1/track',
      '{"userId":"u","event":"e","context":{"items":[{"ok":1},{"a.b":{"__proto__":{"polluted":1}}}]}}',
      'context.items[1]["a.b"].__proto__',
    ],
    [
      '__proto__ in a batch context',
      '/v1/batch',
      '{"batch":[{"type":"track","userId":"u","event":"e"}],"context":{"__proto__":{"isAdmin":true}}}',
      'context.__proto__',
    ],
    [
      'prototype in a batch message',
      '/v1/batch',
      '{"batch":[{"type":"track","userId":"u","event":"e","properties":{"prototype":{}}}]}',
      'batch[0].properties.prototype',
    ],
  ])('%s is refused with its path; nothing queued, no prototype touched', async (_what, path, json, at) => {
    const res = await send(path, json);
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: at, message: expect.stringMatching(/is a reserved key$/) }]);
    expect(await t.jobs()).toHaveLength(0);
    expectCleanPrototypes();
  });

  test('__proto__ among the top-level fields is dropped like any unknown field', async () => {
    const res = await send(
      '/v1/track',
      '{"__proto__":{"isAdmin":true,"userId":"intruder"},"anonymousId":"a","event":"e","messageId":"m-top"}',
    );
    expect(res.status).toBe(202);
    const job = await t.job('m-top');
    expect(job!.data).not.toHaveProperty('userId');
    expect(Object.keys(job!.data)).not.toContain('__proto__');
    expect(Object.getPrototypeOf(job!.data)).toBe(Object.prototype);
    expectCleanPrototypes();
  });

  test('an item whose own __proto__ claims a supported type is still checked on its own fields', async () => {
    const res = await send(
      '/v1/batch',
      '{"batch":[{"__proto__":{"type":"track"},"userId":"u","event":"e"}]}',
    );
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([
      { path: 'batch[0].type', message: 'is required: one of "track", "identify"' },
    ]);
    expectCleanPrototypes();
  });
});

describe('deep nesting', () => {
  test(`refuses properties nested more than ${MAX_DEPTH} levels`, async () => {
    const json = `{"userId":"u","event":"e","properties":{"a":${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}}}`;
    const res = await send('/v1/track', json);
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([
      {
        path: `properties.a${'[0]'.repeat(MAX_DEPTH - 1)}`,
        message: `nested more than ${MAX_DEPTH} levels deep`,
      },
    ]);
  });

  test('takes nesting up to the limit', async () => {
    const json = `{"userId":"u","event":"e","properties":{"a":${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}}}`;
    expect((await send('/v1/track', json)).status).toBe(202);
  });

  test('a 100 000-level nesting bomb is a 400, not a crash', async () => {
    const depth = 100_000;
    const json = `{"userId":"u","event":"e","properties":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const res = await send('/v1/track', json);
    expect(res.status).toBe(400);
    expect(res.body.issues).toHaveLength(1);
    expect(await t.jobs()).toHaveLength(0);
  });
});
