import fs from 'node:fs/promises';
import path from 'node:path';
import IORedis, { type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import {
  findOnPath,
  freePort,
  isPidAlive,
  readJsonFile,
  spawnServer,
  tailFile,
  terminate,
  waitFor,
  waitForExit,
  withFileLock,
  writeJsonFile,
} from './child-process';

/*
 * The embedded Redis: a redis-server of our own under <dataDir>/redis, append-only (fsync every
 * second) and noeviction, since queues and profiles must not silently vanish. It listens on a
 * unix socket, so no TCP port can collide (e.g. with a machine's shared Redis on 6379); only when
 * the socket path would be too long does it take a free TCP port on 127.0.0.1. It is left running
 * for the next start to reuse, like the Temporal dev server.
 *
 * URLs: ioredis reads a bare absolute path ("/x/redis.sock") as a socket, but not `unix://` or
 * `redis+unix://` (it mangles them into host "unix" plus path "///x/redis.sock", which only
 * works by accident). So we hand out `unix:///x/redis.sock` together with ready ioredis
 * options, and redisOptionsFromUrl() turns any of our URLs into options.
 */

export interface RedisServerOptions {
  dataDir: string;
  logger: Logger;
  /** The redis-server executable. Default: redis-server on PATH. */
  redisServerPath?: string;
  /** How long to wait for PONG (a big AOF takes a while to load). Default 30 s. */
  readyTimeoutMs?: number;
  /** Own process group so it outlives us and is reused later (default); tests pass false. */
  detached?: boolean;
}

export interface RedisServer {
  /** `unix:///…/redis.sock`, or `redis://127.0.0.1:PORT` when the socket path is too long. */
  url: string;
  /** The same as ioredis options: `{ path }` or `{ host, port }`. */
  connection: RedisConnectionOptions;
  /** SHUTDOWN (flushes the AOF) and wait for the process to exit. */
  stop(): Promise<void>;
  /** True when a server left running by an earlier start was reused. */
  reused: boolean;
}

export type RedisConnectionOptions = Pick<
  RedisOptions,
  'path' | 'host' | 'port' | 'db' | 'username' | 'password' | 'tls'
>;

/** What <dataDir>/redis/redis.json records: where it listens. The pid is in redis.pid. */
interface RedisState {
  url: string;
}

/** Unix socket paths are limited to ~104-108 bytes depending on the OS; keep a margin. */
const maxSocketPathLength = 100;

/**
 * ioredis options from a Redis URL: `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS),
 * `unix:///path/to.sock[?db=N]`, `redis+unix://…` or a bare `/path/to.sock`.
 */
export function redisOptionsFromUrl(url: string): RedisConnectionOptions {
  const parsed = new URL(url.startsWith('/') ? `unix://${url}` : url);
  const options: RedisConnectionOptions = {};
  let db: string | null;
  switch (parsed.protocol) {
    case 'unix:':
    case 'redis+unix:':
      options.path = decodeURIComponent(parsed.pathname);
      db = parsed.searchParams.get('db'); // the path is the socket, so the db can only be ?db=N
      break;
    case 'redis:':
    case 'rediss:':
      options.host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
      options.port = parsed.port ? Number(parsed.port) : 6379;
      if (parsed.protocol === 'rediss:') options.tls = {};
      db = parsed.pathname.slice(1) || parsed.searchParams.get('db');
      break;
    default:
      throw new Error(`Unsupported Redis URL "${url}": use redis://, rediss:// or unix:///path/to.sock`);
  }
  if (db) {
    options.db = Number(db);
    if (!Number.isInteger(options.db) || options.db < 0)
      throw new Error(`Bad db number in Redis URL "${url}"`);
  }
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  return options;
}

export async function startRedisServer(opts: RedisServerOptions): Promise<RedisServer> {
  const dir = path.join(path.resolve(opts.dataDir), 'redis');
  await fs.mkdir(dir, { recursive: true });
  const executable = opts.redisServerPath ?? (await findOnPath('redis-server'));
  if (!executable) {
    throw new Error(
      'redis-server not found on PATH. Install it (Debian/Ubuntu: `apt-get install redis-server`, ' +
        'macOS: `brew install redis`) or set REDIS_URL to an existing Redis.',
    );
  }
  return withFileLock(path.join(dir, 'start.lock'), async () => {
    return (await reuseRunningServer(dir, opts.logger)) ?? (await spawnRedis(executable, dir, opts));
  });
}

const files = (dir: string) => ({
  socket: path.join(dir, 'redis.sock'),
  pid: path.join(dir, 'redis.pid'),
  log: path.join(dir, 'redis.log'),
  state: path.join(dir, 'redis.json'),
});

async function reuseRunningServer(dir: string, logger: Logger): Promise<RedisServer | undefined> {
  const state = await readJsonFile<RedisState>(files(dir).state);
  const pid = await readPid(files(dir).pid);
  // Alive, answering, and serving *this* directory: anything else is not ours to reuse or shut down.
  if (state && pid && isPidAlive(pid) && (await configDir(state.url)) === dir) {
    logger.info({ url: state.url, pid }, 'reusing the running redis-server');
    return handleFor(state.url, pid, dir, true);
  }
  await fs.rm(files(dir).state, { force: true });
  return undefined;
}

async function spawnRedis(executable: string, dir: string, opts: RedisServerOptions): Promise<RedisServer> {
  const f = files(dir);
  const useSocket = f.socket.length <= maxSocketPathLength;
  const port = useSocket ? 0 : await freePort();
  const url = useSocket ? `unix://${f.socket}` : `redis://127.0.0.1:${port}`;
  const listen = useSocket
    ? ['--port', '0', '--unixsocket', f.socket, '--unixsocketperm', '700']
    : ['--port', String(port), '--bind', '127.0.0.1'];
  const args = [
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '', // no RDB snapshots: the AOF is the persistence
    '--pidfile',
    f.pid,
    '--daemonize',
    'no',
    ...listen,
  ];
  if (!useSocket) opts.logger.info({ socket: f.socket }, 'socket path too long for a unix socket; using TCP');
  const { pid } = await spawnServer(executable, args, { logFile: f.log, detached: opts.detached ?? true });
  try {
    await waitFor(
      `redis-server at ${url}`,
      async () => {
        if (!isPidAlive(pid)) throw new Error(`redis-server (pid ${pid}) exited`);
        return (await configDir(url)) === dir ? true : undefined;
      },
      { timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 50 },
    );
  } catch (err) {
    await terminate(pid);
    throw new Error(`${(err as Error).message}. Last lines of ${f.log}:\n${await tailFile(f.log)}`);
  }
  await writeJsonFile(f.state, { url } satisfies RedisState);
  opts.logger.info({ url, pid, dir }, 'redis-server started');
  return handleFor(url, pid, dir, false);
}

async function readPid(file: string): Promise<number | undefined> {
  const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** A short-lived client that fails fast instead of reconnecting. */
function probeClient(url: string): IORedis {
  return new IORedis({
    ...redisOptionsFromUrl(url),
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
}

/** The server's `dir` once it answers (and has finished loading the AOF); else undefined. */
async function configDir(url: string): Promise<string | undefined> {
  const client = probeClient(url);
  client.on('error', () => {}); // failures show up as rejected commands
  try {
    await client.connect();
    const [, dir] = (await client.config('GET', 'dir')) as [string, string];
    await client.quit();
    return dir;
  } catch {
    return undefined;
  } finally {
    closeProbe(client);
  }
}

/**
 * Drops a probe's connection unless it is already gone: ioredis' disconnect() arms a 2 s timer
 * that only the socket's close event clears, and a socket that has closed already would leave
 * that timer holding the event loop (and Jest) open.
 */
function closeProbe(client: IORedis): void {
  if (client.status !== 'end') client.disconnect();
}

function handleFor(url: string, pid: number, dir: string, reused: boolean): RedisServer {
  return {
    url,
    connection: redisOptionsFromUrl(url),
    reused,
    stop: async () => {
      await shutdown(url, pid);
      await fs.rm(files(dir).state, { force: true });
    },
  };
}

async function shutdown(url: string, pid: number): Promise<void> {
  if (!isPidAlive(pid)) return;
  const client = probeClient(url);
  client.on('error', () => {});
  try {
    await client.connect();
    await client.shutdown(); // fsyncs the AOF; the server closes the connection, so this rejects
  } catch {
    // expected
  } finally {
    closeProbe(client);
  }
  // SIGTERM does the same orderly shutdown, should SHUTDOWN not have got through.
  if (!(await waitForExit(pid, 10_000))) await terminate(pid);
}
