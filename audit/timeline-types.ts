/*
 * A customer's timeline as the API answers it. Nothing here imports at runtime, so the console
 * (console/src/types.ts) shares these types; audit/timeline.ts re-exports them.
 */

export const TIMELINE_KINDS = [
  'event',
  'step',
  'touch',
  'skip',
  'coupon-issued',
  'coupon-redeemed',
  'consent',
  'merge',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/** One thing that happened to the customer. */
export interface TimelineItem {
  /** ISO-8601. */
  at: string;
  kind: TimelineKind;
  journeyId?: string;
  version?: number;
  stepId?: string;
  /** One line for people. */
  summary: string;
  detail: Record<string, unknown>;
}

export interface Timeline {
  /** The customer asked for, after merges (the id it lives on as). */
  customerId: string;
  /** The id asked for, when it was merged into `customerId`. */
  resolvedFrom?: string;
  /** The ids merged into the customer; their events, runs and touches are in the timeline. */
  aliases: string[];
  /** Newest first. */
  items: TimelineItem[];
  /** More items matched than `limit`: ask again with `until` set to the last item's `at`. */
  more: boolean;
}
