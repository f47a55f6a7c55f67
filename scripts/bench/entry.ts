import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Queue } from 'bullmq';
import { EVENTS_QUEUE } from '../../queues/events';
import { journeyWorkflowId } from '../../workflows/definitions';
import { benchEmptyWorkflow, benchSignal } from './empty-workflow';
import { CpuMeter } from './machine';
import { OutboxTail } from './outbox';
import { log, type BenchContext } from './setup';
import { forEachConcurrently, perSecond, round, summarize, until } from './stats';
import { dormantEntry, identifyCustomers, post, queueIdle } from './traffic';

/** The router's BullMQ concurrency (router/worker.ts): how many signalWithStart calls it has in flight. */
export const ROUTER_CONCURRENCY = 8;
/** Closed-loop HTTP senders of the entry events. */
const HTTP_CONCURRENCY = 50;

/**
 * Journey entry: N customers (identified beforehand) each send the dormant-reactivation entry
 * event; timed from the first POST until every customer's first step (the SMS) is in the outbox,
 * and until the second (WeCom) is too, after which the run sleeps in its 7-day waitFor. Beside it,
 * the raw speed of Temporal on the same server: N signalWithStart calls of an empty workflow, with
 * the router's concurrency, timed until all N have run.
 */
export async function runEntry(ctx: BenchContext, customers: number) {
  const ids = Array.from({ length: customers }, (_, i) => `${ctx.runId}-entry-${i}`);
  log(`entry: identifying ${customers} customers`);
  await identifyCustomers(ctx, ids);
  log(`entry: ${customers} customers enter dormant-reactivation`);
  const engine = await enterJourney(ctx, ids);
  log(`entry: ${engine.journeysStartedPerSec} journeys started/s, ${engine.capacityPerSec} fully entered/s`);
  const raw = await rawSignalWithStart(ctx, customers);
  log(`entry: raw signalWithStart ${raw.workflowsRunPerSec} workflows run/s`);
  const historyEvents = {
    journeyAsleep: await historyLength(ctx, journeyWorkflowId('dormant-reactivation', ids[0]!)),
    emptyWorkflow: await historyLength(ctx, `${ctx.runId}-empty-0`),
  };
  return {
    method:
      `${customers} customers; POST /v1/track (${HTTP_CONCURRENCY} in flight) → router → signalWithStart → ` +
      'first step (SMS) in the outbox; raw: signalWithStart of an empty workflow on the same server, ' +
      `${ROUTER_CONCURRENCY} in flight (the router's concurrency), run = first workflow task completed`,
    engine,
    raw,
    engineOverRaw: round(engine.journeysStartedPerSec / raw.workflowsRunPerSec, 3),
    /** Temporal history events of one run: what the server persists per journey entry vs an empty run. */
    historyEvents,
    /** Temporal server CPU per workflow: where the time goes. */
    temporalCpuMsPerWorkflow: {
      journey: cpuMsPer(engine.cpuPercent.temporal, engine.capacityPerSec),
      emptyWorkflow: cpuMsPer(raw.cpuPercent.temporal, raw.workflowsRunPerSec),
    },
  };
}

/** ms of CPU per item from a CPU % of one core and a rate per second. */
function cpuMsPer(cpuPercent: number | undefined, perSec: number): number | null {
  return cpuPercent === undefined ? null : round((cpuPercent * 10) / perSec, 1);
}

async function historyLength(ctx: BenchContext, workflowId: string): Promise<number> {
  const history = await ctx.temporal.workflow.getHandle(workflowId).fetchHistory();
  return history.events?.length ?? 0;
}

/**
 * Sends the entry event for each customer (closed loop) and waits until each has its SMS and its
 * WeCom message in the outbox. Customers must have been identified (they need a phone).
 */
export async function enterJourney(ctx: BenchContext, customerIds: string[], timeoutMs = 180_000) {
  const sms = await OutboxTail.start(ctx.outboxDir, 'sms');
  const wecom = await OutboxTail.start(ctx.outboxDir, 'wecom');
  const events = new Queue(EVENTS_QUEUE, { connection: ctx.redis, prefix: ctx.queuePrefix });
  const cpu = new CpuMeter(ctx.pids());
  try {
    const t0 = Date.now();
    let routedAt: number | undefined;
    await forEachConcurrently(customerIds, HTTP_CONCURRENCY, (id) =>
      post(ctx, '/v1/track', dormantEntry(id)),
    );
    const httpDoneAt = Date.now();
    await until(
      () =>
        `${customerIds.length} customers to reach the WeCom step (SMS sent to ${sms.countOf(customerIds)}, ` +
        `WeCom to ${wecom.countOf(customerIds)}, events routed: ${routedAt !== undefined})`,
      async () => {
        routedAt ??= (await queueIdle(events)) ? Date.now() : undefined;
        await Promise.all([sms.poll(), wecom.poll()]);
        return wecom.countOf(customerIds) === customerIds.length;
      },
      timeoutMs,
      100,
    );
    const cpuPercent = cpu.stop();
    await sms.poll();
    const lastAt = (tail: OutboxTail) =>
      Math.max(...customerIds.map((id) => Date.parse(tail.firstByCustomer.get(id)!.at)));
    const firstStepMs = lastAt(sms) - t0;
    const enteredMs = lastAt(wecom) - t0;
    const n = customerIds.length;
    return {
      customers: n,
      /** Customers whose first step (the SMS) was sent, per second. */
      journeysStartedPerSec: perSecond(n, firstStepMs),
      /** Customers through both sends and asleep in waitFor, per second: what the engine sustains. */
      capacityPerSec: perSecond(n, enteredMs),
      httpAcceptedPerSec: perSecond(n, httpDoneAt - t0),
      routedPerSec: routedAt ? perSecond(n, routedAt - t0) : null,
      firstStepS: round(firstStepMs / 1000, 2),
      enteredS: round(enteredMs / 1000, 2),
      duplicates: sms.duplicates() + wecom.duplicates(),
      cpuPercent,
    };
  } finally {
    await Promise.all([sms.stop(), wecom.stop(), events.close()]);
  }
}

/** Empty workflows on their own task queue and worker (in this process), started like journeys. */
async function rawSignalWithStart(ctx: BenchContext, count: number) {
  const taskQueue = `${ctx.runId}-empty`;
  // The SDK's own logs to stderr, warnings and up: stdout is for the result.
  Runtime.install({ logger: new DefaultLogger('WARN', (entry) => log(`temporal-sdk: ${entry.message}`)) });
  const connection = await NativeConnection.connect({ address: ctx.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: ctx.namespace,
    taskQueue,
    workflowsPath: require.resolve('./empty-workflow'),
  });
  const running = worker.run();
  try {
    log(`entry: raw signalWithStart of ${count} empty workflows, ${ROUTER_CONCURRENCY} in flight`);
    const cpu = new CpuMeter({ temporal: ctx.serverPids.temporal });
    const latencies: number[] = [];
    const ids = Array.from({ length: count }, (_, i) => `${ctx.runId}-empty-${i}`);
    const t0 = Date.now();
    await forEachConcurrently(ids, ROUTER_CONCURRENCY, async (workflowId) => {
      const t = performance.now();
      await ctx.temporal.workflow.signalWithStart(benchEmptyWorkflow, {
        workflowId,
        taskQueue,
        signal: benchSignal,
        signalArgs: [{ event: 'segment_entered' }],
      });
      latencies.push(performance.now() - t);
    });
    const calledMs = Date.now() - t0;
    // Completed means its first (and only) workflow task ran, as a journey's first step does.
    const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'`;
    let doneMs = 0;
    await until(
      `${count} empty workflows to complete`,
      async () => {
        const { count: done } = await ctx.temporal.workflow.count(query);
        doneMs = Date.now() - t0;
        return done >= count;
      },
      120_000,
      100,
    );
    const cpuPercent = cpu.stop();
    const latency = summarize(latencies, 1);
    return {
      workflows: count,
      concurrency: ROUTER_CONCURRENCY,
      signalWithStartPerSec: perSecond(count, calledMs),
      /** Completed per second, seen through visibility (polled every 100 ms). */
      workflowsRunPerSec: perSecond(count, doneMs),
      callLatencyMs: { p50: latency.p50, p99: latency.p99 },
      cpuPercent,
    };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}
