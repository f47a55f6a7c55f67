import { setTimeout as sleep } from 'node:timers/promises';
import type { Receiver } from './receiver';
import type { DrillApp, DrillPaths, DrillServers } from './servers';
import type { Customer, SentEvent, Traffic } from './traffic';

/*
 * The faults, each injected while the traffic keeps flowing. A phase returns what it saw
 * (timings, whether the app processes survived and came back healthy by themselves); the
 * check that follows it judges what happened to the customers.
 */

export interface PhaseContext {
  paths: DrillPaths;
  servers: DrillServers;
  app: DrillApp;
  receiver: Receiver;
  traffic: Traffic;
  say(line: string): void;
  /** How many of these customers' events of a role the router has fully processed. */
  routed(customers: Customer[], role: SentEvent['role']): Promise<number>;
}

export interface PhaseResult {
  observed: Record<string, unknown>;
  /** Things that went wrong during the fault itself (e.g. a process that died and had to be restarted). */
  problems: string[];
}

export interface Phase {
  name: string;
  what: string;
  /** How long the check after it may wait for every run to close and every touch to arrive. */
  checkTimeoutMs: number;
  run(ctx: PhaseContext): Promise<PhaseResult>;
}

/** Traffic flowing before a fault, so that it lands mid-stream. */
const LEAD_MS = 3_000;
/** Customers whose entry events arrive at once just before the worker is killed. */
const BURST = 150;
/** How long a restarted server stays down (DRILL_DOWN_MS to try longer outages). */
const DOWN_MS = Number(process.env.DRILL_DOWN_MS) || 3_000;
/** How long the app may take to report healthy again after a fault. */
const RECOVERY_MS = 60_000;

export const PHASES: Phase[] = [
  {
    name: 'kill-worker',
    what: 'kill -9 the worker process (journeys, router, delivery) while it routes a burst of 150 entries and sends an SMS, then start it again',
    // An activity lost with the worker is retried only after its start-to-close timeout (1 min),
    // and a router or delivery job it held only after BullMQ's stalled-job check (30 s).
    checkTimeoutMs: 150_000,
    async run(ctx) {
      await sleep(LEAD_MS);
      await ctx.app.saveLog(ctx.paths.root, 'worker', 'before kill -9');
      // Mid-stream for real: a burst of entry events keeps the router busy, and the receiver
      // takes the next SMS but holds its answer, so the worker dies while routing and sending.
      const burst = await ctx.traffic.burst(BURST);
      const heldKey = await Promise.race([ctx.receiver.holdNext(), sleep(2_000).then(() => undefined)]);
      const pid = ctx.app.worker.pid;
      const killedAt = Date.now();
      await ctx.app.worker.kill9();
      const routed = await ctx.routed(burst, 'entry');
      ctx.receiver.setMode('ok'); // answers the held request, to nobody
      ctx.say(
        `killed worker pid ${pid} (SIGKILL) with ${routed}/${burst.length} entries of the burst routed` +
          (heldKey ? `, while it was sending ${heldKey}` : ''),
      );
      await sleep(1_000);
      await ctx.app.worker.start();
      const downMs = Date.now() - killedAt;
      ctx.say(`worker restarted as pid ${ctx.app.worker.pid} after ${downMs} ms`);
      return {
        observed: {
          killedPid: pid,
          burst: burst.length,
          burstEntriesRoutedBeforeKill: routed,
          killedMidSend: heldKey ?? null,
          downMs,
          ...(await recovery(ctx, killedAt)),
        },
        problems: [],
      };
    },
  },
  {
    name: 'restart-redis',
    what: `SHUTDOWN redis-server (AOF flushed), keep it down ${DOWN_MS / 1000} s, start it again on the same dir`,
    checkTimeoutMs: 90_000,
    async run(ctx) {
      await sleep(LEAD_MS);
      const at = Date.now();
      await ctx.servers.restartRedis(DOWN_MS);
      ctx.say(`redis-server back after ${Date.now() - at} ms at ${ctx.servers.redisUrl}`);
      return survivors(ctx, at, 'Redis');
    },
  },
  {
    name: 'restart-temporal',
    what: `stop the Temporal dev server (SIGTERM), keep it down ${DOWN_MS / 1000} s, start it on the same db and port`,
    checkTimeoutMs: 150_000,
    async run(ctx) {
      await sleep(LEAD_MS);
      const at = Date.now();
      await ctx.servers.restartTemporal(DOWN_MS);
      ctx.say(`Temporal back after ${Date.now() - at} ms at ${ctx.servers.temporalAddress}`);
      return survivors(ctx, at, 'Temporal');
    },
  },
  {
    name: 'failing-provider',
    what: 'the SMS webhook answers 503 for 5 s, then hangs past the provider timeout (1 s) for 5 s',
    checkTimeoutMs: 120_000,
    async run(ctx) {
      await sleep(LEAD_MS);
      const refusedBefore = ctx.receiver.refused;
      const redeliveredBefore = ctx.receiver.redelivered();
      ctx.receiver.setMode('fail');
      ctx.say('webhook receiver: 503');
      await sleep(5_000);
      ctx.receiver.setMode('hang');
      ctx.say('webhook receiver: hanging');
      await sleep(5_000);
      ctx.receiver.setMode('ok');
      ctx.say('webhook receiver: ok again');
      return {
        observed: {
          refused503: ctx.receiver.refused - refusedBefore,
          redeliveredSoFar: ctx.receiver.redelivered() - redeliveredBefore,
        },
        problems: [],
      };
    },
  },
];

/**
 * After a server restart: did both app processes live through it, and did the api report healthy
 * again by itself? A process that died is started again so the drill can go on, and reported.
 */
async function survivors(ctx: PhaseContext, at: number, server: string): Promise<PhaseResult> {
  const observed: Record<string, unknown> = await recovery(ctx, at);
  const problems = await restartDead(ctx, `the ${server} restart`);
  observed.processesAlive = problems.length === 0;
  if (problems.length > 0) Object.assign(observed, await recovery(ctx, at));
  if (observed.healthyAfterMs === null)
    problems.push(`/healthz not 200 within ${RECOVERY_MS / 1000} s of the ${server} restart`);
  return { observed, problems };
}

/** Starts again any app process that has died, and says so. */
export async function restartDead(ctx: PhaseContext, after: string): Promise<string[]> {
  const problems: string[] = [];
  const alive = ctx.app.alive();
  for (const name of ['worker', 'api'] as const) {
    if (alive[name]) continue;
    await ctx.app.saveLog(ctx.paths.root, name, `exited after ${after}`);
    problems.push(`the ${name} process exited after ${after} (log: ${ctx.paths.root}/${name}.log)`);
    ctx.say(`${name} process is gone: starting it again`);
    await ctx.app[name].start();
  }
  return problems;
}

/** Waits for /healthz to answer 200 again (or a process to die); how long it took from `since`. */
async function recovery(ctx: PhaseContext, since: number): Promise<{ healthyAfterMs: number | null }> {
  const deadline = Date.now() + RECOVERY_MS;
  while (Date.now() < deadline) {
    const ok = await fetch(`${ctx.app.api.baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { healthyAfterMs: Date.now() - since };
    const alive = ctx.app.alive();
    if (!alive.api || !alive.worker) break;
    await sleep(250);
  }
  return { healthyAfterMs: null };
}
