import { Queue, type ConnectionOptions } from 'bullmq';
import { CHANNELS, type Channel } from '../language/types';
import type { ChannelConfig } from './channel-config';
import { deliveryJobId, deliveryQueueName, type DeliveryMessage } from './message';

export type DeliveryQueues = Record<Channel, Queue<DeliveryMessage>>;

export function createDeliveryQueues(connection: ConnectionOptions, prefix: string): DeliveryQueues {
  const queues = {} as DeliveryQueues;
  for (const channel of CHANNELS)
    queues[channel] = new Queue<DeliveryMessage>(deliveryQueueName(channel), { connection, prefix });
  return queues;
}

/**
 * Queues a message under its idempotency key: adding the same key again while the job exists
 * is a no-op in BullMQ, and deliverOnce covers the time after the job record is gone.
 */
export async function enqueueDelivery(
  queue: Queue<DeliveryMessage>,
  message: DeliveryMessage,
  config: ChannelConfig,
): Promise<void> {
  await queue.add('deliver', message, {
    jobId: deliveryJobId(message.idempotencyKey),
    attempts: config.attempts,
    backoff: { type: 'exponential', delay: config.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 100_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  });
}

export async function closeDeliveryQueues(queues: DeliveryQueues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
