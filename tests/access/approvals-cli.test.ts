import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createAccessServices } from '../../access/services';
import { JourneyLifecycle } from '../../registry/lifecycle';
import { cli } from '../cli/support';
import { testStore, waitingJourney } from '../registry/support';
import { KEYS, startTestApp, type TestApp } from '../server/fixture';

/*
 * Four-eyes from the command line: `touchpoint publish` says the publish awaits approval (and
 * publishes nothing); `touchpoint approvals list|approve|reject` by another person publishes it.
 */

let reg: ReturnType<typeof testStore>;
let app: TestApp;
let server: Server;
let url: string;
let dir: string;

beforeAll(async () => {
  reg = testStore();
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  app = await startTestApp({
    registry: { store: reg.store, lifecycle: new JourneyLifecycle({ store: reg.store, temporal }) },
    accessServices: createAccessServices({
      redis: reg.redis,
      keyPrefix: reg.prefix,
      secret: Buffer.from('approvals-cli-test'),
      publishApproval: 'required',
    }),
  });
  server = app.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-approvals-cli-'));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await app.close();
  await reg.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[], key: string) => cli([...args, '--url', url, '--key', key]);

async function publisher(name: string): Promise<string> {
  const created = await run(['keys', 'create', '--name', name, '--role', 'publisher'], KEYS.adminKey);
  expect(created.code).toBe(0);
  return /^ {2}(tp_publisher_\S+)$/m.exec(created.out)![1]!;
}

test('publish awaits approval; the requester may not approve; another publisher approves, once', async () => {
  const alice = await publisher('Alice');
  const bob = await publisher('Bob');
  const file = path.join(dir, 'welcome.yaml');
  fs.writeFileSync(file, waitingJourney('welcome', { name: 'Welcome v1' }));

  const published = await run(['publish', file], alice);
  expect(published.code).toBe(0);
  const id = /^publish of welcome awaits approval (a_\S+) \(four-eyes\)/m.exec(published.out)?.[1];
  expect(id).toBeDefined();
  expect(published.out).toContain(`touchpoint approvals approve ${id}`);
  expect(await reg.store.versions('welcome')).toEqual([]);

  const listed = await run(['approvals', 'list'], bob);
  expect(listed.code).toBe(0);
  expect(listed.out).toMatch(new RegExp(`^${id}\\s+welcome\\s+pending\\s+Alice\\s`, 'm'));

  const own = await run(['approvals', 'approve', id!], alice);
  expect(own.code).not.toBe(0);
  expect(own.err).toContain('409');

  const approved = await run(['approvals', 'approve', id!, '--note', 'checked'], bob);
  expect(approved.code).toBe(0);
  expect(approved.out).toBe(`approved ${id}: published welcome version 1, status published\n`);
  expect((await reg.store.versions('welcome')).map((v) => v.version)).toEqual([1]);

  const again = await run(['approvals', 'approve', id!], bob);
  expect(again.code).not.toBe(0);
  expect((await run(['approvals', 'list'], bob)).out).toBe('(no pending approvals)\n');
});

test('reject needs a reason and publishes nothing', async () => {
  const carol = await publisher('Carol');
  const dan = await publisher('Dan');
  const file = path.join(dir, 'reminder.yaml');
  fs.writeFileSync(file, waitingJourney('reminder', { name: 'Reminder' }));
  const id = /awaits approval (a_\S+)/.exec((await run(['publish', file], carol)).out)![1]!;

  const noReason = await run(['approvals', 'reject', id], dan);
  expect(noReason.code).not.toBe(0);
  expect(noReason.err).toContain("required option '--reason <text>' not specified");
  const rejected = await run(['approvals', 'reject', id, '--reason', 'wrong coupon'], dan);
  expect(rejected.code).toBe(0);
  expect(rejected.out).toBe(`rejected ${id} (reminder)\n`);
  expect(await reg.store.versions('reminder')).toEqual([]);
  const list = JSON.parse((await run(['approvals', 'list', '--status', 'rejected', '--json'], dan)).out) as {
    approvals: { id: string; status: string }[];
  };
  expect(list.approvals).toEqual([expect.objectContaining({ id, status: 'rejected' })]);
});
