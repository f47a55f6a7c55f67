import { RedisAuditLog } from '../../audit-log/redis-audit-log';
import type { AuditEntryInput } from '../../audit-log/types';
import { journeyWorkflowId, stateQuery } from '../../workflows/definitions';
import { enterJourney } from './entry';
import { log, type BenchContext } from './setup';
import { forEachConcurrently, perSecond, round, summarize, until } from './stats';
import { identifyCustomers } from './traffic';

const JOURNEY = 'dormant-reactivation';
/** Where dormant-reactivation's customers sleep after both sends. */
const WAIT_STEP = 'wait-order';
const REPEATS = 20;
const AUDIT_CALLERS = 16;

/**
 * Operations (issue 6): what an operator's questions cost, beside the raw Temporal or Redis call
 * they are built on, measured on the same servers in the same run.
 * - counts of a journey (GET /:id/counts: one count per status and per step) vs one raw
 *   CountWorkflowExecutions, and whether the counts agree with the runs;
 * - a page of 50 runs at a step vs raw ListWorkflowExecutions; one run's view vs raw describe +
 *   state query; a customer's timeline; a /metrics scrape;
 * - audit-log appends (hash chain, compare-and-set script) vs raw HSET of the same entries, and
 *   verify of the whole chain.
 */
export async function runOperations(ctx: BenchContext, customers: number, auditEntries: number) {
  const runningQuery = `TouchpointJourneyId = '${JOURNEY}' AND ExecutionStatus = 'Running'`;
  const rawRunning = async () => (await ctx.temporal.workflow.count(runningQuery)).count;
  const ids = Array.from({ length: customers }, (_, i) => `${ctx.runId}-ops-${i}`);
  await identifyCustomers(ctx, ids);
  const before = await rawRunning(); // earlier phases' customers sleep in the same journey
  log(`operations: ${customers} customers enter ${JOURNEY}`);
  await enterJourney(ctx, ids);
  // Visibility lags the runs by a moment: wait until it has them all before timing queries.
  await until(
    () => `visibility to list the ${customers} new runs`,
    async () => (await rawRunning()) >= before + customers,
    60_000,
    200,
  );

  const api = async (route: string) => {
    const res = await fetch(`${ctx.api.baseUrl}${route}`, {
      headers: { authorization: `Bearer ${ctx.adminKey}` },
    });
    if (!res.ok) throw new Error(`GET ${route} answered ${res.status}: ${await res.text()}`);
    return res.text();
  };
  const timed = async (run: () => Promise<unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      await run();
      samples.push(performance.now() - t0);
    }
    return summarize(samples.sort((a, b) => a - b));
  };
  const ratio = (a: { p50: number }, b: { p50: number }) => round(a.p50 / b.p50, 2);

  log('operations: counts, runs, run view, timeline, metrics');
  const counts = JSON.parse(await api(`/v1/journeys/${JOURNEY}/counts`)) as {
    versions: { running: number; steps: Record<string, number> }[];
  };
  const countedRunning = counts.versions.reduce((sum, v) => sum + v.running, 0);
  const countedAtSteps = counts.versions.reduce(
    (sum, v) => sum + Object.values(v.steps).reduce((a, b) => a + b, 0),
    0,
  );
  const countsMs = await timed(() => api(`/v1/journeys/${JOURNEY}/counts`));
  const rawCountMs = await timed(rawRunning);

  const runsPageMs = await timed(() => api(`/v1/journeys/${JOURNEY}/runs?step=${WAIT_STEP}&pageSize=50`));
  const rawListMs = await timed(() =>
    ctx.temporal.workflowService.listWorkflowExecutions({
      namespace: ctx.namespace,
      query: `${runningQuery} AND TouchpointStep = '${WAIT_STEP}'`,
      pageSize: 50,
    }),
  );

  const customer = ids[0]!;
  const runViewMs = await timed(() => api(`/v1/journeys/${JOURNEY}/customers/${customer}`));
  const handle = ctx.temporal.workflow.getHandle(journeyWorkflowId(JOURNEY, customer));
  const rawDescribeMs = await timed(async () => {
    await handle.describe();
    await handle.query(stateQuery);
  });
  const timelineMs = await timed(() => api(`/v1/customers/${customer}/timeline`));
  const metricsScrapeMs = await timed(() => api('/metrics'));

  log(`operations: ${auditEntries} audit appends vs raw HSET`);
  const audit = await benchAuditLog(ctx, auditEntries);

  return {
    method:
      `${customers} customers asleep in ${JOURNEY}'s ${WAIT_STEP}; each HTTP call ${REPEATS}× in a row ` +
      'on the api process with the admin key; raw baselines are the Temporal call the route is built on; ' +
      `audit: ${AUDIT_CALLERS} concurrent callers in the bench process`,
    customers,
    countsAgree: { running: countedRunning, atSteps: countedAtSteps, rawRunning: await rawRunning() },
    countsMs,
    rawCountMs,
    countsVsRawCount: ratio(countsMs, rawCountMs),
    runsPageMs,
    rawListPageMs: rawListMs,
    runsPageVsRawList: ratio(runsPageMs, rawListMs),
    runViewMs,
    rawDescribeAndQueryMs: rawDescribeMs,
    runViewVsRaw: ratio(runViewMs, rawDescribeMs),
    timelineMs,
    metricsScrapeMs,
    audit,
  };
}

async function benchAuditLog(ctx: BenchContext, n: number) {
  const prefix = `${ctx.runId}-bench-audit`;
  const auditLog = new RedisAuditLog(ctx.redis, prefix);
  const input = (i: number): AuditEntryInput => ({
    actor: { name: 'bench', keyId: 'bootstrap-admin', role: 'admin' },
    action: 'run.remove',
    target: `customer:${ctx.runId}-ops-${i}`,
    reason: 'benchmark: remove a customer from a journey',
    detail: { journeyId: JOURNEY, version: 1, stepId: WAIT_STEP },
    from: { ip: '127.0.0.1', userAgent: 'touchpoint-bench', via: 'api' },
  });
  const indexes = Array.from({ length: n }, (_, i) => i);

  const entries: string[] = [];
  let t0 = performance.now();
  await forEachConcurrently(indexes, AUDIT_CALLERS, async (i) => {
    entries[i] = JSON.stringify(await auditLog.append(input(i)));
  });
  const appendMs = performance.now() - t0;

  // Raw: the same bytes, one HSET each, no chain.
  const rawKey = `${prefix}:raw`;
  t0 = performance.now();
  await forEachConcurrently(indexes, AUDIT_CALLERS, async (i) => {
    await ctx.redis.hset(rawKey, String(i + 1), entries[i]!);
  });
  const rawMs = performance.now() - t0;

  t0 = performance.now();
  const verified = await auditLog.verify();
  const verifyMs = performance.now() - t0;
  const appendsPerSec = perSecond(n, appendMs);
  const rawHsetPerSec = perSecond(n, rawMs);
  return {
    entries: n,
    appendsPerSec,
    rawHsetPerSec,
    appendVsRaw: round(appendsPerSec / rawHsetPerSec, 2),
    verifyOk: verified.ok,
    verifyEntriesPerSec: perSecond(verified.entries, verifyMs),
    bytesPerEntry: round(entries.reduce((sum, e) => sum + e.length, 0) / n),
  };
}
