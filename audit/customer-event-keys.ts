/** The Redis keys of the per-customer event log (audit/customer-events.ts), under the installation's prefix. */
export class CustomerEventKeys {
  constructor(readonly prefix: string) {}

  /** Sorted set: the messageIds of the customer's latest events, scored by the time they were received (ms). */
  index(customerId: string): string {
    return `${this.prefix}:customer:${customerId}:events`;
  }

  /** Hash: messageId → the event as logged (JSON), for the messageIds in `index`. */
  records(customerId: string): string {
    return `${this.prefix}:customer:${customerId}:event-records`;
  }
}
