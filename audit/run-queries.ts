import { journeyIdKey, journeyVersionKey, stepKey } from '../runtime/search-attributes';
import type { RunStatusFilter } from './run-types';

/*
 * Temporal visibility queries over journey runs, by the search attributes every run carries
 * (runtime/search-attributes.ts): the journey, the version it runs now, and the step it is at,
 * which a finished run sets to `(<status>)` (workflows/journey.ts).
 */

// Declared in run-types.ts, which the console imports.
export { RUN_STATUSES, type RunStatusFilter } from './run-types';

/** Temporal's closed statuses that count as `failed`: the run did not end by its own logic. */
export const FAILED_EXECUTION_STATUSES = ['Failed', 'TimedOut', 'Terminated'] as const;

/** Journey ids are slugs and step ids `[a-z0-9][a-z0-9_-]*`: nothing that could end a literal. */
const SAFE_LITERAL = /^[A-Za-z0-9_()-]+$/;

function literal(value: string): string {
  if (!SAFE_LITERAL.test(value)) throw new Error(`not a safe visibility literal: ${JSON.stringify(value)}`);
  return `'${value}'`;
}

export interface RunFilter {
  journeyId: string;
  version?: number;
  step?: string;
  status?: RunStatusFilter;
}

/**
 * The visibility query for runs of a journey. Without a status every run counts except executions
 * closed as ContinuedAsNew: those are one run handing over to its next execution, not runs.
 */
export function runsQuery({ journeyId, version, step, status }: RunFilter): string {
  const parts = [`WorkflowType = 'journeyWorkflow'`, `${journeyIdKey.name} = ${literal(journeyId)}`];
  if (version !== undefined) parts.push(`${journeyVersionKey.name} = ${Math.trunc(version)}`);
  if (step !== undefined) parts.push(`${stepKey.name} = ${literal(step)}`);
  parts.push(statusClause(status));
  return parts.join(' AND ');
}

function statusClause(status: RunStatusFilter | undefined): string {
  switch (status) {
    case undefined:
      return `ExecutionStatus != 'ContinuedAsNew'`;
    case 'running':
      return `ExecutionStatus = 'Running'`;
    case 'failed':
      return `ExecutionStatus IN (${FAILED_EXECUTION_STATUSES.map(literal).join(', ')})`;
    default:
      // A run that ends by its own logic completes, naming how in its step attribute.
      return `ExecutionStatus = 'Completed' AND ${stepKey.name} = ${literal(`(${status})`)}`;
  }
}

/**
 * A listed run's status from Temporal's execution status and its step attribute: `running`,
 * `converted` / `completed` / `exited` (completed runs), `failed`, or `canceled`.
 */
export function runStatusOf(executionStatus: string, step: string | undefined): RunStatusFilter | 'canceled' {
  switch (executionStatus) {
    case 'Running':
      return 'running';
    case 'Completed': {
      const ended = /^\((converted|completed|exited)\)$/.exec(step ?? '');
      return (ended?.[1] as RunStatusFilter | undefined) ?? 'completed';
    }
    case 'Canceled':
      return 'canceled';
    default:
      return 'failed';
  }
}
