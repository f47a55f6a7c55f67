import type { Client } from '@temporalio/client';
import { FAILED_EXECUTION_STATUSES, runsQuery } from './run-queries';
import type { VersionCounts } from './run-types';

// Declared in run-types.ts, which the console imports.
export type { VersionCounts };

/** A version to count: its number and the ids of its steps. */
export interface VersionShape {
  version: number;
  stepIds: readonly string[];
}

/**
 * Counts runs per journey version from Temporal visibility (CountWorkflowExecutions): statuses in
 * one query grouped by ExecutionStatus, how completed runs ended by their step attribute
 * (`(converted)`, `(completed)`, `(exited)`), and running runs per step one query each (the
 * server groups by ExecutionStatus only). A run counts under the version it runs now: a migrated
 * run moves with its TouchpointJourneyVersion. Visibility lags the runs by a moment.
 */
export class JourneyCounts {
  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    /** Failed runs of a version reset through the API (audit/retry-claims.ts); default none. */
    private readonly retried: (journeyId: string, version: number) => Promise<number> = async () => 0,
    /** Count queries in flight at once. */
    private readonly concurrency = 8,
  ) {}

  async count(journeyId: string, versions: readonly VersionShape[]): Promise<VersionCounts[]> {
    const tasks: (() => Promise<void>)[] = [];
    const results = versions.map((shape) => {
      const counts: VersionCounts = {
        version: shape.version,
        steps: Object.fromEntries(shape.stepIds.map((id) => [id, 0])),
        entered: 0,
        running: 0,
        converted: 0,
        completed: 0,
        exited: 0,
        failed: 0,
        retried: 0,
      };
      const base = { journeyId, version: shape.version };
      tasks.push(async () => {
        const [byStatus, retried] = await Promise.all([
          this.countByStatus(runsQuery(base)),
          this.retried(journeyId, shape.version),
        ]);
        counts.running = byStatus.get('Running') ?? 0;
        const failed = FAILED_EXECUTION_STATUSES.reduce((sum, s) => sum + (byStatus.get(s) ?? 0), 0);
        let executions = 0;
        for (const [status, n] of byStatus) if (status !== 'ContinuedAsNew') executions += n;
        // A run reset moments ago may not be in visibility as failed yet: never below zero.
        counts.retried = Math.min(retried, failed);
        counts.failed = failed - counts.retried;
        counts.entered = executions - counts.retried;
      });
      for (const outcome of ['converted', 'completed', 'exited'] as const) {
        tasks.push(async () => {
          counts[outcome] = await this.countOf(runsQuery({ ...base, status: outcome }));
        });
      }
      for (const step of shape.stepIds) {
        tasks.push(async () => {
          counts.steps[step] = await this.countOf(runsQuery({ ...base, step, status: 'running' }));
        });
      }
      return counts;
    });
    await inBatches(tasks, this.concurrency);
    return results;
  }

  private async countOf(query: string): Promise<number> {
    const res = await this.client.workflowService.countWorkflowExecutions({
      namespace: this.namespace,
      query,
    });
    return Number(res.count ?? 0);
  }

  /** The query's executions grouped by ExecutionStatus (`Running`, `Completed`, `Failed`…). */
  private async countByStatus(query: string): Promise<Map<string, number>> {
    const res = await this.client.workflowService.countWorkflowExecutions({
      namespace: this.namespace,
      query: `${query} GROUP BY ExecutionStatus`,
    });
    const out = new Map<string, number>();
    for (const group of res.groups ?? []) {
      const value = group.groupValues?.[0]?.data;
      if (!value) continue;
      const status = JSON.parse(Buffer.from(value).toString('utf8')) as string;
      out.set(status, (out.get(status) ?? 0) + Number(group.count ?? 0));
    }
    return out;
  }
}

async function inBatches(tasks: readonly (() => Promise<void>)[], size: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(size, tasks.length) }, worker));
}
