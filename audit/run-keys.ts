/** The Redis keys of operator actions on runs (audit/retry-claims.ts), under the installation's prefix. */
export class RunKeys {
  constructor(readonly prefix: string) {}

  /** String with a TTL: a failed run being (or having been) reset, and what the reset answered. */
  retryClaim(workflowId: string, runId: string): string {
    return `${this.prefix}:run-retry:${workflowId}:${runId}`;
  }

  /** String counter: failed runs of the journey version reset through the API (journey-counts.ts). */
  retried(journeyId: string, version: number): string {
    return `${this.prefix}:run-retried:${journeyId}:${version}`;
  }
}
