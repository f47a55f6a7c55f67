import { Queue, type ConnectionOptions } from 'bullmq';
import { ENROLMENTS_QUEUE } from '../bulk/enrolment';
import { PROFILES_QUEUE } from '../customers/rfm-schedule';
import { deliveryQueueName } from '../delivery/message';
import { CHANNELS } from '../language/types';
import { EVENTS_QUEUE } from '../queues/events';
import { SCHEDULES_QUEUE } from '../router/schedules';
import { SEGMENTS_QUEUE } from '../segmentation/schedule';

/** Every BullMQ queue Touchpoint uses, in the order operators read them: events in, messages out. */
export const QUEUE_NAMES: readonly string[] = [
  EVENTS_QUEUE,
  ...CHANNELS.map(deliveryQueueName),
  SCHEDULES_QUEUE,
  SEGMENTS_QUEUE,
  PROFILES_QUEUE,
  ENROLMENTS_QUEUE,
];

/**
 * Handles on every queue for reading it (metrics at scrape, the dashboard), whichever roles this
 * process runs: queue depth is a property of Redis, not of the process that consumes the queue.
 * A Queue on a shared connection opens nothing until it is used; close them at shutdown.
 */
export function openQueues(connection: ConnectionOptions, prefix: string): Queue[] {
  return QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix }));
}
