import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { round } from './stats';

/** What the figures were taken on. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redisServer: versionOf('redis-server', ['--version']),
  };
}

export function loadAverage(): number[] {
  return os.loadavg().map((l) => round(l, 2));
}

/** The commit the bench ran on, with `-dirty` when the tree has changes. */
export function gitRevision(cwd: string): string | undefined {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const rev = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain') !== '';
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return undefined;
  }
}

function versionOf(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far; undefined without /proc. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "(comm) ": state is field 3, utime 14 and stime 15 (1-based), so index 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in MiB; undefined without /proc. */
export function rssMiB(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU use of named processes over a stretch of time, in % of one core (200 = two cores busy).
 * `bench` is this process (the load generator).
 */
export class CpuMeter {
  private readonly start: Record<string, number | undefined> = {};
  private readonly startedAt = performance.now();

  constructor(private readonly pids: Record<string, number | undefined>) {
    for (const [name, pid] of Object.entries(pids)) this.start[name] = pid ? cpuSeconds(pid) : undefined;
    this.start.bench = cpuSeconds(process.pid);
  }

  stop(): Record<string, number> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const out: Record<string, number> = {};
    const all: Record<string, number | undefined> = { ...this.pids, bench: process.pid };
    for (const [name, pid] of Object.entries(all)) {
      const before = this.start[name];
      const after = pid ? cpuSeconds(pid) : undefined;
      if (before !== undefined && after !== undefined) out[name] = round(((after - before) / seconds) * 100);
    }
    return out;
  }
}
