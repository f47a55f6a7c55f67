import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities, type ActivityDeps } from '../activities';

export interface JourneyWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  logger: Logger;
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
    activities: createActivities(options.deps),
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
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => sdk[levels[entry.level]](entry.meta ?? {}, entry.message)),
  });
}
