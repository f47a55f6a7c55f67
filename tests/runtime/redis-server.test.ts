import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import IORedis from 'ioredis';
import pino from 'pino';
import { isPidAlive } from '../../runtime/child-process';
import { redisOptionsFromUrl, startRedisServer } from '../../runtime/redis-server';

const logger = pino({ level: 'silent' });
let root: string;
let sharedRunIdBefore: string | undefined;

/** The shared Redis on 6379 may only be read (INFO), never written, flushed or shut down. */
async function sharedRedisRunId(): Promise<string | undefined> {
  const client = new IORedis({ host: '127.0.0.1', port: 6379, lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return /run_id:(\w+)/.exec(await client.info('server'))?.[1];
  } catch {
    return undefined; // no shared Redis on this machine
  } finally {
    client.disconnect();
  }
}

async function configValue(client: IORedis, name: string): Promise<string | undefined> {
  const [, value] = (await client.config('GET', name)) as string[];
  return value;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'touchpoint-redis-'));
  sharedRunIdBefore = await sharedRedisRunId();
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

test('starts on a unix socket with AOF (fsync every second) and noeviction', async () => {
  const dataDir = path.join(root, 'config');
  const server = await startRedisServer({ dataDir, logger, detached: false });
  const client = new IORedis(server.connection);
  try {
    expect(server.reused).toBe(false);
    expect(server.url).toBe(`unix://${dataDir}/redis/redis.sock`);
    expect(server.connection).toEqual({ path: `${dataDir}/redis/redis.sock` });
    expect(await configValue(client, 'appendonly')).toBe('yes');
    expect(await configValue(client, 'appendfsync')).toBe('everysec');
    expect(await configValue(client, 'maxmemory-policy')).toBe('noeviction');
    expect(await configValue(client, 'save')).toBe('');
    expect(await configValue(client, 'port')).toBe('0'); // no TCP listener at all
    expect(await configValue(client, 'dir')).toBe(path.join(dataDir, 'redis'));
  } finally {
    client.disconnect();
    await server.stop();
  }
});

test('keeps its data across stop and start', async () => {
  const dataDir = path.join(root, 'restart');
  const first = await startRedisServer({ dataDir, logger, detached: false });
  const writer = new IORedis(first.connection);
  await writer.set('touchpoint:restart-test', 'still here');
  writer.disconnect();
  const pid = Number(await fs.readFile(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  await first.stop();
  expect(isPidAlive(pid)).toBe(false);

  const second = await startRedisServer({ dataDir, logger, detached: false });
  const reader = new IORedis(second.connection);
  try {
    expect(second.reused).toBe(false);
    expect(await reader.get('touchpoint:restart-test')).toBe('still here');
  } finally {
    reader.disconnect();
    await second.stop();
  }
});

test('a second start reuses the running server, and stop() stops it', async () => {
  const dataDir = path.join(root, 'reuse');
  const first = await startRedisServer({ dataDir, logger, detached: false });
  const second = await startRedisServer({ dataDir, logger, detached: false });
  expect(second.reused).toBe(true);
  expect(second.url).toBe(first.url);
  const pid = Number(await fs.readFile(path.join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  await second.stop();
  expect(isPidAlive(pid)).toBe(false);
  await first.stop(); // already stopped: a no-op
});

test('falls back to TCP on 127.0.0.1 when the socket path would be too long', async () => {
  const dataDir = path.join(root, 'x'.repeat(100));
  const server = await startRedisServer({ dataDir, logger, detached: false });
  const client = new IORedis(server.connection);
  try {
    expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(server.connection.host).toBe('127.0.0.1');
    expect(server.connection.port).not.toBe(6379);
    expect(await configValue(client, 'bind')).toBe('127.0.0.1');
    expect(await client.ping()).toBe('PONG');
  } finally {
    client.disconnect();
    await server.stop();
  }
});

test('a state file pointing at some other Redis is neither reused nor shut down', async () => {
  const dataDir = path.join(root, 'foreign');
  await fs.mkdir(path.join(dataDir, 'redis'), { recursive: true });
  await fs.writeFile(
    path.join(dataDir, 'redis', 'redis.json'),
    JSON.stringify({ url: 'redis://127.0.0.1:6379' }),
  );
  await fs.writeFile(path.join(dataDir, 'redis', 'redis.pid'), String(process.pid)); // a live pid
  const server = await startRedisServer({ dataDir, logger, detached: false });
  expect(server.reused).toBe(false);
  expect(server.url).toBe(`unix://${dataDir}/redis/redis.sock`);
  await server.stop();
});

test('the shared Redis on 6379 was not restarted or shut down by any of the above', async () => {
  expect(await sharedRedisRunId()).toBe(sharedRunIdBefore);
});

test('redisOptionsFromUrl', () => {
  expect(redisOptionsFromUrl('unix:///tmp/r/redis.sock')).toEqual({ path: '/tmp/r/redis.sock' });
  expect(redisOptionsFromUrl('unix:///tmp/r/redis.sock?db=3')).toEqual({ path: '/tmp/r/redis.sock', db: 3 });
  expect(redisOptionsFromUrl('/tmp/r/redis.sock')).toEqual({ path: '/tmp/r/redis.sock' });
  expect(redisOptionsFromUrl('redis://127.0.0.1:6380')).toEqual({ host: '127.0.0.1', port: 6380 });
  expect(redisOptionsFromUrl('redis://u:p%40ss@cache.local:6390/2')).toEqual({
    host: 'cache.local',
    port: 6390,
    db: 2,
    username: 'u',
    password: 'p@ss',
  });
  expect(redisOptionsFromUrl('rediss://cache.local')).toEqual({ host: 'cache.local', port: 6379, tls: {} });
  expect(() => redisOptionsFromUrl('http://x')).toThrow(/Unsupported Redis URL/);
});
