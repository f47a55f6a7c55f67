import { CancelledFailure } from '@temporalio/common';
import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Metrics } from './metrics';

/**
 * Times every activity execution (local activities too) into
 * touchpoint_activity_duration_seconds{activity,outcome} and logs it with the run's correlation
 * id: the messageId of the event a send or notify acts on (its request's `event`).
 */
export function activityInterceptors(
  metrics: Metrics | undefined,
  logger: Logger,
): ActivityInterceptorsFactory {
  const log = logger.child({ component: 'activity' });
  return (ctx) => ({ inbound: new ObservedActivity(ctx, metrics, log) });
}

class ObservedActivity implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly metrics: Metrics | undefined,
    private readonly log: Logger,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
    const started = performance.now();
    const activity = this.ctx.info.activityType;
    try {
      const result = await next(input);
      const seconds = (performance.now() - started) / 1000;
      this.metrics?.activityDuration.observe({ activity, outcome: 'completed' }, seconds);
      if (this.log.isLevelEnabled('debug'))
        this.log.debug(this.fields(input, seconds), `activity ${activity} completed`);
      return result;
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      const outcome = err instanceof CancelledFailure ? 'cancelled' : 'failed';
      this.metrics?.activityDuration.observe({ activity, outcome }, seconds);
      this.log.warn(
        { ...this.fields(input, seconds), err: err instanceof Error ? err.message : String(err) },
        `activity ${activity} ${outcome}`,
      );
      throw err;
    }
  }

  private fields(input: ActivityExecuteInput, seconds: number): Record<string, unknown> {
    const { info } = this.ctx;
    return {
      ...requestFields(input.args[0]),
      activity: info.activityType,
      local: info.isLocal,
      attempt: info.attempt,
      workflowId: info.workflowExecution?.workflowId,
      durationMs: Math.round(seconds * 1000),
    };
  }
}

/** What a journey activity's request names: its journey, step, customer, and the event's messageId. */
function requestFields(request: unknown): Record<string, unknown> {
  if (typeof request !== 'object' || request === null) return {};
  const r = request as Record<string, unknown>;
  const event = r.event as { messageId?: unknown } | undefined;
  const fields: Record<string, unknown> = {};
  for (const key of ['journeyId', 'journeyVersion', 'stepId', 'customerId'] as const)
    if (r[key] !== undefined) fields[key] = r[key];
  if (typeof event?.messageId === 'string') fields.correlationId = event.messageId;
  return fields;
}
