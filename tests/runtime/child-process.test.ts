import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPidAlive, pickPort, run, spawnServer, terminate, withFileLock } from '../../runtime/child-process';

let root: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'touchpoint-child-'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

test('withFileLock runs holders one at a time', async () => {
  const lock = path.join(root, 'serial.lock');
  const events: string[] = [];
  const holder = (name: string) =>
    withFileLock(lock, async () => {
      events.push(`${name} in`);
      await sleep(300);
      events.push(`${name} out`);
    });
  await Promise.all([holder('a'), holder('b')]);
  expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
  await expect(fs.stat(lock)).rejects.toThrow(/ENOENT/);
});

test('withFileLock takes over a lock left by a dead process', async () => {
  const lock = path.join(root, 'stale.lock');
  const { stdout } = await run('sh', ['-c', 'echo $$']); // a pid that has exited by now
  await fs.writeFile(lock, stdout.trim());
  await expect(withFileLock(lock, async () => 'got it', { timeoutMs: 2_000 })).resolves.toBe('got it');
});

test('pickPort keeps a free preferred port and replaces a busy one', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const { port } = busy.address() as net.AddressInfo;
  try {
    const other = await pickPort(port);
    expect(other).not.toBe(port);
    expect(await pickPort(other)).toBe(other);
  } finally {
    busy.close();
  }
});

test('terminate stops a server that ignores SIGTERM with SIGKILL', async () => {
  const { pid } = await spawnServer('sh', ['-c', 'trap "" TERM; while true; do sleep 0.1; done'], {
    logFile: path.join(root, 'stubborn.log'),
    detached: false,
  });
  await sleep(100); // let the shell install its trap
  const started = Date.now();
  await terminate(pid, 500);
  expect(isPidAlive(pid)).toBe(false);
  expect(Date.now() - started).toBeGreaterThanOrEqual(500);
});
