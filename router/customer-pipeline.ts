import type { JourneyEvent } from '../language/types';
import type { IngestEvent } from '../queues/events';

/*
 * What the router does for the customer before journeys see an event, in this order:
 * 1. identity: which customer the event is about (stitching identifiers, merging customers);
 * 2. profile: traits from an identify (ProfileStore.merge), computed traits from a track;
 * 3. segments: membership re-evaluated; entering or leaving queues segment_entered / _exited.
 * Each step is idempotent per messageId: a retried job may run them again.
 */

/** Resolves (and links) the customer an ingested event is about; customers/identity. */
export interface CustomerResolver {
  /** The canonical customer id; may merge customers the event's identifiers show to be one. */
  resolve(event: IngestEvent): Promise<string>;
  /**
   * The ids merged into the customer. A run the customer had under such an id (a journey only the
   * merged-away customer was in) goes on under its workflow id: the router signals it the
   * customer's events, and admission counts it as the customer being in that journey.
   */
  aliasesOf?(customerId: string): Promise<string[]>;
}

/** Keeps computed traits (order count, spend, last seen, …) up to date from track events. */
export interface ComputedTraitsUpdater {
  /**
   * Returns the names of the computed traits that changed. `internal`: Touchpoint queued the event
   * itself (the ingest event carries `customerId`): it is no sign of the customer's activity.
   */
  onTrack(customerId: string, event: JourneyEvent, options?: { internal?: boolean }): Promise<string[]>;
}

/** What changed about a customer, for the segments that may depend on it. */
export interface CustomerChange {
  messageId: string;
  /** The track event, when one caused the change (event-count conditions count it). */
  event?: JourneyEvent;
  /** Traits (incl. computed traits) that changed. */
  traits: string[];
}

/** Re-evaluates segment membership; entering or leaving a segment becomes an event. */
export interface SegmentMembership {
  onCustomerChanged(customerId: string, change: CustomerChange): Promise<void>;
}
