import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import pino from 'pino';
import { projectRoot } from '../../config/settings';
import { RedisKeys } from '../../customers/keys';
import { createDeliveryQueues } from '../../delivery/queues';
import { loadJourneys } from '../../language/load';
import type { Journey } from '../../language/types';
import { loadTemplates } from '../../messages/templates';
import { EVENTS_QUEUE, type IngestEvent } from '../../queues/events';
import { freePort } from '../../runtime/child-process';
import { redisOptionsFromUrl } from '../../runtime/redis-server';
import { fastJourneys } from '../lib/fast-journeys';
import { Checker, type CheckReport } from './checks';
import { DeliveryLog } from './deliveries';
import { PHASES, restartDead, type PhaseContext, type PhaseResult } from './phases';
import { Receiver } from './receiver';
import { DrillApp, DrillServers, drillPaths, writeChannelConfig } from './servers';
import { Traffic } from './traffic';

/*
 * `npm run drill`: fault drills against the real app, split in an api and a worker process, on
 * a redis-server and a Temporal dev server of the drill's own. While customers stream in, it
 * kills the worker, restarts Redis, restarts Temporal and makes the SMS provider fail; after
 * each, it checks that nothing was lost, doubled or left stuck. Exits 1 on any problem.
 * See docs/drills.md.
 */

/** Journey time compressed: the 7-day wait becomes 6 s, the 72-hour one 2.6 s, 30 min 0.2 s. */
const SCALE = 1e-5;
/** One new customer every 400 ms: about 6 requests/s in steady state. */
const INTERVAL_MS = 400;
const MAX_CUSTOMERS = 2_000;
/** Steady traffic, checked once, before the first fault. */
const STEADY_MS = 5_000;
/**
 * The last check waits for every queue to drain: a message whose sender was killed mid-send is
 * retried only once its delivery lease (2 min) has expired.
 */
const FINAL_TIMEOUT_MS = 240_000;
/** The whole drill is cut off after this long, whatever happens. */
const MAX_DRILL_MS = 12 * 60_000;
/** Prefixes the app uses by default (the drill does not set them). */
const QUEUE_PREFIX = 'tp-bull';
const KEY_PREFIX = 'tp';

const started = Date.now();
const say = (line: string) =>
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);

interface PhaseSummary {
  name: string;
  what: string;
  observed: Record<string, unknown>;
  check: CheckReport;
}

async function main(): Promise<number> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tp-drill-'));
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  };
  const abort = (why: string, code: number) => {
    say(`aborting: ${why}`);
    void cleanup().finally(() => process.exit(code));
  };
  const watchdog = setTimeout(() => abort(`over ${MAX_DRILL_MS / 60_000} min`, 2), MAX_DRILL_MS);
  process.once('SIGINT', () => abort('SIGINT', 130));
  process.once('SIGTERM', () => abort('SIGTERM', 143));

  try {
    say(`drill dir ${root}`);
    const journeysDir = await fastJourneys(SCALE);
    cleanups.push(() => rm(journeysDir, { recursive: true, force: true }));
    const paths = drillPaths(root, journeysDir);
    const templates = loadTemplates(path.join(projectRoot, 'templates'));
    const journeys = new Map<string, Journey>(loadJourneys(journeysDir, { templates }).map((j) => [j.id, j]));

    const receiver = new Receiver();
    const receiverUrl = await receiver.start();
    cleanups.push(() => receiver.stop());
    await writeChannelConfig(paths.configFile, receiverUrl);

    const servers = new DrillServers(paths, logger);
    cleanups.push(() => servers.stop());
    await servers.startRedis();
    await servers.startTemporal();
    say(`redis-server at ${servers.redisUrl}, Temporal dev server at ${servers.temporalAddress}`);

    const app = new DrillApp(paths, servers, await freePort());
    cleanups.push(() => app.stop());
    await app.start();
    say(
      `app: api pid ${app.api.pid} on ${app.api.baseUrl}, worker pid ${app.worker.pid} (${receiverUrl} for sms)`,
    );

    // The drill's own view of Redis: processed markers, queue counts, the order jobs' finish times.
    const redis = new IORedis({ ...redisOptionsFromUrl(servers.redisUrl), maxRetriesPerRequest: null });
    redis.on('error', () => undefined); // expected while redis-server restarts; commands wait
    cleanups.push(async () => redis.disconnect());
    const eventsQueue = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: redis, prefix: QUEUE_PREFIX });
    const deliveryQueues = Object.values(createDeliveryQueues(redis, QUEUE_PREFIX));
    for (const q of [eventsQueue, ...deliveryQueues]) {
      q.on('error', () => undefined);
      cleanups.push(() => q.close());
    }
    const keys = new RedisKeys(KEY_PREFIX);
    const connection = await Connection.connect({ address: servers.temporalAddress });
    cleanups.push(() => connection.close());
    const temporal = new Client({ connection });

    const deliveries = new DeliveryLog(paths.outboxDir, receiver);
    deliveries.startPolling(250);
    cleanups.push(async () => deliveries.stopPolling());
    const traffic = new Traffic({
      baseUrl: app.api.baseUrl,
      redis,
      keys,
      deliveries,
      intervalMs: INTERVAL_MS,
      maxCustomers: MAX_CUSTOMERS,
    });
    cleanups.push(async () => traffic.abort());
    const checker = new Checker({
      apiUrl: app.api.baseUrl,
      redis,
      keys,
      eventsQueue,
      deliveryQueues,
      deliveries,
      receiver,
      journeys,
      temporal,
    });
    const ctx: PhaseContext = {
      paths,
      servers,
      app,
      receiver,
      traffic,
      say,
      routed: async (customers, role) => {
        const ids = customers.flatMap((c) => c.events.filter((e) => e.role === role).map((e) => e.messageId));
        return ids.length === 0 ? 0 : redis.exists(...ids.map((id) => keys.processedEvent(id)));
      },
    };

    const summaries: PhaseSummary[] = [];
    const problems = new Set<string>();
    const record = (name: string, what: string, result: PhaseResult, check: CheckReport) => {
      summaries.push({ name, what, observed: result.observed, check });
      for (const p of [...result.problems, ...check.problems]) problems.add(p);
      print(check, result);
    };

    traffic.phase = 'steady';
    traffic.start();
    say(`traffic: a customer every ${INTERVAL_MS} ms (browse, dormant, bystander; a third order)`);
    await sleep(STEADY_MS);
    record(
      'steady',
      'no fault',
      { observed: {}, problems: [] },
      await checker.check('steady', [...traffic.customers], { timeoutMs: 60_000 }),
    );

    for (const phase of PHASES) {
      traffic.phase = phase.name;
      say(`phase ${phase.name}: ${phase.what}`);
      const result = await phase.run(ctx);
      say(`phase ${phase.name} observed ${JSON.stringify(result.observed)}`);
      const check = await checker.check(phase.name, [...traffic.customers], {
        timeoutMs: phase.checkTimeoutMs,
      });
      result.problems.push(...(await restartDead(ctx, `the check after ${phase.name}`)));
      record(phase.name, phase.what, result, check);
    }

    traffic.phase = 'drain';
    say('traffic stopping; waiting for every customer to finish');
    await traffic.stop();
    const final = await checker.check('final', [...traffic.customers], {
      timeoutMs: FINAL_TIMEOUT_MS,
      drained: true,
    });
    const lastDead = await restartDead(ctx, 'the drill');
    record('final', 'traffic stopped, queues drained', { observed: {}, problems: lastDead }, final);

    await app.saveLog(root, 'api', 'end of drill');
    await app.saveLog(root, 'worker', 'end of drill');
    const summary = {
      ok: problems.size === 0,
      date: new Date(started).toISOString(),
      machine: {
        host: os.hostname(),
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        memGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
      },
      engine: engineVersion(),
      seconds: Math.round((Date.now() - started) / 1000),
      journeys: Object.fromEntries(
        [...journeys.values()].map((j) => [
          j.id,
          j.steps.map((s) =>
            'timeoutMs' in s
              ? `${s.id}:${s.timeoutMs}ms`
              : 'durationMs' in s
                ? `${s.id}:${s.durationMs}ms`
                : s.id,
          ),
        ]),
      ),
      traffic: {
        customers: traffic.customers.length,
        intervalMs: INTERVAL_MS,
        skippedTicks: traffic.skippedTicks,
        requests: Object.fromEntries(traffic.requests),
      },
      webhook: {
        messages: deliveries.webhookMessages,
        redeliveredDedupedByKey: receiver.redelivered(),
        refused503: receiver.refused,
        killedMidSend: midSend(receiver, summaries),
      },
      outboxLines: deliveries.outboxLines,
      phases: summaries.map((s) => ({
        ...s,
        check: { ...s.check, problems: s.check.problems.slice(0, 20) },
      })),
      problems: [...problems],
      dir: root,
    };
    await writeFile(path.join(root, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    // Per customer, for a post-mortem: what was sent and accepted, and what reached them.
    const customers = traffic.customers.map((c) => ({ ...c, deliveries: deliveries.forCustomer(c.id) }));
    await writeFile(path.join(root, 'customers.json'), `${JSON.stringify(customers)}\n`);
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    say(summary.ok ? 'drill passed' : `drill FAILED: ${problems.size} problem(s); files kept in ${root}`);
    await cleanup();
    if (summary.ok && !process.env.DRILL_KEEP) await rm(root, { recursive: true, force: true });
    return summary.ok ? 0 : 1;
  } catch (err) {
    say(`drill error: ${(err as Error).stack ?? err}`);
    say(`files kept in ${root}`);
    await cleanup();
    return 1;
  } finally {
    clearTimeout(watchdog);
  }
}

/** What became of the SMS the worker was killed in the middle of sending. */
function midSend(receiver: Receiver, summaries: PhaseSummary[]) {
  const key = summaries.find((s) => s.name === 'kill-worker')?.observed.killedMidSend;
  if (typeof key !== 'string') return null;
  const requests = receiver.byKey.get(key) ?? [];
  const [first, ...again] = requests.map((r) => r.at);
  return {
    key,
    requests: requests.length,
    resentAfterS: again.map((at) => Math.round((at - first!) / 100) / 10),
  };
}

/** The engine the drill ran against: commit, and whether the working tree had changes. */
function engineVersion(): { commit: string; uncommittedFiles: number } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8' });
    return {
      commit: git('rev-parse', 'HEAD').trim(),
      uncommittedFiles: git('status', '--porcelain').split('\n').filter(Boolean).length,
    };
  } catch {
    return null;
  }
}

function print(r: CheckReport, phase: PhaseResult): void {
  const q = (c: CheckReport['queues']['events']) => `${c.waiting}w/${c.active}a/${c.delayed}d/${c.failed}f`;
  say(`check ${r.name} (${r.seconds} s, ${r.customers} customers):`);
  const lines = [
    `events    ${r.events.accepted} accepted, ${r.events.processed} processed, ${r.events.notAccepted} never accepted; queues events ${q(r.queues.events)}, delivery ${q(r.queues.delivery)}`,
    `runs      ${r.runs.expected} expected: ${r.runs.completed} completed, ${r.runs.converted} converted, ${r.runs.stuck} stuck, ${r.runs.missing} missing; ${r.runs.bystandersWithoutRun} bystanders untouched`,
    `touches   ${r.touches.due} due, ${r.touches.delivered} delivered once, ${r.touches.missing} missing, ${r.touches.duplicate} duplicate, ${r.touches.undue} undue, ${r.touches.skipped} skipped`,
    `webhook   ${r.touches.redeliveredDedupedByKey} redelivered (deduped by key), ${r.touches.webhookRefused} refused with 503`,
    `orders    ${r.orders.sent} sent: ${r.orders.converted} converted, ${r.orders.lateForTimeout} too late for the timeout, ${r.orders.lost} lost`,
  ];
  if (r.events.routedAgain !== undefined)
    lines.push(
      `repeats   ${r.events.routedAgain} events routed more than once (${r.events.entriesRoutedAgain} entries); ${r.runs.enteredTwice} customers with a second run`,
    );
  for (const line of lines) process.stdout.write(`           ${line}\n`);
  if (r.notes.length > 0)
    process.stdout.write(
      `           notes     ${r.notes.length}: ${r.notes.slice(0, 3).join('; ')}${r.notes.length > 3 ? '; ...' : ''}\n`,
    );
  const problems = [...phase.problems, ...r.problems];
  for (const p of problems.slice(0, 15)) process.stdout.write(`           PROBLEM ${p}\n`);
  if (problems.length > 15) process.stdout.write(`           ... and ${problems.length - 15} more\n`);
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`drill: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
