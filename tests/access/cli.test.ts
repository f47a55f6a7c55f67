import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { createAccessServices } from '../../access/services';
import { cli } from '../cli/support';
import { KEYS, startTestApp, type TestApp } from '../server/fixture';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

/*
 * `touchpoint keys list|create|rotate|revoke` against the key API of an app on a real port, with
 * the key store on the test Redis.
 */

let redis: Redis;
let prefix: string;
let app: TestApp;
let server: Server;
let url: string;

beforeAll(async () => {
  redis = testRedis();
  prefix = uniquePrefix('keys-cli');
  app = await startTestApp({
    accessServices: createAccessServices({ redis, keyPrefix: prefix, secret: Buffer.from('cli-test') }),
  });
  server = app.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await app.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const keys = (args: string[], key = KEYS.adminKey) => cli(['keys', ...args, '--url', url, '--key', key]);
const status = async (key: string) =>
  (await fetch(`${url}/v1/journeys`, { headers: { authorization: `Bearer ${key}` } })).status;

test('create prints the secret once; list shows the key without it; rotate and revoke act at once', async () => {
  const created = await keys(['create', '--name', 'Li Na', '--role', 'marketer']);
  expect(created.code).toBe(0);
  const id = /^created (k_\S+) \(marketer\) for Li Na$/m.exec(created.out)?.[1];
  const secret = /^ {2}(tp_marketer_\S+)$/m.exec(created.out)?.[1];
  expect(id).toBeDefined();
  expect(secret).toBeDefined();
  expect(created.out).toContain('shown only now');
  expect(await status(secret!)).toBe(200);

  const list = await keys(['list']);
  expect(list.code).toBe(0);
  expect(list.out).toMatch(new RegExp(`^${id}\\s+marketer\\s+active\\s+-\\s+Li Na$`, 'm'));
  expect(list.out).not.toContain(secret!);
  const json = JSON.parse((await keys(['list', '--json'])).out) as {
    keys: { id: string; createdBy: string }[];
  };
  expect(json.keys).toEqual([expect.objectContaining({ id, createdBy: 'admin' })]);

  const rotated = await keys(['rotate', id!, '--grace', '60']);
  expect(rotated.code).toBe(0);
  expect(rotated.out).toMatch(new RegExp(`^rotated ${id}; the old secret works until \\S+Z$`, 'm'));
  const newSecret = /^ {2}(tp_marketer_\S+)$/m.exec(rotated.out)?.[1];
  expect(newSecret).not.toBe(secret);
  expect(await status(secret!)).toBe(200);
  expect(await status(newSecret!)).toBe(200);
  expect((await keys(['list'])).out).toContain('old secret until');

  const noReason = await keys(['revoke', id!]);
  expect(noReason.code).not.toBe(0);
  expect(noReason.err).toContain("required option '--reason <text>' not specified");
  const revoked = await keys(['revoke', id!, '--reason', 'left']);
  expect(revoked.code).toBe(0);
  expect(revoked.out).toMatch(new RegExp(`^revoked ${id} \\(Li Na\\) at \\S+$`, 'm'));
  expect(await status(secret!)).toBe(401);
  expect(await status(newSecret!)).toBe(401);
  expect((await keys(['list'])).out).toMatch(new RegExp(`^${id}\\s+marketer\\s+revoked`, 'm'));
});

test('a key whose role may not manage keys: the 403 and what to do; a bad role is refused locally', async () => {
  const created = await keys(['create', '--name', 'auditor', '--role', 'auditor']);
  const secret = /^ {2}(tp_auditor_\S+)$/m.exec(created.out)![1]!;
  const run = await keys(['list'], secret);
  expect(run.code).toBe(1);
  expect(run.err).toContain('answered 403 forbidden: role auditor may not keys:manage');
  expect(run.err).toContain('its role may not do this');

  const bad = await keys(['create', '--name', 'x', '--role', 'root']);
  expect(bad.code).not.toBe(0);
  expect(bad.err).toContain('Allowed choices are ingest, marketer, publisher, operator, auditor, admin');

  const unknown = await keys(['rotate', 'k_nope']);
  expect(unknown.code).toBe(1);
  expect(unknown.err).toContain('answered 404 not_found: no API key "k_nope"');
});
