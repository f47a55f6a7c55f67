import type { DeliveryMessage } from '../message';

/** Something that hands a message to the outside world (a gateway, an inbox, a file). */
export interface Provider {
  readonly name: string;
  send(message: DeliveryMessage): Promise<void>;
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
