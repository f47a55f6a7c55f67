import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { EventType } = temporal.api.enums.v1;

/*
 * Retrying a run an operator found stuck, with Temporal's own tools:
 *
 * - A run Temporal reports Failed or TimedOut is reset (ResetWorkflowExecution): a new run
 *   replays the failed one's history up to a workflow task and goes on from there, so every step
 *   already done stays done (its activities are not called again) and the failed step runs again.
 *   The reset point is the workflow task that scheduled the activity whose failure failed the run;
 *   for any other failure (or a timeout), the last completed workflow task. Signals received after
 *   that point are applied again. The caller makes sure a failed run is reset once
 *   (audit/retry-claims.ts): the server does not dedupe resets by request id.
 * - A running run whose current activity keeps failing (a pending activity past its first
 *   attempt) has that activity reset (ResetActivity, Temporal server 1.28+): its attempt count
 *   starts over and, if it is waiting out a retry backoff, it is tried again at once.
 */

/** What a retry did. */
export type RetryOutcome =
  | {
      action: 'reset';
      workflowId: string;
      /** The failed run. */
      failedRunId: string;
      /** The new run that continues the customer's journey. */
      runId: string;
      /** The WorkflowTaskCompleted event the new run continues from. */
      resetToEventId: number;
    }
  | {
      action: 'activity-reset';
      workflowId: string;
      runId: string;
      activities: { activityId: string; activityType: string; attempt: number }[];
    };

export type ResetOutcome = Extract<RetryOutcome, { action: 'reset' }>;

/** Reads a run's history newest first, a page at a time. */
export async function* historyNewestFirst(
  client: Client,
  namespace: string,
  workflowId: string,
  runId: string,
  pageSize = 100,
): AsyncGenerator<HistoryEvent> {
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace,
      execution: { workflowId, runId },
      maximumPageSize: pageSize,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const event of page.history?.events ?? []) yield event;
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
}

/** The closed run's failure as a sentence (message and its causes), or null. */
export async function closeFailure(
  client: Client,
  namespace: string,
  workflowId: string,
  runId: string,
): Promise<string | null> {
  for await (const event of historyNewestFirst(client, namespace, workflowId, runId, 1)) {
    const failure = event.workflowExecutionFailedEventAttributes?.failure;
    if (failure) return failureText(failure);
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT) return 'the run timed out';
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED) {
      const reason = event.workflowExecutionTerminatedEventAttributes?.reason;
      return `terminated${reason ? `: ${reason}` : ''}`;
    }
    return null;
  }
  return null;
}

export function failureText(failure: temporal.api.failure.v1.IFailure): string {
  const parts: string[] = [];
  for (let f: temporal.api.failure.v1.IFailure | null | undefined = failure; f; f = f.cause) {
    if (f.message) parts.push(f.message);
  }
  return parts.join(': ');
}

/**
 * The event a failed or timed-out run is reset to (see the module comment), found reading its
 * history backwards; null when it has no completed workflow task to go back to.
 */
export async function resetPoint(
  client: Client,
  namespace: string,
  workflowId: string,
  runId: string,
): Promise<number | null> {
  let failedActivity: number | null = null;
  let lastTaskCompleted: number | null = null;
  let first = true;
  for await (const event of historyNewestFirst(client, namespace, workflowId, runId)) {
    const id = Number(event.eventId);
    if (first) {
      first = false;
      const scheduled =
        event.workflowExecutionFailedEventAttributes?.failure?.activityFailureInfo?.scheduledEventId;
      if (scheduled != null && Number(scheduled) > 0) failedActivity = Number(scheduled);
    }
    if (failedActivity !== null) {
      if (id === failedActivity) {
        const task = event.activityTaskScheduledEventAttributes?.workflowTaskCompletedEventId;
        return task != null ? Number(task) : null;
      }
      continue;
    }
    if (lastTaskCompleted === null && event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      lastTaskCompleted = id;
      return lastTaskCompleted;
    }
  }
  return lastTaskCompleted;
}

/** Resets a failed or timed-out run (see the module comment); the new run's id. */
export async function resetFailedRun(
  client: Client,
  namespace: string,
  execution: { workflowId: string; runId: string },
  reason: string,
): Promise<ResetOutcome | null> {
  const point = await resetPoint(client, namespace, execution.workflowId, execution.runId);
  if (point === null) return null;
  // fromObject turns the plain event id into the int64 the request carries.
  const request = temporal.api.workflowservice.v1.ResetWorkflowExecutionRequest.fromObject({
    namespace,
    workflowExecution: execution,
    reason,
    workflowTaskFinishEventId: point,
    // One reset per failed run, however many operators press retry at once.
    requestId: `retry-${createHash('sha256').update(`${execution.workflowId}/${execution.runId}`).digest('hex').slice(0, 32)}`,
    resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
  });
  const res = await client.workflowService.resetWorkflowExecution(request);
  return {
    action: 'reset',
    workflowId: execution.workflowId,
    failedRunId: execution.runId,
    runId: res.runId ?? '',
    resetToEventId: point,
  };
}

/** Resets each of the run's failing activities: attempts start over, a backoff is cut short. */
export async function resetFailingActivities(
  client: Client,
  namespace: string,
  execution: { workflowId: string; runId: string },
  activities: readonly { activityId: string; activityType: string; attempt: number }[],
  identity: string,
): Promise<Extract<RetryOutcome, { action: 'activity-reset' }>> {
  for (const activity of activities) {
    await client.workflowService.resetActivity({
      namespace,
      execution,
      identity,
      id: activity.activityId,
      resetHeartbeat: false,
      keepPaused: false,
      restoreOriginalOptions: false,
    });
  }
  return { action: 'activity-reset', ...execution, activities: [...activities] };
}
