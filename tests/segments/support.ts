import { Queue } from 'bullmq';
import pino from 'pino';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { EVENTS_QUEUE, type IngestEvent, type TrackEvent } from '../../queues/events';
import { SegmentCatalog } from '../../segmentation/catalog';
import type { Segment } from '../../segmentation/definition';
import { SegmentEngine } from '../../segmentation/engine';
import { SegmentKeys } from '../../segmentation/keys';
import { checkSegment } from '../../segmentation/load';
import { formatIssue } from '../../language/errors';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

/** A segment from YAML lines (checked like a file `segments/<id>.yaml`). */
export function segment(id: string, lines: string[]): Segment {
  const result = checkSegment(lines.join('\n'), `segments/${id}.yaml`);
  if (!result.segment) throw new Error(result.issues.map(formatIssue).join('\n'));
  return result.segment;
}

export const DAY = 86_400_000;

/** Noon in Shanghai on 10 March 2026: the default start of the tests' clock. */
export const NOON = Date.parse('2026-03-10T12:00:00+08:00');

/**
 * A segment engine on the test Redis under a prefix of its own: real profiles, real buckets and
 * member sets, a real BullMQ `events` queue (nobody consumes it: tests read what was queued), and
 * a clock the test moves.
 */
export async function startSegments(segments: Segment[], { start = NOON }: { start?: number } = {}) {
  const redis = testRedis();
  const prefix = uniquePrefix('seg');
  const customerKeys = new RedisKeys(prefix);
  const keys = new SegmentKeys(prefix);
  const profiles = new ProfileStore(redis, customerKeys);
  const queue = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: redis, prefix: `${prefix}-bull` });
  await queue.waitUntilReady();
  const clock = { now: start };
  const engine = new SegmentEngine({
    redis,
    keys,
    profiles,
    catalog: new SegmentCatalog(segments),
    eventsQueue: queue,
    logger: pino({ level: 'silent' }),
    timeZone: 'Asia/Shanghai',
    now: () => clock.now,
  });
  let seq = 0;
  return {
    redis,
    prefix,
    customerKeys,
    keys,
    profiles,
    queue,
    clock,
    engine,
    /** The events queued so far, oldest first. */
    async queued(): Promise<TrackEvent[]> {
      const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1, true);
      return jobs
        .filter((j) => j !== undefined)
        .sort((a, b) => a.timestamp - b.timestamp || a.data.messageId.localeCompare(b.data.messageId))
        .map((j) => j.data as TrackEvent);
    },
    /** `entered:dormant:c1` for each queued segment event, sorted. */
    async changes(): Promise<string[]> {
      const events = await this.queued();
      return events
        .map((e) => `${e.event.slice('segment_'.length)}:${String(e.properties.segment)}:${e.customerId}`)
        .sort();
    },
    /** A tracked event as the router hands it over (computed traits changed: none). */
    track(
      customerId: string,
      event: string,
      properties: Record<string, unknown> = {},
      { messageId = `m-${++seq}`, at = clock.now }: { messageId?: string; at?: number } = {},
    ) {
      return engine.onCustomerChanged(customerId, {
        messageId,
        event: { messageId, event, properties, timestamp: new Date(at).toISOString() },
        traits: [],
      });
    },
    /** An identify as the router handles it: traits merged, the changed ones reported. */
    async identify(customerId: string, traits: Record<string, unknown>, messageId = `m-${++seq}`) {
      const changed = await profiles.merge(customerId, traits, messageId);
      if (changed.length > 0) await engine.onCustomerChanged(customerId, { messageId, traits: changed });
      return changed;
    },
    async close() {
      await queue.obliterate({ force: true });
      await queue.close();
      await deleteKeys(redis, prefix);
      await deleteKeys(redis, `${prefix}-bull`);
      await redis.quit();
    },
  };
}

export type SegmentsFixture = Awaited<ReturnType<typeof startSegments>>;
