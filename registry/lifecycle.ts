import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { checkMigration } from '../language/analysis';
import type { Journey } from '../language/types';
import { journeyIdKey, journeyVersionKey } from '../runtime/search-attributes';
import { migrateSignal, stopSignal } from '../workflows/definitions';
import { RegistryError, type FieldIssue } from './errors';
import type { JourneyStore, PublishResult } from './store';
import type { JourneyStatus, SourceFormat } from './types';

type RunHandle = ReturnType<Client['workflow']['getHandle']>;

export interface LifecycleDeps {
  store: JourneyStore;
  /** Finds and signals running runs (stop, migrate). */
  temporal: Pick<Client, 'workflow'>;
  logger?: Logger;
  /** Signals in flight at once while stopping or migrating many runs. Default 16. */
  signalConcurrency?: number;
  /**
   * A stop looks for running runs a second time after this long (default 1 s), for runs that
   * entered just before the journey closed and were not yet visible to the first search.
   */
  stopResweepMs?: number;
}

export interface Actor {
  /** Who acts: the API's X-Touchpoint-Actor, `admin` by default; `startup` for seeding. */
  by: string;
}

export interface StatusChange {
  id: string;
  status: JourneyStatus;
  version: number;
}

/**
 * Publish, pause, resume, stop and migrate, each recorded in the journey's history with who,
 * when and why. Status changes are atomic in the store; stop and migrate then signal the running
 * runs they concern, found through Temporal visibility (the search attributes every run carries).
 */
export class JourneyLifecycle {
  private readonly store: JourneyStore;
  private readonly temporal: Pick<Client, 'workflow'>;
  private readonly concurrency: number;

  constructor(private readonly deps: LifecycleDeps) {
    this.store = deps.store;
    this.temporal = deps.temporal;
    this.concurrency = deps.signalConcurrency ?? 16;
  }

  /**
   * Publishes `source` (or, without one, the journey's draft) as the journey's next version.
   * `id` (from the URL) must match the source's id. Invalid sources publish nothing.
   */
  async publish(
    id: string,
    request: Actor & { source?: string; format?: SourceFormat; note?: string },
  ): Promise<PublishResult> {
    let { source, format } = request;
    if (source === undefined) {
      const draft = await this.store.draft(id);
      if (!draft) {
        throw new RegistryError('invalid', `journey ${id} has no draft to publish`, [
          { path: 'source', message: 'is required when the journey has no draft' },
        ]);
      }
      ({ source, format } = draft);
    }
    const result = await this.store.publish(source, { id, format, by: request.by, note: request.note });
    if (result.ok && result.created) {
      this.deps.logger?.info({ journeyId: id, version: result.version, by: request.by }, 'journey published');
    }
    return result;
  }

  /** No new entries; running customers go on. */
  async pause(id: string, request: Actor & { reason?: string }): Promise<StatusChange> {
    const moved = await this.store.transition(id, {
      action: 'pause',
      from: ['published'],
      to: 'paused',
      ...request,
    });
    this.deps.logger?.info({ journeyId: id, by: request.by, reason: request.reason }, 'journey paused');
    return { id, status: moved.status, version: moved.version };
  }

  /** Opens a paused (or stopped) journey for new entries again, at its latest version. */
  async resume(id: string, request: Actor & { reason?: string }): Promise<StatusChange> {
    const moved = await this.store.transition(id, {
      action: 'resume',
      from: ['paused', 'stopped'],
      to: 'published',
      ...request,
    });
    this.deps.logger?.info({ journeyId: id, by: request.by, reason: request.reason }, 'journey resumed');
    return { id, status: moved.status, version: moved.version };
  }

  /**
   * Closes the journey for entries, then sends every running run of it (any version) the `stop`
   * signal with the reason and who; answers how many runs were signalled. Stopping a stopped
   * journey again signals whatever still runs.
   */
  async stop(id: string, request: Actor & { reason: string }): Promise<StatusChange & { stopped: number }> {
    const moved = await this.store.transition(id, {
      action: 'stop',
      from: ['published', 'paused', 'stopped'],
      to: 'stopped',
      ...request,
    });
    const query = `${journeyIdKey.name} = ${quote(id)} AND ExecutionStatus = "Running"`;
    const send = (handle: RunHandle) => handle.signal(stopSignal, { reason: request.reason, by: request.by });
    const first = await this.runningRuns(query);
    let stopped = await this.signalAll(first, send);
    // Visibility lags a little behind the runs: look once more for runs that entered just before.
    await new Promise((resolve) => setTimeout(resolve, this.deps.stopResweepMs ?? 1000));
    const seen = new Set(first);
    const late = (await this.runningRuns(query)).filter((workflowId) => !seen.has(workflowId));
    stopped += await this.signalAll(late, send);
    await this.store.annotateHistory(id, moved.historyIndex, { runs: stopped });
    this.deps.logger?.info(
      { journeyId: id, by: request.by, reason: request.reason, stopped },
      'journey stopped',
    );
    return { id, status: moved.status, version: moved.version, stopped };
  }

  /**
   * Moves the running customers of version `from` to version `to`: each continues at
   * `mapping[its current step]`; steps of `from` that `to` also has map to themselves unless
   * mapped. The mapping is checked first (every step a customer can be at must land on a step
   * of `to`); a bad one changes nothing. Answers how many runs were signalled.
   */
  async migrate(
    id: string,
    request: Actor & { from: number; to: number; mapping: Record<string, string>; reason: string },
  ): Promise<{ id: string; from: number; to: number; migrated: number }> {
    const { from, to, mapping, reason, by } = request;
    const state = await this.store.state(id);
    if (!state || state.latest === 0)
      throw new RegistryError('not_found', `no journey ${JSON.stringify(id)}`);
    const [source, target] = await Promise.all([this.store.version(id, from), this.store.version(id, to)]);
    const issues: FieldIssue[] = [];
    if (!source) issues.push({ path: 'from', message: `journey ${id} has no version ${from}` });
    if (!target) issues.push({ path: 'to', message: `journey ${id} has no version ${to}` });
    if (source && target && from === to) issues.push({ path: 'to', message: 'must differ from `from`' });
    if (issues.length === 0) issues.push(...migrationIssues(source!.journey, target!.journey, mapping));
    if (issues.length > 0) {
      throw new RegistryError('invalid', `the migration from v${from} to v${to} is not valid`, issues);
    }
    const full = completeMapping(source!.journey, target!.journey, mapping);
    const index = await this.store.appendHistory(id, {
      at: new Date().toISOString(),
      action: 'migrate',
      by,
      version: to,
      fromVersion: from,
      reason,
      mapping: full,
    });
    const runs = await this.runningRuns(
      `${journeyIdKey.name} = ${quote(id)} AND ${journeyVersionKey.name} = ${from} AND ExecutionStatus = "Running"`,
    );
    const migrated = await this.signalAll(runs, (handle) =>
      handle.signal(migrateSignal, { journey: target!.journey, mapping: full, by }),
    );
    await this.store.annotateHistory(id, index, { runs: migrated });
    this.deps.logger?.info({ journeyId: id, from, to, by, migrated }, 'journey runs migrated');
    return { id, from, to, migrated };
  }

  /** Workflow ids of the runs a visibility query finds, read in full before any is signalled. */
  private async runningRuns(query: string): Promise<string[]> {
    const ids = new Set<string>();
    for await (const run of this.temporal.workflow.list({ query })) ids.add(run.workflowId);
    return [...ids];
  }

  /** Signals each run, a few at a time; runs that ended meanwhile are skipped. Answers how many got it. */
  private async signalAll(
    workflowIds: string[],
    send: (handle: RunHandle) => Promise<void>,
  ): Promise<number> {
    let done = 0;
    for (let i = 0; i < workflowIds.length; i += this.concurrency) {
      const batch = workflowIds.slice(i, i + this.concurrency);
      const results = await Promise.all(
        batch.map(async (workflowId) => {
          try {
            await send(this.temporal.workflow.getHandle(workflowId));
            return 1;
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) return 0;
            throw err;
          }
        }),
      );
      done += results.reduce<number>((a, b) => a + b, 0);
    }
    return done;
  }
}

/** checkMigration's issues; their paths are the request's (`mapping.<step>`, `to`). */
function migrationIssues(from: Journey, to: Journey, mapping: Record<string, string>): FieldIssue[] {
  return checkMigration(from, to, mapping).map(({ path, message }) => ({ path, message }));
}

/** Every step of `from` → its step in `to`: the mapping given, else the step of the same id. */
export function completeMapping(
  from: Journey,
  to: Journey,
  mapping: Record<string, string>,
): Record<string, string> {
  const target = new Set(to.steps.map((s) => s.id));
  const full: Record<string, string> = {};
  for (const step of from.steps) {
    const mapped = Object.prototype.hasOwnProperty.call(mapping, step.id) ? mapping[step.id] : undefined;
    if (mapped !== undefined) full[step.id] = mapped;
    else if (target.has(step.id)) full[step.id] = step.id;
  }
  return full;
}

/** A string literal in Temporal's list-filter syntax. */
function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
