import { createHash } from 'node:crypto';
import type { Channel } from '../language/types';

/** A rendered message on its way to a channel: the data of one delivery job. */
export interface DeliveryMessage {
  journeyId: string;
  journeyVersion: number;
  customerId: string;
  stepId: string;
  channel: Channel;
  template: string;
  locale: string;
  to: string;
  subject: string | null;
  body: string;
  idempotencyKey: string;
  /** ISO-8601 time the message was queued. */
  queuedAt: string;
  /** Marketing email: the customer's unsubscribe link (body footer, List-Unsubscribe header). */
  unsubscribeUrl?: string;
  /**
   * The messageId of the event that led to the message, for the delivery worker's logs. Not part
   * of what providers get (the worker leaves it out), so outbox lines and webhook bodies keep their shape.
   */
  correlationId?: string;
}

export function deliveryQueueName(channel: Channel): string {
  return `delivery-${channel}`;
}

/** BullMQ job id of a message: hashed idempotency key (BullMQ refuses ':' in custom ids). */
export function deliveryJobId(idempotencyKey: string): string {
  return `touch-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}`;
}
