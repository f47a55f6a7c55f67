import type { DeliveryMessage } from '../message';

/** What a provider may tell about a message it handed over. */
export interface SentMessage {
  /** The gateway's own id of the message (for delivery receipts), when it gives one. */
  providerMessageId?: string;
}

/** Something that hands a message to the outside world (a gateway, an inbox, a file). */
export interface Provider {
  readonly name: string;
  send(message: DeliveryMessage): Promise<SentMessage | void>;
  /**
   * After a crash mid-send, tells whether the message got out, so a retry neither loses nor
   * doubles it. Providers that cannot tell rely on the receiver deduping by idempotency key.
   */
  wasDelivered?(message: DeliveryMessage): Promise<boolean>;
}

/** A failure no retry can fix (bad address, rejected content): the job fails at once. */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}
