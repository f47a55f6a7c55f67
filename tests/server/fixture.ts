import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import type { ApiKeys } from '../../config/keys';
import type { Journey } from '../../language/types';
import { EVENTS_QUEUE, eventJobId, type IngestEvent } from '../../queues/events';
import { RedisAuditLog } from '../../audit-log/redis-audit-log';
import { createApp, type AppDeps } from '../../server/app';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

export const KEYS: ApiKeys = { writeKey: 'test-write-key', adminKey: 'test-admin-key' };

export const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
export const bearer = (key: string) => `Bearer ${key}`;

export const JOURNEYS: Journey[] = [
  {
    id: 'reactivation',
    name: 'Dormant-customer reactivation',
    version: 3,
    defaultLocale: 'zh-CN',
    entry: {
      event: 'segment_entered',
      where: { property: 'segment', eq: 'sleeping' },
      reentry: { mode: 'always' },
    },
    exit: [{ event: 'order_completed' }],
    steps: [
      { id: 'coupon', type: 'send', channel: 'sms', template: 'reactivation-coupon' },
      { id: 'wait-purchase', type: 'waitFor', event: 'order_completed', timeoutMs: 7 * 86_400_000 },
      { id: 'done', type: 'exit' },
    ],
  },
];

/** A real BullMQ queue on the test Redis under a prefix of its own, and the app on top of it. */
export interface TestApp {
  app: ReturnType<typeof createApp>;
  queue: Queue<IngestEvent>;
  /** The queue's BullMQ prefix, for workers that should consume it. */
  prefix: string;
  /** The app's audit log, on the test Redis under `prefix`. */
  auditLog: RedisAuditLog;
  /** Lines the app logged (pino JSON). */
  logs: string[];
  /** Every job on the queue, in the order added. */
  jobs(): Promise<Job<IngestEvent>[]>;
  job(messageId: string): Promise<Job<IngestEvent> | undefined>;
  close(): Promise<void>;
}

export async function startTestApp(overrides: Partial<AppDeps> = {}): Promise<TestApp> {
  const connection: Redis = testRedis();
  const prefix = uniquePrefix('server');
  const queue = new Queue<IngestEvent>(EVENTS_QUEUE, { connection, prefix });
  await queue.waitUntilReady();

  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const auditLog = new RedisAuditLog(connection, prefix);
  const app = createApp({
    keys: KEYS,
    eventsQueue: queue,
    health: async () => ({ temporal: true, redis: true, workers: true }),
    journeys: { list: () => JOURNEYS, get: (id) => JOURNEYS.find((j) => j.id === id) },
    runs: { describe: async () => null },
    auditLog,
    logger,
    ...overrides,
  });

  return {
    app,
    queue,
    prefix,
    auditLog,
    logs,
    jobs: async () => (await queue.getJobs(['waiting'], 0, -1, true)).filter((job) => job !== undefined),
    job: (messageId) => queue.getJob(eventJobId(messageId)),
    async close() {
      await queue.obliterate({ force: true });
      // obliterate keeps nothing of the queue; sweep anything else under our prefix all the same.
      await deleteKeys(connection, prefix);
      await queue.close();
      await connection.quit();
    },
  };
}
