/** The Redis keys of segments, beside customers/keys.ts under the same installation prefix. */
export class SegmentKeys {
  constructor(readonly prefix: string) {}

  /** Set: the ids of the customers in the segment now. */
  members(segmentId: string): string {
    return `${this.prefix}:segment:${segmentId}:members`;
  }

  /** Set: the ids of the segments the customer is in now (the other side of `members`). */
  customerSegments(customerId: string): string {
    return `${this.prefix}:customer:${customerId}:segments`;
  }

  /**
   * Hash: `<counter>:<day>` → events of that counter on that day (days since 1970-01-01 in the
   * segments' time zone), and `_day`, the day it was last pruned. Only the counters of `count`
   * conditions segments use; expires once no event came for longer than the longest window.
   */
  eventCounts(customerId: string): string {
    return `${this.prefix}:customer:${customerId}:event-counts`;
  }

  /** String with a TTL: the event with this messageId was counted (a retried job counts it once). */
  counted(messageId: string): string {
    return `${this.prefix}:segment-counted:${messageId}`;
  }

  /**
   * String with a TTL: the membership changes one cause (an event's messageId, a re-evaluation
   * tick, a merge) made for one customer, e.g. `+dormant -high-value`. A retry of the cause finds
   * them here and queues their events again instead of finding nothing left to change.
   */
  transitions(causeId: string, customerId: string): string {
    return `${this.prefix}:segment-changes:${causeId}:${customerId}`;
  }
}
