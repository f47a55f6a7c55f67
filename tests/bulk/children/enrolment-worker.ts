import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import pino from 'pino';
import { EnrolmentWorker } from '../../../bulk/enrolment';
import { EVENTS_QUEUE, type IngestEvent } from '../../../queues/events';
import { redisOptionsFromUrl } from '../../../runtime/redis-server';

/**
 * A bulk-enrolment worker alone in a process, configured by JSON in argv[3]: the test Redis, the
 * prefixes, the one segment and journey. Prints `ready` once it takes jobs.
 */
const { redisUrl, eventsPrefix, keyPrefix, segmentKey, journeyId, lockDurationMs, stalledIntervalMs } =
  JSON.parse(process.argv[3]!) as {
    redisUrl: string;
    /** The events queue's BullMQ prefix; the enrolments queue is under keyPrefix. */
    eventsPrefix: string;
    keyPrefix: string;
    segmentKey: string;
    journeyId: string;
    lockDurationMs: number;
    stalledIntervalMs: number;
  };
const connection = new IORedis({ ...redisOptionsFromUrl(redisUrl), maxRetriesPerRequest: null });
const eventsQueue = new Queue<IngestEvent>(EVENTS_QUEUE, { connection, prefix: eventsPrefix });
const worker = new EnrolmentWorker({
  connection,
  prefix: keyPrefix,
  redis: connection,
  keyPrefix,
  segments: { membersKey: () => segmentKey },
  catalog: { get: (id) => (id === journeyId ? ({ id } as never) : undefined) },
  eventsQueue,
  logger: pino({ level: 'warn' }),
  pageSize: 50,
  lockDurationMs,
  stalledIntervalMs,
}).start();
void worker.waitUntilReady().then(() => process.stdout.write('ready\n'));
