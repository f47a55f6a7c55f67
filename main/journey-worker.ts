import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../activities';
import { activityInterceptors } from '../observability/activity-interceptor';
import { journeySinks } from '../observability/journey-sinks';
import type { Metrics } from '../observability/metrics';

export interface JourneyWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  logger: Logger;
  /** Activity latency, journey entries, steps and conversions; without it nothing is counted. */
  metrics?: Metrics;
  /** A prebuilt workflow bundle (tests share one); else the workflows are bundled at start. */
  workflowBundle?: { code: string };
}

/** The Temporal worker that runs journey workflows and their activities. */
export async function createJourneyWorker(
  options: JourneyWorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  routeSdkLogs(options.logger);
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({ ...options.deps, metrics: options.metrics ?? options.deps.metrics }),
    // Latency and correlated logs of every activity; steps reported by the workflows' sink.
    interceptors: { activity: [activityInterceptors(options.metrics, options.logger)] },
    sinks: journeySinks({ metrics: options.metrics, logger: options.logger.child({ component: 'journey' }) }),
  });
  return { worker, connection };
}

let sdkLogsRouted = false;

/** The SDK's own logs (worker state, bundler output) go through pino, warnings and up only. */
function routeSdkLogs(logger: Logger): void {
  if (sdkLogsRouted) return;
  sdkLogsRouted = true;
  const sdk = logger.child({ component: 'temporal-sdk' });
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', (entry) => sdk[levels[entry.level]](entry.meta ?? {}, entry.message)),
    });
  } catch (err) {
    // The host installed the SDK's runtime first (a test process): its logs go where the host said.
    if (!(err instanceof IllegalStateError)) throw err;
  }
}
