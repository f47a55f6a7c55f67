import type { Client } from '@temporalio/client';
import type { Worker as TemporalWorker } from '@temporalio/worker';
import type { Queue, Worker as BullWorker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { HealthCheck } from '../server/app';

export interface HealthDeps {
  redis: Redis;
  temporal: Client;
  namespace: string;
  taskQueue: string;
  /** Workers running in this process. */
  journeyWorker?: TemporalWorker;
  bullWorkers: BullWorker[];
  /**
   * Queues whose workers run in other processes (split roles): each must have at least one
   * worker connected, and the Temporal task queue at least one poller, for the API to be ready.
   */
  remoteQueues: Queue[];
  remoteJourneyWorkers: boolean;
}

/** Each part answers within this time or counts as down: a hung Redis must not hang /healthz. */
const PART_TIMEOUT_MS = 1500;

export function createHealthCheck(deps: HealthDeps): HealthCheck {
  const redis = () => deps.redis.ping().then((r) => r === 'PONG');
  const temporal = () => deps.temporal.workflowService.getSystemInfo({}).then(() => true);
  const workers = async () => {
    const local =
      (!deps.journeyWorker || deps.journeyWorker.getState() === 'RUNNING') &&
      deps.bullWorkers.every((w) => w.isRunning());
    if (!local) return false;
    const counts = await Promise.all(deps.remoteQueues.map((q) => q.getWorkersCount()));
    if (counts.some((n) => n === 0)) return false;
    if (!deps.remoteJourneyWorkers) return true;
    const { pollers } = await deps.temporal.workflowService.describeTaskQueue({
      namespace: deps.namespace,
      taskQueue: { name: deps.taskQueue },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    return pollers.length > 0;
  };
  return async () => {
    const [r, t, w] = await Promise.all(
      [redis, temporal, workers].map((part) => within(part(), PART_TIMEOUT_MS)),
    );
    return { temporal: t!, redis: r!, workers: w! };
  };
}

function within(check: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([check.catch(() => false), timeout]).finally(() => clearTimeout(timer));
}
