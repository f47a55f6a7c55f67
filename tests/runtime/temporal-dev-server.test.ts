import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import pino from 'pino';
import { isPidAlive } from '../../runtime/child-process';
import { searchAttributeKeys, stepKey } from '../../runtime/search-attributes';
import { startTemporalDevServer, type TemporalDevServerOptions } from '../../runtime/temporal-dev-server';

const logger = pino({ level: 'silent' });
let root: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'touchpoint-temporal-'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function options(dataDir: string, extra: Partial<TemporalDevServerOptions> = {}): TemporalDevServerOptions {
  return {
    dataDir,
    cliPath: process.env.TEMPORAL_CLI,
    namespace: 'default',
    logger,
    detached: false,
    ...extra,
  };
}

async function withConnection<T>(address: string, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await fn(connection);
  } finally {
    await connection.close();
  }
}

/** Touchpoint's attributes as the server lists them, name → IndexedValueType. */
async function touchpointAttributes(address: string): Promise<Record<string, unknown>> {
  const { customAttributes } = await withConnection(address, (c) =>
    c.operatorService.listSearchAttributes({ namespace: 'default' }),
  );
  return Object.fromEntries(
    Object.entries(customAttributes ?? {}).filter(([name]) => name.startsWith('Touchpoint')),
  );
}

const expectedAttributes = Object.fromEntries(
  searchAttributeKeys.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)]),
);

/** Holds a port on 127.0.0.1 the way some other program would. */
async function occupyPort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('starts on free ports with its db in dataDir and the search attributes; a second start reuses it', async () => {
  const dataDir = path.join(root, 'reuse');
  const [busyPort, busyUiPort] = [await occupyPort(), await occupyPort()];
  const server = await startTemporalDevServer(
    options(dataDir, { port: busyPort.port, uiPort: busyUiPort.port }),
  );
  try {
    expect(server.reused).toBe(false);
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.address).not.toBe(`127.0.0.1:${busyPort.port}`);
    expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.uiUrl).not.toContain(`:${busyUiPort.port}`);
    expect((await fs.stat(path.join(dataDir, 'temporal.db'))).isFile()).toBe(true);
    const state = JSON.parse(await fs.readFile(path.join(dataDir, 'temporal.json'), 'utf8'));
    expect(state).toEqual({ pid: expect.any(Number), address: server.address, uiUrl: server.uiUrl });
    expect(await touchpointAttributes(server.address)).toEqual(expectedAttributes);
    expect((await fetch(server.uiUrl!)).status).toBe(200);

    const again = await startTemporalDevServer(options(dataDir));
    expect(again).toMatchObject({ reused: true, address: server.address, uiUrl: server.uiUrl });

    await again.stop();
    expect(isPidAlive(state.pid)).toBe(false);
    await expect(fs.stat(path.join(dataDir, 'temporal.json'))).rejects.toThrow(/ENOENT/);
  } finally {
    await server.stop(); // a no-op when already stopped
    await busyPort.release();
    await busyUiPort.release();
  }
});

test('a restart on an existing db registers search attributes the db lacks', async () => {
  const dataDir = path.join(root, 'restart');
  const first = await startTemporalDevServer(options(dataDir, { port: 0, headless: true }));
  // The CLI skips --search-attribute on an existing db, so a lost attribute stays lost unless we add it.
  await withConnection(first.address, (c) =>
    c.operatorService.removeSearchAttributes({ namespace: 'default', searchAttributes: [stepKey.name] }),
  );
  expect(Object.keys(await touchpointAttributes(first.address))).not.toContain(stepKey.name);
  await first.stop();

  const second = await startTemporalDevServer(options(dataDir, { port: 0, headless: true }));
  try {
    expect(second.reused).toBe(false);
    expect(second.uiUrl).toBeUndefined();
    expect(await touchpointAttributes(second.address)).toEqual(expectedAttributes);
  } finally {
    await second.stop();
  }
});

test('a state file whose pid is not our server is ignored', async () => {
  const dataDir = path.join(root, 'foreign');
  await fs.mkdir(dataDir, { recursive: true });
  // A live pid (this Jest worker) and an address nobody serves: neither is taken for ours.
  await fs.writeFile(
    path.join(dataDir, 'temporal.json'),
    JSON.stringify({ pid: process.pid, address: '127.0.0.1:1' }),
  );
  const server = await startTemporalDevServer(options(dataDir, { port: 0, headless: true }));
  try {
    expect(server.reused).toBe(false);
    expect(isPidAlive(process.pid)).toBe(true);
  } finally {
    await server.stop();
  }
});

test('an attribute registered with another type is reported, not papered over', async () => {
  const server = await startTemporalDevServer(
    options(path.join(root, 'wrong-type'), { port: 0, headless: true }),
  );
  try {
    await withConnection(server.address, async (c) => {
      await c.operatorService.removeSearchAttributes({
        namespace: 'default',
        searchAttributes: [stepKey.name],
      });
      await c.operatorService.addSearchAttributes({
        namespace: 'default',
        searchAttributes: { [stepKey.name]: encodeSearchAttributeIndexedValueType('INT')! },
      });
    });
    await expect(startTemporalDevServer(options(path.join(root, 'wrong-type')))).rejects.toThrow(
      /TouchpointStep \(want KEYWORD, registered as IndexedValueType 3\)/,
    );
  } finally {
    await server.stop();
  }
});

test('a server that dies at start-up fails the start with the tail of its log', async () => {
  const dataDir = path.join(root, 'dies');
  const cliPath = path.join(root, 'dying-temporal');
  await fs.writeFile(cliPath, '#!/bin/sh\necho "cannot open the db: boom" >&2\nexit 1\n', { mode: 0o755 });
  await expect(startTemporalDevServer(options(dataDir, { cliPath, port: 0 }))).rejects.toThrow(
    /exited\. Last lines of .*temporal\.log:\ncannot open the db: boom/,
  );
  await expect(fs.stat(path.join(dataDir, 'temporal.json'))).rejects.toThrow(/ENOENT/);
});
