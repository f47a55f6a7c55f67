import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../../config/settings';
import { isPidAlive, terminate } from '../../runtime/child-process';

/**
 * The real app (`node dist/main/index.js`, built by `npm run build`) as a child process, for
 * end-to-end tests, benchmarks and drills. Without TEMPORAL_ADDRESS / REDIS_URL in `env` it runs
 * on its embedded default under `dataDir`; `roles` runs only some parts (e.g. `api`).
 */
export class AppProcess {
  private child?: ChildProcess;
  output = '';

  constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly roles = 'all',
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TOUCHPOINT_DATA_DIR: this.dataDir,
      PORT: String(this.port),
    };
    delete env.TEMPORAL_ADDRESS;
    delete env.REDIS_URL;
    Object.assign(env, this.env, { TOUCHPOINT_ROLES: this.roles });
    const hasApi = this.roles === 'all' || this.roles.split(',').includes('api');
    if (!hasApi) env.LOG_LEVEL = 'info'; // readiness is then read from the "touchpoint ready" log line
    this.output = '';
    const child = spawn(process.execPath, [path.join(projectRoot, 'dist/main/index.js')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`app exited with ${child.exitCode}:\n${this.output}`);
      const ok = hasApi
        ? await fetch(`${this.baseUrl}/healthz`).then(
            (r) => r.status === 200,
            () => false,
          )
        : this.output.includes('"msg":"touchpoint ready"');
      if (ok) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`app not healthy after 60 s:\n${this.output}`);
  }

  /** Like a crash: no shutdown code runs, child servers are left behind. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Ctrl-C / SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    return this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  /** Pids of the embedded servers, from the state files they leave in the data dir. */
  async serverPids(): Promise<{ temporal?: number; redis?: number }> {
    const temporal = await readFile(path.join(this.dataDir, 'temporal.json'), 'utf8').then(
      (t) => JSON.parse(t).pid as number,
      () => undefined,
    );
    const redis = await readFile(path.join(this.dataDir, 'redis', 'redis.pid'), 'utf8').then(
      (t) => Number(t.trim()),
      () => undefined,
    );
    return { temporal, redis };
  }

  /** Cleanup after a failed test: nothing of ours may outlive the run. */
  async destroy(): Promise<void> {
    await this.kill9();
    const pids = await this.serverPids();
    for (const pid of [pids.temporal, pids.redis]) if (pid && isPidAlive(pid)) await terminate(pid, 3000);
  }
}
