import { projectRoot } from '../../config/settings';
import { runCustomerMemory } from './customer-memory';
import { runDelivery } from './delivery';
import { runEntry } from './entry';
import { runFootprint } from './footprint';
import { runIdentity } from './identity';
import { runImportBench } from './import';
import { runIngest } from './ingest';
import { runLatency } from './latency';
import { runOperations } from './operations';
import { gitRevision, loadAverage, machineInfo } from './machine';
import { Cleanup, log, setUp, type BenchContext } from './setup';
import { runSegments } from './segments';
import { round } from './stats';

/*
 * `npm run bench`: what Touchpoint sustains on this machine, beside the raw speed of the parts it
 * is built on, measured in one run on the same servers. Prints one JSON object on stdout;
 * progress goes to stderr. See docs/performance.md.
 *
 * Knobs (environment): TEMPORAL_ADDRESS / REDIS_URL (use these servers instead of starting
 * embedded ones), BENCH_PHASES (comma list, default all), BENCH_DURATION_S (ingest, per run),
 * BENCH_ENTRY_CUSTOMERS, BENCH_LATENCY_S, BENCH_FOOTPRINT_CUSTOMERS, BENCH_IDENTITY_CUSTOMERS,
 * BENCH_MEMORY_CUSTOMERS, BENCH_SEGMENT_CUSTOMERS, BENCH_IMPORT_ROWS, BENCH_OPS_CUSTOMERS,
 * BENCH_AUDIT_ENTRIES, BENCH_CPU_PROF=dir (V8 CPU
 * profiles of the app processes), BENCH_KEEP=1 (keep the temp dir).
 */

const PHASES = [
  'ingest',
  'entry',
  'latency',
  'footprint',
  'delivery',
  'identity',
  'customerMemory',
  'segments',
  'import',
  'operations',
] as const;
type Phase = (typeof PHASES)[number];

/** The whole bench stops by itself after this, whatever state it is in (1 million rows / customers take a while). */
const WATCHDOG_MS = 30 * 60_000;

function intEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number`);
  return value;
}

function selectedPhases(): Set<Phase> {
  const names = (process.env.BENCH_PHASES ?? PHASES.join(',')).split(',').map((p) => p.trim());
  for (const name of names)
    if (!PHASES.includes(name as Phase)) throw new Error(`unknown phase "${name}": use ${PHASES.join(', ')}`);
  const phases = new Set(names as Phase[]);
  if (phases.has('latency')) phases.add('entry'); // its rates are fractions of the entry capacity
  return phases;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const phases = selectedPhases();
  const cleanup = new Cleanup();
  const abort = (why: string, code: number) => {
    log(`${why}: stopping`);
    void cleanup.run().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('SIGINT', 130));
  process.once('SIGTERM', () => abort('SIGTERM', 143));
  setTimeout(() => abort(`still running after ${WATCHDOG_MS / 60_000} min`, 1), WATCHDOG_MS).unref();

  const loadAtStart = loadAverage();
  const result: Record<string, unknown> = {
    bench: 'touchpoint',
    date: startedAt.toISOString(),
    revision: gitRevision(projectRoot),
    machine: machineInfo(),
  };
  let ctx: BenchContext | undefined;
  try {
    ctx = await setUp(cleanup);
    await runPhases(ctx, phases, result);
  } catch (err) {
    // What the app processes said last is usually why.
    for (const app of ctx ? [ctx.api, ctx.worker] : [])
      log(`output of app pid ${app.pid}:\n${app.output.split('\n').slice(-20).join('\n')}`);
    throw err;
  } finally {
    await cleanup.run();
  }
  result.loadAverage = { start: loadAtStart, end: loadAverage() };
  result.durationS = round((Date.now() - startedAt.getTime()) / 1000);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

async function runPhases(ctx: BenchContext, phases: Set<Phase>, result: Record<string, unknown>) {
  result.setup = {
    redis: ctx.embedded.redis ? 'embedded redis-server, AOF everysec, unix socket' : 'REDIS_URL',
    temporal: ctx.embedded.temporal ? 'embedded Temporal dev server, SQLite WAL' : 'TEMPORAL_ADDRESS',
    processes: { api: 'api', worker: 'router,journeys,delivery' },
    temporalServerVersion: (await ctx.temporal.workflowService.getSystemInfo({})).serverVersion,
    journeys:
      'shipped journeys/: customers enter dormant-reactivation (sends SMS, then WeCom, then waits 7 d)',
    rules: 'quiet hours off (else night-time sends wait for the morning); consent and caps default',
  };
  if (phases.has('ingest')) {
    const options = { durationS: intEnv('BENCH_DURATION_S', 10), connections: 50, batchSize: 100 };
    result.ingest = await runIngest(ctx, options);
  }
  if (phases.has('entry')) {
    const customers = intEnv('BENCH_ENTRY_CUSTOMERS', 300);
    const entry = await ctx.profiled('entry', () => runEntry(ctx, customers));
    result.entry = entry;
    if (phases.has('latency')) {
      const durationS = intEnv('BENCH_LATENCY_S', 15);
      result.latency = await runLatency(ctx, entry.engine.capacityPerSec, [0.5, 0.9], durationS);
    }
  }
  // After entry and latency, so that the worker is warm and what grows is per customer.
  if (phases.has('footprint'))
    result.footprint = await runFootprint(ctx, intEnv('BENCH_FOOTPRINT_CUSTOMERS', 400));
  if (phases.has('delivery')) result.delivery = await ctx.profiled('delivery', () => runDelivery(ctx));
  // Customers (issue 5): identity + profile rate, memory per customer, segment re-evaluation, import.
  const guarded = async (name: string, run: () => Promise<unknown>) => {
    try {
      return await ctx.profiled(name, run);
    } catch (err) {
      // One phase failing keeps the others' figures; the JSON says what went wrong.
      log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
      return { error: (err as Error).message };
    }
  };
  if (phases.has('identity'))
    result.identity = await guarded('identity', () =>
      runIdentity(ctx, intEnv('BENCH_IDENTITY_CUSTOMERS', 2000)),
    );
  if (phases.has('customerMemory'))
    result.customerMemory = await guarded('customerMemory', () =>
      runCustomerMemory(ctx, intEnv('BENCH_MEMORY_CUSTOMERS', 2000)),
    );
  if (phases.has('segments'))
    result.segments = await guarded('segments', () =>
      runSegments(ctx, intEnv('BENCH_SEGMENT_CUSTOMERS', 1_000_000)),
    );
  if (phases.has('import'))
    result.import = await guarded('import', () =>
      runImportBench(ctx, intEnv('BENCH_IMPORT_ROWS', 1_000_000)),
    );
  // Operations (issue 6): the operator's questions and the audit log, beside raw calls.
  if (phases.has('operations'))
    result.operations = await guarded('operations', () =>
      runOperations(ctx, intEnv('BENCH_OPS_CUSTOMERS', 300), intEnv('BENCH_AUDIT_ENTRIES', 5000)),
    );
  // Commands that failed while running (a script error, a wrong type) during the run: expected
  // none. (Not INFO errorstats: that also counts clients probing for CLIENT SETINFO on Redis 7.0.)
  const commandStats = await ctx.redis.info('commandstats');
  result.redisFailedCalls = Object.fromEntries(
    [...commandStats.matchAll(/^cmdstat_(\S+):.*failed_calls=(\d+)/gm)]
      .filter(([, , failed]) => failed !== '0')
      .map(([, command, failed]) => [command, Number(failed)]),
  );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    log(`failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
