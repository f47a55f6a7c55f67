import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { freePort, isPidAlive } from '../../runtime/child-process';
import { startRedisServer, type RedisServer } from '../../runtime/redis-server';
import { startTemporalDevServer, type TemporalDevServer } from '../../runtime/temporal-dev-server';
import { AppProcess } from '../lib/app-process';

/*
 * What the drill stands on: its own redis-server (AOF on) and Temporal dev server (SQLite, WAL),
 * both in the drill's temp dir, and the app split in two processes: `api`, and a worker running
 * journeys, router and delivery. Each can be stopped and started again on the same data.
 */

export const WRITE_KEY = 'drill-write-key';
export const ADMIN_KEY = 'drill-admin-key';
export const WORKER_ROLES = 'journeys,router,delivery';

export interface DrillPaths {
  root: string;
  redisDir: string;
  temporalDir: string;
  outboxDir: string;
  configFile: string;
  journeysDir: string;
}

export function drillPaths(root: string, journeysDir: string): DrillPaths {
  return {
    root,
    redisDir: path.join(root, 'redis-data'),
    temporalDir: path.join(root, 'temporal-data'),
    outboxDir: path.join(root, 'outbox'),
    configFile: path.join(root, 'touchpoint.yaml'),
    journeysDir,
  };
}

/**
 * Config: sms goes to the drill's webhook receiver with a short timeout and quick retries (so
 * the provider-failure phase heals within the drill), every other channel to the outbox. Quiet
 * hours are off: the drill runs at any hour and every send must go out at once.
 */
export async function writeChannelConfig(file: string, receiverUrl: string): Promise<void> {
  await writeFile(
    file,
    [
      'channels:',
      '  sms:',
      `    provider: { type: webhook, url: "${receiverUrl}/sms", timeoutMs: 1000 }`,
      '    attempts: 10',
      '    backoffMs: 500',
      'rules:',
      '  quietHours: false',
      '',
    ].join('\n'),
  );
}

export class DrillServers {
  redis?: RedisServer;
  temporal?: TemporalDevServer;
  private temporalPort?: number;

  constructor(
    private readonly paths: DrillPaths,
    private readonly logger: Logger,
  ) {}

  get redisUrl(): string {
    if (!this.redis) throw new Error('redis-server not started');
    return this.redis.url;
  }

  get temporalAddress(): string {
    if (!this.temporal) throw new Error('Temporal dev server not started');
    return this.temporal.address;
  }

  async startRedis(): Promise<void> {
    await mkdir(this.paths.redisDir, { recursive: true });
    const before = this.redis?.url;
    this.redis = await startRedisServer({
      dataDir: this.paths.redisDir,
      logger: this.logger,
      detached: false,
    });
    if (before && before !== this.redis.url)
      throw new Error(`redis-server came back at ${this.redis.url}, not ${before}`);
  }

  /** SHUTDOWN (the AOF is flushed), stay down for `downMs`, start again on the same dir. */
  async restartRedis(downMs: number): Promise<void> {
    await this.redis?.stop();
    await sleep(downMs);
    await this.startRedis();
  }

  async startTemporal(): Promise<void> {
    this.temporalPort ??= await freePort();
    this.temporal = await startTemporalDevServer({
      dataDir: this.paths.temporalDir,
      port: this.temporalPort,
      headless: true,
      namespace: 'default',
      logger: this.logger,
      detached: false,
    });
    if (this.temporal.address !== `127.0.0.1:${this.temporalPort}`)
      throw new Error(`Temporal came back at ${this.temporal.address}, not port ${this.temporalPort}`);
  }

  /** Stops the dev server (SIGTERM), stays down for `downMs`, starts it on the same db and port. */
  async restartTemporal(downMs: number): Promise<void> {
    await this.temporal?.stop();
    await sleep(downMs);
    await this.startTemporal();
  }

  async stop(): Promise<void> {
    await this.temporal?.stop().catch(() => undefined);
    await this.redis?.stop().catch(() => undefined);
  }
}

/** The two app processes: `api` and the worker (journeys, router, delivery). */
export class DrillApp {
  readonly api: AppProcess;
  readonly worker: AppProcess;

  constructor(paths: DrillPaths, servers: DrillServers, apiPort: number) {
    const env = {
      TEMPORAL_ADDRESS: servers.temporalAddress,
      REDIS_URL: servers.redisUrl,
      // Two data directories, one Redis: the profile encryption and blind index keys must be shared.
      TOUCHPOINT_ENCRYPTION_KEYS: `drill:${randomBytes(32).toString('base64')}`,
      TOUCHPOINT_BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
      TOUCHPOINT_JOURNEYS_DIR: paths.journeysDir,
      TOUCHPOINT_CONFIG: paths.configFile,
      TOUCHPOINT_OUTBOX_DIR: paths.outboxDir,
      TOUCHPOINT_WRITE_KEY: WRITE_KEY,
      TOUCHPOINT_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: 'warn',
    };
    this.api = new AppProcess(path.join(paths.root, 'api'), apiPort, env, 'api');
    this.worker = new AppProcess(path.join(paths.root, 'worker'), 0, env, WORKER_ROLES);
  }

  /** The worker first: the api's /healthz waits for workers on the queues and the task queue. */
  async start(): Promise<void> {
    await this.worker.start();
    await this.api.start();
  }

  alive(): { api: boolean; worker: boolean } {
    const up = (p: AppProcess) => p.pid !== undefined && isPidAlive(p.pid);
    return { api: up(this.api), worker: up(this.worker) };
  }

  /** Appends what a process printed so far to `<root>/<name>.log` (AppProcess keeps it in memory). */
  async saveLog(root: string, name: 'api' | 'worker', label: string): Promise<void> {
    const output = name === 'api' ? this.api.output : this.worker.output;
    await writeFile(path.join(root, `${name}.log`), `--- ${label}\n${output}`, { flag: 'a' });
  }

  async stop(): Promise<void> {
    await this.api.stop().catch(() => undefined);
    await this.worker.stop().catch(() => undefined);
  }
}
