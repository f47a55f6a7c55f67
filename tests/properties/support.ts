import fc from 'fast-check';
import request from 'supertest';
import { formatPath } from '../../server/errors';
import type { AppDeps } from '../../server/app';
import { basic, KEYS, startTestApp, type TestApp } from '../server/fixture';

/*
 * Generators and checks shared by the property tests: hostile keys and strings, JSON trees,
 * raw-JSON requests, and the invariants every answer must keep.
 */

/** Runs per property: enough to find the odd case, few enough for a fast suite. */
export const RUNS = 40;

export const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Strings that would do something if a template engine, shell or browser evaluated them. */
export const INJECTIONS = [
  "{{constructor.constructor('return process')()}}",
  "{{constructor.constructor('globalThis.__drillPwned = 1')()}}",
  '{{#with "s" as |string|}}{{{string.sub.apply 0 "constructor"}}}{{/with}}',
  '{{lookup this "constructor"}}',
  '{{> evil}}',
  '{{{customer.name}}}',
  '{{log "leak"}}',
  '{{__proto__.polluted}}',
  '${process.exit(1)}',
  '#{7*7}',
  '<%= 7*7 %>',
  '<script>alert(1)</script>',
  "'; DROP TABLE customers; --",
  '$(rm -rf /)',
] as const;

/** Any text a client might send: injections, unicode (lone surrogates too), control characters. */
export const weirdString = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** Object keys that are not reserved but often trip code: Object.prototype's names, odd text. */
export const oddKey = fc.oneof(
  fc.constantFrom('toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf', 'then'),
  fc.constantFrom('', ' ', 'a.b', '[0]', '{{x}}', '$where', '会员', 'length'),
  fc.string({ maxLength: 10 }),
);
export const safeKey = oddKey.filter((k) => !(RESERVED_KEYS as readonly string[]).includes(k));
export const anyKey = fc.oneof(fc.constantFrom(...RESERVED_KEYS), oddKey);

const scalar = fc.oneof(weirdString, fc.double(), fc.integer(), fc.boolean(), fc.constant(null));

/** A JSON object tree whose keys come from `key`, at most a few levels deep. */
export function jsonObjectOf(key: fc.Arbitrary<string>): fc.Arbitrary<Record<string, unknown>> {
  const tree = fc.letrec<{ value: unknown; object: Record<string, unknown>; array: unknown[] }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 3 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  }));
  return tree.object;
}

/** Any JSON value at all, with hostile keys anywhere. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  jsonObjectOf(anyKey),
  fc.array(jsonObjectOf(anyKey), { maxLength: 3 }),
  scalar,
);

/** POSTs raw JSON text (so `__proto__` arrives as an own key, as from a real client). */
export function postJson(t: TestApp, path: string, json: string, auth = basic(KEYS.writeKey)) {
  return request(t.app)
    .post(path)
    .set('Authorization', auth)
    .set('Content-Type', 'application/json')
    .send(json);
}

/** Jobs on the events queue, whatever their state. */
export const queued = (t: TestApp) => t.queue.getJobCountByTypes('waiting', 'delayed', 'prioritized');

/** Own property names of the built-in prototypes, to prove none was added or replaced. */
export function prototypeSnapshot(): string {
  return [Object, Array, Function, String, Number, Boolean, Promise]
    .map((C) => Object.getOwnPropertyNames(C.prototype).sort().join(','))
    .join('|');
}

export function expectCleanPrototypes(before: string): void {
  expect(prototypeSnapshot()).toBe(before);
  const probe = {} as Record<string, unknown>;
  for (const name of ['polluted', 'isAdmin', '__drillPwned']) {
    expect(probe[name]).toBeUndefined();
    expect((globalThis as Record<string, unknown>)[name]).toBeUndefined();
  }
}

/** Every property file: the built-in prototypes snapshotted first, and checked after each test. */
export function keepPrototypesClean(): void {
  let prototypes: string;
  beforeAll(() => {
    prototypes = prototypeSnapshot();
  });
  afterEach(() => expectCleanPrototypes(prototypes));
}

/**
 * The setup of the HTTP property files: clean prototypes, and the app started once for the file;
 * at the end no request may have failed inside the server. The returned app is filled in before
 * the tests run.
 */
export function usePropertyApp(overrides: Partial<AppDeps> = {}): TestApp {
  const t = {} as TestApp;
  keepPrototypesClean();
  beforeAll(async () => {
    Object.assign(t, await startTestApp(overrides));
  });
  afterAll(async () => {
    expect(t.logs.filter((line) => line.includes('"request failed"'))).toEqual([]);
    await t.close();
  });
  return t;
}

/**
 * A client error as the API promises it: a 4xx with a JSON body naming the error and saying
 * why; for invalid fields, every issue with a path and a message.
 */
export function expectClientError(res: request.Response, status?: number): void {
  if (status !== undefined) expect(res.status).toBe(status);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual(
    expect.objectContaining({ error: expect.any(String), message: expect.any(String) }),
  );
  expect(res.body.message.length).toBeGreaterThan(0);
  if (res.body.error === 'invalid_request') {
    expect(res.body.issues.length).toBeGreaterThan(0);
    for (const issue of res.body.issues)
      expect(issue).toEqual({ path: expect.any(String), message: expect.any(String) });
  }
}

/** A path into a JSON value, and the same path as the API reports it. */
export type JsonPath = (string | number)[];
export const reported = (path: JsonPath) => formatPath(path);
