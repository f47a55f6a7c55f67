import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { google, temporal } from '@temporalio/proto';
import type { CouponStore, CouponView } from '../coupons/store';
import type { TouchLog } from '../customers/touches';
import type { Journey } from '../language/types';
import { customerIdKey, journeyVersionKey, stepKey } from '../runtime/search-attributes';
import {
  journeyWorkflowId,
  stateQuery,
  stopSignal,
  type PathEntry,
  type RunState,
  type StopSignal,
} from '../workflows/definitions';
import { JourneyCounts, type VersionShape } from './journey-counts';
import { maskEntry, messageView, sendKeys, type Secrets } from './run-messages';
import { explainPath } from './path-reasons';
import { decodeCursor, encodeCursor } from './run-cursor';
import { runStatusOf, runsQuery, type RunFilter } from './run-queries';
import type {
  ExplainedState,
  PendingActivityView,
  RunListItem,
  RunMessage,
  RunPage,
  RunView,
  VersionCounts,
} from './run-types';
import { LocalClaims, type ClaimStore } from './retry-claims';
import {
  closeFailure,
  resetFailedRun,
  resetFailingActivities,
  type ResetOutcome,
  type RetryOutcome,
} from './run-retry';

// The answers' types are declared in run-types.ts, which the console imports.
export type * from './run-types';

export interface RunListQuery extends Omit<RunFilter, 'journeyId'> {
  pageSize: number;
  cursor?: string;
}

/** Where the inspector reads what a run did besides Temporal. Each is optional (tests). */
export interface RunSources {
  /** A published journey version (the registry); path reasons are derived from it. */
  journeyVersion?: (journeyId: string, version: number) => Promise<Journey | undefined>;
  touches?: TouchLog;
  coupons?: Pick<CouponStore, 'describe'>;
  /** The customer's profile and the sensitive trait names, to mask rendered messages. */
  profiles?: { get(customerId: string): Promise<Record<string, unknown>>; sensitiveTraits(): string[] };
  /** Who is resetting which failed run (Redis: audit/retry-claims.ts); default this process's memory. */
  retryClaims?: ClaimStore<ResetOutcome>;
  /** How long `remove` waits for the run to close before answering. Default 10 s. */
  removeWaitMs?: number;
}

/** Why an operator action did nothing: no run to act on (404), or nothing to do (409). */
export class RunActionRefused extends Error {
  constructor(
    readonly kind: 'no_run' | 'nothing_to_retry' | 'retry_in_progress',
    message: string,
  ) {
    super(message);
    this.name = 'RunActionRefused';
  }
}

const ACTIVITY_STATES = temporal.api.enums.v1.PendingActivityState;
const EXECUTION_STATUSES = temporal.api.enums.v1.WorkflowExecutionStatus;

/**
 * Reads journey runs back from Temporal (describe, the state query, visibility) and acts on them
 * for operators (remove, retry). One run per (journey, customer) at a time: the workflow id
 * `journey:<journeyId>:<customerId>`; the latest run is the one shown.
 */
export class RunInspector {
  private readonly journeyCounts: JourneyCounts;
  private readonly claims: ClaimStore<ResetOutcome>;

  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    private readonly temporalUiUrl?: string,
    private readonly sources: RunSources = {},
  ) {
    this.claims = sources.retryClaims ?? new LocalClaims();
    this.journeyCounts = new JourneyCounts(client, namespace, (id, v) => this.claims.retried(id, v));
  }

  async describe(
    journeyId: string,
    customerId: string,
    { reveal = false }: { reveal?: boolean } = {},
  ): Promise<RunView | null> {
    const handle = this.client.workflow.getHandle(journeyWorkflowId(journeyId, customerId));
    let d: WorkflowExecutionDescription;
    try {
      d = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    // A closed run still answers queries by replay, as long as a worker is polling.
    const raw = await handle.query(stateQuery).catch(() => null);
    const temporalStatus = d.status.name;
    const failed = ['FAILED', 'TIMED_OUT', 'TERMINATED'].includes(temporalStatus);
    const secrets = reveal ? undefined : await this.secrets(customerId);
    const [state, failure] = await Promise.all([
      raw ? this.explain(journeyId, raw, secrets) : null,
      failed ? closeFailure(this.client, this.namespace, d.workflowId, d.runId) : null,
    ]);
    const pendingActivities = (d.raw.pendingActivities ?? []).map(pendingActivity);
    const runKey = `${d.workflowId}/${d.raw.workflowExecutionInfo?.firstRunId || d.runId}`;
    const path = raw?.path ?? [];
    const [messages, coupons] = await Promise.all([this.messages(runKey, path, secrets), this.coupons(path)]);
    const searchStep = d.typedSearchAttributes.get(stepKey);
    const searchVersion = d.typedSearchAttributes.get(journeyVersionKey);
    return {
      workflowId: d.workflowId,
      runId: d.runId,
      temporalStatus,
      startTime: d.startTime.toISOString(),
      closeTime: d.closeTime?.toISOString() ?? null,
      status:
        raw && temporalStatus === 'COMPLETED'
          ? raw.status
          : runStatusOf(visibilityStatus(temporalStatus), searchStep),
      version: raw?.journeyVersion ?? searchVersion ?? null,
      currentStep: raw ? raw.currentStep : failed && searchStep !== undefined ? searchStep : null,
      state,
      nextWakeAt: nextWake(raw?.wakeAt ?? null, pendingActivities),
      pendingActivities,
      failure,
      retry: retryKind(temporalStatus, pendingActivities),
      messages,
      coupons,
      temporalUiUrl: this.temporalUiUrl
        ? `${this.temporalUiUrl}/namespaces/${encodeURIComponent(this.namespace)}/workflows/${encodeURIComponent(d.workflowId)}/${d.runId}`
        : null,
    };
  }

  /** Runs of a journey from visibility, newest first, a page at a time (opaque cursor). */
  async list(journeyId: string, { pageSize, cursor, ...filter }: RunListQuery): Promise<RunPage> {
    const query = runsQuery({ journeyId, ...filter });
    const nextPageToken = cursor ? decodeCursor(cursor, query) : undefined;
    const res = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.namespace,
      query,
      pageSize,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    const runs = (res.executions ?? []).map((e): RunListItem => {
      const fields = e.searchAttributes?.indexedFields ?? {};
      const step = attribute(fields[stepKey.name]);
      const version = attribute(fields[journeyVersionKey.name]);
      const status = runStatusOf(
        visibilityStatus(EXECUTION_STATUSES[e.status ?? 0] ?? ''),
        typeof step === 'string' ? step : undefined,
      );
      return {
        customerId: String(attribute(fields[customerIdKey.name]) ?? ''),
        workflowId: e.execution?.workflowId ?? '',
        runId: e.execution?.runId ?? '',
        version: typeof version === 'number' ? version : null,
        step: typeof step === 'string' && !step.startsWith('(') ? step : null,
        status,
        startTime: isoOf(e.startTime),
        closeTime: isoOf(e.closeTime),
      };
    });
    const token = res.nextPageToken?.length ? res.nextPageToken : undefined;
    return { runs, nextCursor: token ? encodeCursor(token, query) : null };
  }

  counts(journeyId: string, versions: readonly VersionShape[]): Promise<VersionCounts[]> {
    return this.journeyCounts.count(journeyId, versions);
  }

  /**
   * Ends the customer's running run at once (the `stop` signal: the run records who and why and
   * ends `exited`), waits for it to close, and answers it as it ended.
   */
  async remove(
    journeyId: string,
    customerId: string,
    stop: StopSignal,
  ): Promise<{ before: RunView; after: RunView }> {
    const before = await this.describe(journeyId, customerId);
    if (!before || before.temporalStatus !== 'RUNNING') {
      throw new RunActionRefused(
        'no_run',
        `no running run of journey ${JSON.stringify(journeyId)} for this customer`,
      );
    }
    const handle = this.client.workflow.getHandle(before.workflowId, before.runId);
    try {
      await handle.signal(stopSignal, stop);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new RunActionRefused('no_run', 'the run ended before it could be removed');
      throw err;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      handle.result().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, this.sources.removeWaitMs ?? 10_000))),
    ]);
    clearTimeout(timer);
    return { before, after: (await this.describe(journeyId, customerId)) ?? before };
  }

  /**
   * Retries what made the run stop moving (audit/run-retry.ts): a failed or timed-out run is
   * reset, a running run's failing activities are reset. RunActionRefused when there is nothing.
   */
  async retry(
    journeyId: string,
    customerId: string,
    { reason, by }: StopSignal,
  ): Promise<{ before: RunView; outcome: RetryOutcome; repeated: boolean }> {
    const before = await this.describe(journeyId, customerId);
    if (!before)
      throw new RunActionRefused(
        'no_run',
        `no run of journey ${JSON.stringify(journeyId)} for this customer`,
      );
    const execution = { workflowId: before.workflowId, runId: before.runId };
    if (before.retry === 'reset') {
      const { outcome, repeated } = await this.reset(
        journeyId,
        before,
        `${reason} (retried by ${by} through Touchpoint)`,
      );
      return { before, outcome, repeated };
    }
    if (before.retry === 'activity') {
      const failing = before.pendingActivities.filter((a) => a.attempt > 1);
      const outcome = await resetFailingActivities(this.client, this.namespace, execution, failing, by);
      return { before, outcome, repeated: false };
    }
    throw new RunActionRefused(
      'nothing_to_retry',
      before.temporalStatus === 'RUNNING'
        ? 'the run is running and none of its activities is failing'
        : `the run is ${before.temporalStatus.toLowerCase()}: only failed or timed-out runs are retried`,
    );
  }

  /**
   * Resets the failed run once, however many requests ask at once (audit/retry-claims.ts); a
   * request that finds it reset already gets that reset's outcome, `repeated`.
   */
  private async reset(
    journeyId: string,
    run: RunView,
    reason: string,
  ): Promise<{ outcome: ResetOutcome; repeated: boolean }> {
    const { workflowId, runId } = run;
    const claim = await this.claims.claim(workflowId, runId);
    if (!claim.claimed) {
      if (claim.outcome) return { outcome: claim.outcome, repeated: true };
      throw new RunActionRefused('retry_in_progress', 'this failed run is being retried by another request');
    }
    let outcome: ResetOutcome | null;
    try {
      outcome = await resetFailedRun(this.client, this.namespace, { workflowId, runId }, reason);
    } catch (err) {
      await this.claims.release(workflowId, runId);
      throw err;
    }
    if (!outcome) {
      await this.claims.release(workflowId, runId);
      throw new RunActionRefused(
        'nothing_to_retry',
        'the failed run has no completed workflow task to retry from',
      );
    }
    await this.claims.done(workflowId, runId, outcome, { journeyId, version: run.version ?? 0 });
    return { outcome, repeated: false };
  }

  /** The state with a reason on each path entry, from the journey version each entry was made on. */
  private async explain(
    journeyId: string,
    state: RunState,
    secrets: Secrets | undefined,
  ): Promise<ExplainedState> {
    const versions = versionsAlongPath(state);
    const journeys = new Map<number, Journey | undefined>();
    await Promise.all(
      [...new Set(versions)].map(async (v) => {
        journeys.set(v, await this.sources.journeyVersion?.(journeyId, v).catch(() => undefined));
      }),
    );
    const path = secrets ? state.path.map((entry) => maskEntry(entry, secrets)) : state.path;
    return { ...state, path: explainPath(path, (i) => journeys.get(versions[i]!)) };
  }

  /** The customer's sensitive values, for masking (without a profile store: patterns only). */
  private async secrets(customerId: string): Promise<Secrets> {
    const { profiles } = this.sources;
    if (!profiles) return [];
    const traits = await profiles.get(customerId);
    return profiles.sensitiveTraits().map((name) => ({ name, value: traits[name] }));
  }

  private async messages(
    runKey: string,
    path: readonly PathEntry[],
    secrets: Secrets | undefined,
  ): Promise<RunMessage[]> {
    const { touches } = this.sources;
    if (!touches) return [];
    const keys = sendKeys(runKey, path);
    const records = await Promise.all(keys.map(async (key) => ({ key, touch: await touches.get(key) })));
    return records.flatMap(({ key, touch }) => (touch ? [messageView(key, touch, secrets)] : []));
  }

  private async coupons(path: readonly PathEntry[]): Promise<CouponView[]> {
    const { coupons } = this.sources;
    if (!coupons) return [];
    const codes = path
      .filter((e) => e.type === 'issueCoupon' && typeof e.detail?.code === 'string')
      .map((e) => e.detail!.code as string);
    const views = await Promise.all([...new Set(codes)].map((code) => coupons.describe(code)));
    return views.filter((v): v is CouponView => v !== null);
  }
}

/** The journey version each path entry was made on: migrations switch it part way. */
function versionsAlongPath(state: RunState): number[] {
  const firstMigration = state.path.find((e) => e.type === 'migrate' && e.outcome?.startsWith('version:'));
  let version = firstMigration ? Number(firstMigration.detail?.from) : state.journeyVersion;
  return state.path.map((entry) => {
    const at = version;
    if (entry.type === 'migrate' && entry.outcome?.startsWith('version:')) {
      version = Number(entry.outcome.slice('version:'.length));
    }
    return at;
  });
}

function pendingActivity(p: temporal.api.workflow.v1.IPendingActivityInfo): PendingActivityView {
  const state = ACTIVITY_STATES[p.state ?? 0] ?? '';
  return {
    activityId: p.activityId ?? '',
    activityType: p.activityType?.name ?? '',
    attempt: p.attempt ?? 1,
    maximumAttempts: p.maximumAttempts ?? 0,
    state: state.replace(/^PENDING_ACTIVITY_STATE_/, ''),
    lastFailure: p.lastFailure?.message ?? null,
    lastAttemptAt: isoOf(p.lastAttemptCompleteTime),
    nextAttemptAt: isoOf(p.nextAttemptScheduleTime),
  };
}

function retryKind(temporalStatus: string, pending: readonly PendingActivityView[]): RunView['retry'] {
  if (temporalStatus === 'FAILED' || temporalStatus === 'TIMED_OUT') return 'reset';
  if (temporalStatus === 'RUNNING' && pending.some((a) => a.attempt > 1)) return 'activity';
  return null;
}

function nextWake(wakeAt: string | null, pending: readonly PendingActivityView[]): string | null {
  const times = [wakeAt, ...pending.map((a) => a.nextAttemptAt)].filter((t): t is string => t !== null);
  return times.length ? times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b)) : null;
}

/** `TIMED_OUT` / `WORKFLOW_EXECUTION_STATUS_TIMED_OUT` → `TimedOut`, as visibility queries name it. */
function visibilityStatus(name: string): string {
  return name
    .replace(/^WORKFLOW_EXECUTION_STATUS_/, '')
    .toLowerCase()
    .split('_')
    .map((w) => (w === 'cancelled' ? 'canceled' : w))
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** A search attribute's value (JSON payload); the first value of a list. */
function attribute(payload: temporal.api.common.v1.IPayload | null | undefined): unknown {
  if (!payload?.data) return undefined;
  const value = JSON.parse(Buffer.from(payload.data).toString('utf8')) as unknown;
  return Array.isArray(value) ? value[0] : value;
}

function isoOf(ts: google.protobuf.ITimestamp | null | undefined): string | null {
  if (!ts?.seconds) return null;
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}
