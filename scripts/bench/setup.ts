import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import IORedis, { type RedisOptions } from 'ioredis';
import pino from 'pino';
import { freePort } from '../../runtime/child-process';
import { redisOptionsFromUrl, startRedisServer } from '../../runtime/redis-server';
import { startTemporalDevServer } from '../../runtime/temporal-dev-server';
import { AppProcess } from '../lib/app-process';
import { sleep } from './stats';

/** Progress goes to stderr: stdout carries only the result JSON. */
export const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString()}] ${message}\n`);

/** Steps run in reverse order, once, whatever happened (error, SIGINT, watchdog). */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  private running?: Promise<void>;

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        await step.run().catch((err: Error) => log(`cleanup "${step.name}" failed: ${err.message}`));
      }
    })();
    return this.running;
  }
}

/** Everything the phases share: servers, clients, the app processes and their names. */
export interface BenchContext {
  runId: string;
  /** Temp dir for server data, outboxes, configs and profiles. */
  dir: string;
  redisUrl: string;
  temporalAddress: string;
  /** Which servers this run started itself (else TEMPORAL_ADDRESS / REDIS_URL were given). */
  embedded: { redis: boolean; temporal: boolean };
  serverPids: { redis?: number; temporal?: number };
  /** The embedded Temporal dev server's db (temporal.db and its -wal), for the footprint. */
  temporalDb?: string;
  redisOptions: RedisOptions;
  /** The bench's own Redis connection (INFO, counts, cleanup). */
  redis: IORedis;
  temporal: Client;
  namespace: string;
  writeKey: string;
  /** The admin key of every app process (admin routes: counts, runs, audit, metrics). */
  adminKey: string;
  queuePrefix: string;
  keyPrefix: string;
  taskQueue: string;
  outboxDir: string;
  /** The HTTP API alone (`--role api`). */
  api: AppProcess;
  /** Router, Temporal worker and delivery workers in one process. */
  worker: AppProcess;
  /** Env for an app process on this run's servers and names; `extra` wins. */
  appEnv(extra?: Record<string, string>): Record<string, string>;
  /** Pids to watch for CPU use. */
  pids(): Record<string, number | undefined>;
  /** Runs `phase` with every app process's CPU profiled, when BENCH_CPU_PROF is set. */
  profiled<T>(label: string, phase: () => Promise<T>): Promise<T>;
  cleanup: Cleanup;
}

/**
 * Starts (or connects to) Redis and Temporal, then the app as two processes: `api` and
 * `worker` (router, journeys, delivery). The API answers /healthz only once the events queue,
 * the delivery queues and the Temporal task queue have workers, so the worker starts alongside.
 */
export async function setUp(cleanup: Cleanup): Promise<BenchContext> {
  const runId = `bench-${Date.now().toString(36)}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-bench-'));
  if (!process.env.BENCH_KEEP)
    cleanup.add('remove temp dir', () => rm(dir, { recursive: true, force: true }));
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';

  const [redisServer, temporalServer] = await Promise.all([
    process.env.REDIS_URL
      ? undefined
      : startRedisServer({ dataDir: path.join(dir, 'servers'), logger, detached: false }),
    process.env.TEMPORAL_ADDRESS
      ? undefined
      : startTemporalDevServer({
          dataDir: path.join(dir, 'servers'),
          namespace,
          logger,
          port: 0,
          headless: true,
          detached: false,
        }),
  ]);
  // Stopped last (cleanup runs in reverse), after the app processes.
  if (redisServer) cleanup.add('stop redis-server', () => redisServer.stop());
  if (temporalServer) cleanup.add('stop Temporal dev server', () => temporalServer.stop());
  const redisUrl = process.env.REDIS_URL ?? redisServer!.url;
  const temporalAddress = process.env.TEMPORAL_ADDRESS ?? temporalServer!.address;
  const serversDir = path.join(dir, 'servers');
  const serverPids = {
    redis: redisServer ? await readPid(path.join(serversDir, 'redis', 'redis.pid')) : undefined,
    temporal: temporalServer
      ? await readFile(path.join(serversDir, 'temporal.json'), 'utf8').then(
          (t) => JSON.parse(t).pid as number,
        )
      : undefined,
  };
  // A given REDIS_URL may hold a password: not logged.
  log(
    `redis: ${redisServer ? `started at ${redisUrl}` : 'REDIS_URL'}; ` +
      `Temporal: ${temporalServer ? 'started at ' : ''}${temporalAddress}`,
  );

  const redisOptions: RedisOptions = { ...redisOptionsFromUrl(redisUrl), maxRetriesPerRequest: null };
  const redis = new IORedis(redisOptions);
  cleanup.add('close bench redis', () => redis.quit());
  const connection = await Connection.connect({ address: temporalAddress });
  cleanup.add('close bench Temporal connection', () => connection.close());
  const temporal = new Client({ connection, namespace });

  const names = { queuePrefix: `${runId}-bull`, keyPrefix: runId, taskQueue: `${runId}-journeys` };
  if (!redisServer || !temporalServer) {
    // Runs after the app processes have stopped (cleanup goes in reverse).
    cleanup.add('remove bench data from the given servers', () =>
      removeBenchData({ redis, temporal, namespace, runId, taskQueue: names.taskQueue }),
    );
  }

  const writeKey = `write-${randomBytes(12).toString('hex')}`;
  const outboxDir = path.join(dir, 'outbox');
  // The bench measures the engine's path, not its rules: without this, sends in the customers'
  // night (21:00–09:00 Asia/Shanghai by default) would wait for the morning.
  const configFile = path.join(dir, 'touchpoint.yaml');
  await writeFile(configFile, 'rules:\n  quietHours: false\n');
  const profileDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  // The app processes have data directories of their own: they share the profile encryption keys
  // (and the blind index key) through the environment, as processes on several hosts must.
  const encryptionKeys = `bench:${randomBytes(32).toString('base64')}`;
  const blindIndexKey = randomBytes(32).toString('base64');
  // One admin key for every app process, so the bench can call admin routes on the api process.
  const adminKey = `admin-${randomBytes(12).toString('hex')}`;
  const appEnv = (extra: Record<string, string> = {}) => ({
    TEMPORAL_ADDRESS: temporalAddress,
    TOUCHPOINT_ENCRYPTION_KEYS: encryptionKeys,
    TOUCHPOINT_BLIND_INDEX_KEY: blindIndexKey,
    TEMPORAL_NAMESPACE: namespace,
    REDIS_URL: redisUrl,
    TOUCHPOINT_WRITE_KEY: writeKey,
    TOUCHPOINT_ADMIN_KEY: adminKey,
    TOUCHPOINT_QUEUE_PREFIX: names.queuePrefix,
    TOUCHPOINT_KEY_PREFIX: names.keyPrefix,
    TOUCHPOINT_TASK_QUEUE: names.taskQueue,
    TOUCHPOINT_OUTBOX_DIR: outboxDir,
    TOUCHPOINT_CONFIG: configFile,
    LOG_LEVEL: 'warn',
    // BENCH_CPU_PROF=dir: the app processes can be profiled phase by phase (profiled()).
    ...(profileDir && {
      NODE_OPTIONS: `--require ${require.resolve('./cpu-profile-preload')}`,
      BENCH_CPU_PROF_DIR: profileDir,
    }),
    ...extra,
  });

  const appDir = async (name: string) => {
    const d = path.join(dir, 'apps', name);
    await mkdir(d, { recursive: true });
    return d;
  };
  const worker = new AppProcess(await appDir('worker'), 0, appEnv(), 'router,journeys,delivery');
  const api = new AppProcess(await appDir('api'), await freePort(), appEnv(), 'api');
  cleanup.add('stop worker process', () => stopApp(worker));
  cleanup.add('stop api process', () => stopApp(api));
  log('starting the app: api process and worker process (router, journeys, delivery)');
  await Promise.all([worker.start(), api.start()]);
  log(`app ready: api pid ${api.pid} on ${api.baseUrl}, worker pid ${worker.pid}`);

  return {
    runId,
    dir,
    redisUrl,
    temporalAddress,
    embedded: { redis: !!redisServer, temporal: !!temporalServer },
    serverPids,
    temporalDb: temporalServer ? path.join(serversDir, 'temporal.db') : undefined,
    redisOptions,
    redis,
    temporal,
    namespace,
    writeKey,
    adminKey,
    ...names,
    outboxDir,
    api,
    worker,
    appEnv,
    pids: () => ({ api: api.pid, worker: worker.pid, ...serverPids }),
    profiled: async (label, phase) => {
      if (!profileDir) return phase();
      const control = path.join(profileDir, '.phase'); // read by cpu-profile-preload
      await writeFile(control, label);
      await sleep(500);
      try {
        return await phase();
      } finally {
        await writeFile(control, '');
        await sleep(2000); // time to write the profiles
        log(`CPU profiles of "${label}" in ${profileDir}`);
      }
    },
    cleanup,
  };
}

/** SIGTERM (so a CPU profile gets written), SIGKILL if it hangs. */
export async function stopApp(app: AppProcess): Promise<void> {
  const timer = setTimeout(() => void app.kill9(), 20_000);
  try {
    await app.stop();
  } finally {
    clearTimeout(timer);
  }
}

async function readPid(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return pid > 0 ? pid : undefined;
}

/**
 * On servers that were given (a real cluster), the run's keys go and its journey workflows are
 * terminated; everything the run made carries its runId in key prefixes and task queue names.
 */
async function removeBenchData(opts: {
  redis: IORedis;
  temporal: Client;
  namespace: string;
  runId: string;
  taskQueue: string;
}): Promise<void> {
  let removed = 0;
  for await (const keys of opts.redis.scanStream({ match: `${opts.runId}*`, count: 1000 }) as AsyncIterable<
    string[]
  >) {
    if (keys.length > 0) removed += await opts.redis.unlink(...keys);
  }
  log(`removed ${removed} Redis keys of ${opts.runId}`);
  await opts.temporal.workflowService.startBatchOperation({
    namespace: opts.namespace,
    jobId: `${opts.runId}-cleanup`,
    reason: 'touchpoint bench cleanup',
    visibilityQuery: `TaskQueue = '${opts.taskQueue}' AND ExecutionStatus = 'Running'`,
    terminationOperation: {},
  });
  log(`asked Temporal to terminate the running workflows on task queue ${opts.taskQueue}`);
}
