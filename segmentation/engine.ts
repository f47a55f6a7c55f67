import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ProfileStore } from '../customers/profiles';
import type { IngestEvent } from '../queues/events';
import type { CustomerChange, SegmentMembership } from '../router/customer-pipeline';
import type { SegmentCatalog } from './catalog';
import { CountSnapshot, EventCounters } from './counters';
import type { Segment } from './definition';
import { inSegment } from './evaluate';
import { queueSegmentEvents, segmentEvent } from './events';
import type { SegmentKeys } from './keys';
import { parseTransitions, SegmentMembers, type Transition } from './membership';

export interface SegmentEngineDeps {
  redis: Redis;
  keys: SegmentKeys;
  profiles: ProfileStore;
  catalog: SegmentCatalog;
  /** Where `segment_entered` / `segment_exited` go: the `events` queue the router consumes. */
  eventsQueue: Queue<IngestEvent>;
  logger: Logger;
  /** Midnight in this zone starts a count bucket's day; also the zone of dates for customers without one. */
  timeZone: string;
  /** The clock membership is judged at (count windows, `before: -90d`); default Date.now. */
  now?: () => number;
}

/**
 * Segment membership, kept up to date as the router reports changes (router/customer-pipeline.ts):
 * a track event is counted into the daily buckets of the count conditions that count it, then
 * only the segments the change can affect (the event's counters, the changed traits) are
 * evaluated; entering or leaving one queues `segment_entered` / `segment_exited`. Retried jobs
 * are safe: counting is once per messageId, and the changes a messageId made are recorded with
 * them and queued again under the same messageIds (segmentation/membership.ts).
 */
export class SegmentEngine implements SegmentMembership {
  readonly counters: EventCounters;
  readonly members: SegmentMembers;

  constructor(readonly deps: SegmentEngineDeps) {
    this.counters = new EventCounters(deps.redis, deps.keys, deps.catalog.retentionDays, deps.timeZone);
    this.members = new SegmentMembers(deps.redis, deps.keys);
  }

  get catalog(): SegmentCatalog {
    return this.deps.catalog;
  }

  now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  async onCustomerChanged(customerId: string, change: CustomerChange): Promise<void> {
    const nowMs = this.now();
    const { event } = change;
    if (event) {
      const counters = this.catalog.countersFor(event);
      if (counters.length > 0) {
        await this.counters.record(
          customerId,
          change.messageId,
          Date.parse(event.timestamp),
          counters,
          nowMs,
        );
      }
    }
    const segments = this.catalog.affectedBy({ event: event?.event, traits: change.traits });
    if (segments.length > 0) {
      await this.evaluate(customerId, change.messageId, { segments, nowMs });
    } else if (event && change.traits.length === 0 && this.catalog.list().length > 0) {
      // A retried track job: its computed traits were counted the first time and now report no
      // change, yet that attempt may have moved the customer and died before queueing the events.
      await this.requeueRecorded(customerId, change.messageId, nowMs);
    }
  }

  /** Queues again the changes a cause recorded for the customer (none: nothing to do). */
  private async requeueRecorded(customerId: string, causeId: string, nowMs: number): Promise<void> {
    const recorded = await this.deps.redis.get(this.deps.keys.transitions(causeId, customerId));
    await this.announce(customerId, causeId, parseTransitions(recorded), nowMs);
  }

  /**
   * Evaluates the customer's membership of `segments` (default: all) at `nowMs`, applies it and
   * queues the events of what changed, under `causeId`. Returns the changes (those recorded
   * before, when the cause already made them).
   */
  async evaluate(
    customerId: string,
    causeId: string,
    {
      segments = this.catalog.list(),
      nowMs = this.now(),
    }: { segments?: readonly Segment[]; nowMs?: number } = {},
  ): Promise<Transition[]> {
    if (segments.length === 0) return [];
    const needsCounts =
      this.catalog.counts && segments.some((s) => this.catalog.dependencies(s.id)?.counters.length);
    const [traits, counts] = await Promise.all([
      this.deps.profiles.getWithTags(customerId),
      needsCounts ? this.counters.read(customerId, nowMs) : Promise.resolve(CountSnapshot.EMPTY),
    ]);
    const facts = { traits, counts, nowMs, defaultZone: this.deps.timeZone };
    const wanted = new Map(segments.map((s) => [s.id, inSegment(s, facts)]));
    const transitions = await this.members.apply(customerId, causeId, wanted);
    await this.announce(customerId, causeId, transitions, nowMs);
    return transitions;
  }

  /** Queues the events of changes (deterministic messageIds: queueing them twice is harmless). */
  async announce(customerId: string, causeId: string, transitions: readonly Transition[], nowMs: number) {
    if (transitions.length === 0) return;
    await queueSegmentEvents(
      this.deps.eventsQueue,
      transitions.map((t) => segmentEvent(t, customerId, causeId, nowMs)),
    );
    this.deps.logger.debug({ customerId, causeId, transitions }, 'segment membership changed');
  }
}
