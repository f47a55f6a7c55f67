import { execFile, execFileSync, spawn } from 'node:child_process';
import { constants as fsConstants, openSync, closeSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/*
 * Shared bits for the embedded servers (Temporal dev server, redis-server) and for installing
 * binaries: processes, ports, log tails, state files and a lock file.
 */

/** True while `pid` runs. A zombie (exited, not yet reaped) counts as gone. */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat is "pid (comm) STATE ..."; comm may hold spaces, so split after ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false; // no /proc (macOS): trust kill(0)
  }
}

/**
 * The command line of `pid`, or undefined when it cannot be told. Used to check that a pid from
 * an old state file is still our server and not an unrelated process that got the pid since.
 */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // No /proc (macOS): ask ps.
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

/** Polls until `check` returns a value other than undefined, or throws on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs, intervalMs = 200 }: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Resolves true once `pid` has exited, false if it still runs after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  try {
    await waitFor(`pid ${pid} to exit`, () => (isPidAlive(pid) ? undefined : true), {
      timeoutMs,
      intervalMs: 50,
    });
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function terminate(pid: number, graceMs = 10_000): Promise<void> {
  if (!signal(pid, 'SIGTERM')) return;
  if (await waitForExit(pid, graceMs)) return;
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, 5_000))) throw new Error(`pid ${pid} survived SIGKILL`);
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

export interface SpawnedServer {
  pid: number;
}

/**
 * Starts a long-running server with stdout and stderr appended to `logFile`. The child is unref'd
 * so it never keeps our event loop (or Jest) alive. `detached` puts it in its own process group
 * so it outlives us (a later start reuses it); without it Ctrl-C in a terminal stops it too.
 */
export async function spawnServer(
  command: string,
  args: string[],
  { logFile, detached }: { logFile: string; detached: boolean },
): Promise<SpawnedServer> {
  const logFd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached, stdio: ['ignore', logFd, logFd] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`${command} started without a pid`);
    return { pid: child.pid };
  } finally {
    closeSync(logFd); // the child holds its own copy
  }
}

/** The last `lines` lines of a log file, or a note saying why there are none. */
export async function tailFile(file: string, lines = 30): Promise<string> {
  try {
    const text = await fs.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n') || '(log is empty)';
  } catch (err) {
    return `(cannot read ${file}: ${(err as Error).message})`;
  }
}

/** True when nothing listens on host:port (we can bind it ourselves). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS just handed out as free on host. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `preferred` when it is free, else any free port. 0 or undefined means any free port. */
export async function pickPort(preferred: number | undefined, host = '127.0.0.1'): Promise<number> {
  if (preferred && (await isPortFree(preferred, host))) return preferred;
  return freePort(host);
}

/** Absolute path of `name` in the PATH of `env`, if it is there and executable. */
export async function findOnPath(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs a program (no shell) and returns its output; the error message carries stderr. */
export function run(
  command: string,
  args: string[],
  { timeoutMs = 60_000, env }: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const output = `${stderr}${stdout}`.trim().split('\n').slice(-15).join('\n');
          reject(
            new Error(
              `\`${command} ${args.join(' ')}\` failed: ${err.message}${output ? `\n${output}` : ''}`,
            ),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

/** Reads a JSON state file; undefined when it is missing or unreadable. */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Writes a JSON state file atomically (temp file + rename), so readers never see half of it. */
export async function writeJsonFile(file: string, value: unknown): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
  await fs.rename(temp, file);
}

/**
 * Runs `fn` while holding `lockPath` (a file holding our pid, created exclusively), so that two
 * processes or Jest workers never install or start the same thing at once. A lock left by a dead
 * process is taken over.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  { timeoutMs = 15 * 60_000, onWait }: { timeoutMs?: number; onWait?: (holderPid: number) => void } = {},
): Promise<T> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      await fs.writeFile(lockPath, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await fs.readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && !isPidAlive(holder)) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (await isOrphanEmptyLock(lockPath)) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() >= deadline)
      throw new Error(`Timed out waiting for lock ${lockPath} (held by pid ${holder})`);
    if (!told) onWait?.(holder);
    told = true;
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockPath, { force: true });
  }
}

/** An empty lock file older than a few seconds: its creator died between create and write. */
async function isOrphanEmptyLock(lockPath: string): Promise<boolean> {
  const stat = await fs.stat(lockPath).catch(() => undefined);
  return stat !== undefined && stat.size === 0 && Date.now() - stat.mtimeMs > 5_000;
}
