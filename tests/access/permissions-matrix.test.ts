import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { parse } from 'yaml';
import { isRole, PERMISSIONS, ROLES, roleCan, type Permission, type Role } from '../../access/permissions';
import { loadSettings, projectRoot } from '../../config/settings';
import { startTouchpoint, type Touchpoint } from '../../main/touchpoint';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { createDevServerEnv } from '../support/temporal';
import { redisSnapshot, snapshotChanges } from './support';

/*
 * The 403 matrix: for every operation in docs/openapi.yaml, read its `x-touchpoint-permission`,
 * and for every role whose permissions lack it, send the operation (with its documented example
 * body) with a key of that role: the answer is 403, nothing in Redis changed (every key's type and
 * value under the installation's prefixes, before and after) and no workflow started. The app is
 * the real one (main/touchpoint.ts, api role) on the test Redis and a Temporal dev server.
 *
 * So that the check itself can fail, a few mutating operations are then sent by a role that has
 * the permission, with the same request: Redis changes.
 */

const ADMIN_KEY = 'matrix-admin-key';
const WRITE_KEY = 'matrix-write-key';
const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;

interface Operation {
  method: (typeof METHODS)[number];
  template: string;
  permission: Permission | 'public' | undefined;
  /** The documented example body (requestBody application/json `example`, or the first of `examples`). */
  example?: unknown;
  /** Documents `?reveal=true`. */
  reveals: boolean;
}

interface OpenApi {
  paths: Record<string, Record<string, unknown>>;
}

function operations(spec: OpenApi): Operation[] {
  const found: Operation[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Record<string, unknown> | undefined;
      if (!op) continue;
      const json = (
        op.requestBody as {
          content?: Record<string, { example?: unknown; examples?: Record<string, { value?: unknown }> }>;
        }
      )?.content?.['application/json'];
      const example = json?.example ?? Object.values(json?.examples ?? {})[0]?.value;
      const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])];
      found.push({
        method,
        template,
        permission: op['x-touchpoint-permission'] as Operation['permission'],
        ...(example !== undefined ? { example } : {}),
        reveals: params.some(
          (p) =>
            (p as { $ref?: string }).$ref === '#/components/parameters/Reveal' ||
            (p as { name?: string }).name === 'reveal',
        ),
      });
    }
  }
  return found;
}

/** A concrete URL for a path template: a journey that exists, a channel, `x` for other ids. */
function urlOf(template: string): string {
  return template
    .replace(/\{id\}/g, 'quick-browse')
    .replace(/\{version\}/g, '1')
    .replace(/\{channel\}/g, 'sms')
    .replace(/\{[^}]+\}/g, 'x');
}

let env: TestWorkflowEnvironment;
let dir: string;
let keyPrefix: string;
let queuePrefix: string;
let redis: Redis;
let app: Touchpoint & { url: string };
let spec: OpenApi;
const keys = new Map<Role, string>();

beforeAll(async () => {
  env = await createDevServerEnv();
  dir = await mkdtemp(path.join(tmpdir(), 'tp-matrix-'));
  keyPrefix = uniquePrefix('matrix');
  queuePrefix = `${keyPrefix}-bull`;
  redis = testRedis();
  const settings = loadSettings({
    PORT: '0',
    TOUCHPOINT_DATA_DIR: path.join(dir, 'data'),
    TOUCHPOINT_JOURNEYS_DIR: path.join(projectRoot, 'tests/fixtures/journeys'),
    REDIS_URL: testRedisUrl(),
    TEMPORAL_ADDRESS: env.address,
    TOUCHPOINT_KEY_PREFIX: keyPrefix,
    TOUCHPOINT_QUEUE_PREFIX: queuePrefix,
    TOUCHPOINT_ADMIN_KEY: ADMIN_KEY,
    TOUCHPOINT_WRITE_KEY: WRITE_KEY,
    // Four-eyes on: a publish is a request for approval (its wiring in main/touchpoint.ts is tested below).
    TOUCHPOINT_PUBLISH_APPROVAL: 'required',
  });
  const touchpoint = await startTouchpoint(settings, new Set(['api']), pino({ level: 'silent' }));
  app = { ...touchpoint, url: `http://127.0.0.1:${touchpoint.port}` };
  spec = parse(await readFile(path.join(projectRoot, 'docs/openapi.yaml'), 'utf8')) as OpenApi;

  // One key per role, made through the key API (before any snapshot is taken).
  for (const role of ROLES) {
    const res = await fetch(`${app.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `matrix ${role}`, role }),
    });
    expect(res.status).toBe(201);
    keys.set(role, ((await res.json()) as { secret: string }).secret);
  }
});

afterAll(async () => {
  await app?.stop();
  await deleteKeys(redis, keyPrefix);
  await deleteKeys(redis, queuePrefix);
  await redis.quit();
  await env?.teardown();
  await rm(dir, { recursive: true, force: true });
});

async function send(op: Operation, role: Role, { reveal = false } = {}) {
  const hasBody = op.method !== 'get';
  const url = `${app.url}${urlOf(op.template)}${reveal ? '?reveal=true' : ''}`;
  const res = await fetch(url, {
    method: op.method.toUpperCase(),
    redirect: 'manual',
    headers: {
      authorization: `Bearer ${keys.get(role)}`,
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
    },
    ...(hasBody ? { body: JSON.stringify(op.example ?? {}) } : {}),
  });
  return { status: res.status, text: await res.text() };
}

const snapshot = () => redisSnapshot(redis, keyPrefix, queuePrefix);

async function workflowCount(): Promise<number> {
  const { count } = await env.client.workflowService.countWorkflowExecutions({
    namespace: 'default',
    query: '',
  });
  return Number(count ?? 0);
}

test('every documented operation names its permission, and every permission is one of the policy', () => {
  const all = operations(spec);
  expect(all.length).toBeGreaterThan(50);
  const unnamed = all.filter((op) => op.permission === undefined).map((op) => `${op.method} ${op.template}`);
  expect(unnamed).toEqual([]);
  const unknown = all
    .filter(
      (op) => op.permission !== 'public' && !(PERMISSIONS as readonly string[]).includes(op.permission!),
    )
    .map((op) => `${op.method} ${op.template}: ${op.permission}`);
  expect(unknown).toEqual([]);
  expect(ROLES.every(isRole)).toBe(true);
});

test('every role lacking an operation’s permission gets 403, and nothing changes', async () => {
  const workflowsBefore = await workflowCount();
  // The installation's state is there to be compared: seeded journey, keys, audit log, queues.
  expect(Object.keys(await snapshot()).length).toBeGreaterThan(10);
  const failures: string[] = [];
  let checked = 0;
  for (const op of operations(spec)) {
    if (!op.permission || op.permission === 'public') continue;
    const permission = op.permission;
    const refused = ROLES.filter((role) => !roleCan(role, permission));
    // Roles that may use the route but not reveal personal data: `?reveal=true` is theirs to be refused.
    const unrevealed = op.reveals
      ? ROLES.filter((role) => roleCan(role, permission) && !roleCan(role, 'personal-data:reveal'))
      : [];
    if (refused.length === 0 && unrevealed.length === 0) continue;

    const before = await snapshot();
    const answers = [
      ...(await Promise.all(
        refused.map(async (role) => ({ role, reveal: false, ...(await send(op, role)) })),
      )),
      ...(await Promise.all(
        unrevealed.map(async (role) => ({ role, reveal: true, ...(await send(op, role, { reveal: true })) })),
      )),
    ];
    const changes = snapshotChanges(before, await snapshot());
    for (const answer of answers) {
      checked++;
      if (answer.status !== 403)
        failures.push(
          `${op.method.toUpperCase()} ${op.template}${answer.reveal ? '?reveal=true' : ''} as ${answer.role}: ${answer.status} ${answer.text.slice(0, 200)}`,
        );
      else expect(JSON.parse(answer.text)).toMatchObject({ error: 'forbidden' });
    }
    if (changes.length > 0)
      failures.push(`${op.method.toUpperCase()} ${op.template}: Redis changed: ${changes.join(', ')}`);
  }
  expect(failures).toEqual([]);
  // ingest lacks nearly everything: hundreds of refusals across the document.
  expect(checked).toBeGreaterThan(150);

  // Visibility lags a moment behind a start: look again after it would have caught up.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await workflowCount()).toBe(workflowsBefore);
});

test('the check can fail: the same requests by a role that has the permission change Redis', async () => {
  const find = (method: Operation['method'], template: string) => {
    const op = operations(spec).find((o) => o.method === method && o.template === template);
    if (!op) throw new Error(`${method} ${template} is not documented`);
    return op;
  };
  const cases: [Operation, Role][] = [
    [find('post', '/v1/track'), 'ingest'],
    [find('post', '/v1/consent'), 'ingest'],
    [find('post', '/v1/journeys/{id}/pause'), 'publisher'],
    [find('post', '/v1/keys'), 'admin'],
  ];
  for (const [op, role] of cases) {
    expect(roleCan(role, op.permission as Permission)).toBe(true);
    const before = await snapshot();
    const answer = await send(op, role);
    expect([`${op.template} ${answer.status}`]).toEqual([expect.stringMatching(/ 20[0-2]$/)]);
    expect(snapshotChanges(before, await snapshot()).length).toBeGreaterThan(0);
  }
});

test('TOUCHPOINT_PUBLISH_APPROVAL=required: a publisher’s publish waits for approval (202), nothing published', async () => {
  const source = await readFile(path.join(projectRoot, 'tests/fixtures/journeys/quick-browse.yaml'), 'utf8');
  const changed = source.replace(/^name: (.*)$/m, 'name: $1 (reviewed)');
  expect(changed).not.toBe(source);
  const res = await fetch(`${app.url}/v1/journeys/quick-browse/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.get('publisher')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ source: changed }),
  });
  expect(res.status).toBe(202);
  const { approval } = (await res.json()) as {
    approval: { id: string; status: string; requestedBy: string };
  };
  expect(approval).toMatchObject({ status: 'pending', requestedBy: 'matrix publisher' });
  const versions = await fetch(`${app.url}/v1/journeys/quick-browse/versions`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  expect(((await versions.json()) as { versions: unknown[] }).versions).toHaveLength(1);
});
