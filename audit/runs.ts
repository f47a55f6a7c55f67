import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { journeyWorkflowId, stateQuery, type RunState } from '../workflows/definitions';

export interface RunView {
  workflowId: string;
  runId: string;
  /** Temporal's own status of the run: RUNNING, COMPLETED, FAILED, TERMINATED... */
  temporalStatus: string;
  startTime: string;
  closeTime: string | null;
  /** The run's own account of itself: pinned version, current step, path so far. */
  state: RunState | null;
  /** The run in the Temporal Web UI, when one is known. */
  temporalUiUrl: string | null;
}

/** Reads a customer's (latest) run of a journey from Temporal: describe plus the state query. */
export class RunInspector {
  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    private readonly temporalUiUrl?: string,
  ) {}

  async describe(journeyId: string, customerId: string): Promise<RunView | null> {
    const handle = this.client.workflow.getHandle(journeyWorkflowId(journeyId, customerId));
    try {
      const d = await handle.describe();
      // A closed run still answers queries by replay, as long as a worker is polling.
      const state = await handle.query(stateQuery).catch(() => null);
      return {
        workflowId: d.workflowId,
        runId: d.runId,
        temporalStatus: d.status.name,
        startTime: d.startTime.toISOString(),
        closeTime: d.closeTime?.toISOString() ?? null,
        state,
        temporalUiUrl: this.temporalUiUrl
          ? `${this.temporalUiUrl}/namespaces/${encodeURIComponent(this.namespace)}/workflows/${encodeURIComponent(d.workflowId)}/${d.runId}`
          : null,
      };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }
}
