import type { RedisKeys } from '../customers/keys';
import { scanProfileIds } from '../customers/profiles';
import { CountSnapshot } from './counters';
import type { SegmentEngine } from './engine';
import { inSegment } from './evaluate';
import { segmentEvent } from './events';
import { parseTransitions } from './membership';
import { queueSegmentEvents } from './events';
import type { IngestEvent } from '../queues/events';

export interface ReevaluationOptions {
  /** The moment membership is judged at (the tick's time). */
  nowMs: number;
  /** The cause the changes are recorded under: `reevaluate:<tick>`; the same for a retried tick. */
  causeId: string;
  /**
   * A retry of a tick that may have applied changes before it could queue their events: every
   * customer's record of this cause is read too, and recorded changes are queued again.
   */
  retry?: boolean;
  /** Profiles per SCAN page, read in one pipelined round trip (default 1000). */
  pageSize?: number;
}

export interface ReevaluationResult {
  /**
   * Profiles visited. SCAN may return a key twice (the keyspace grows as the pass writes); a
   * second visit finds nothing to change, so it costs a read and queues no event.
   */
  scanned: number;
  entered: number;
  exited: number;
  ms: number;
}

/**
 * Re-evaluates every segment for every customer: the scheduled pass that moves customers by time
 * alone (a count window sliding past their last order, `lastOrderAt before -90d`, an
 * anniversary), and catches changes made outside the router (tag and setTrait steps, a segment
 * whose definition changed). Customers are the profile hashes, found by SCAN in pages; each page
 * is read with two pipelines (profiles with tags; segment sets and event buckets), evaluated in
 * memory, and only customers whose membership differs are written (one script each, pipelined).
 * Memory stays flat: one page at a time, events queued per page.
 */
export async function reevaluateAll(
  engine: SegmentEngine,
  customerKeys: RedisKeys,
  opts: ReevaluationOptions,
): Promise<ReevaluationResult> {
  const started = Date.now();
  const { redis, keys, catalog, profiles, eventsQueue, timeZone } = engine.deps;
  const segments = catalog.list();
  const result: ReevaluationResult = { scanned: 0, entered: 0, exited: 0, ms: 0 };
  if (segments.length === 0) return result;
  const today = engine.counters.today(opts.nowMs);
  const counts = catalog.counts;
  for await (const ids of scanProfileIds(redis, customerKeys, opts.pageSize)) {
    result.scanned += ids.length;

    const reads = redis.pipeline();
    for (const id of ids) {
      reads.smembers(keys.customerSegments(id));
      if (counts) reads.hgetall(keys.eventCounts(id));
      if (opts.retry) reads.get(keys.transitions(opts.causeId, id));
    }
    const [traitsOf, replies] = await Promise.all([profiles.getMany(ids, { tags: true }), reads.exec()]);
    const per = 1 + (counts ? 1 : 0) + (opts.retry ? 1 : 0);
    const reply = (i: number, k: number) => {
      const [err, value] = replies![i * per + k]!;
      if (err) throw err;
      return value;
    };

    const writes = redis.pipeline();
    const written: string[] = [];
    ids.forEach((id, i) => {
      const current = new Set(reply(i, 0) as string[]);
      const raw = counts ? (reply(i, 1) as Record<string, string>) : undefined;
      const recorded = opts.retry ? reply(i, per - 1) : null;
      const facts = {
        traits: traitsOf[i]!,
        counts: raw ? new CountSnapshot(raw, today) : CountSnapshot.EMPTY,
        nowMs: opts.nowMs,
        defaultZone: timeZone,
      };
      const wanted = new Map(segments.map((s) => [s.id, inSegment(s, facts)]));
      const differs = [...wanted].some(([segment, want]) => want !== current.has(segment));
      if (!differs && recorded === null) return;
      engine.members.applyIn(writes, id, opts.causeId, wanted);
      written.push(id);
    });
    if (written.length === 0) continue;

    const applied = (await writes.exec()) ?? [];
    const events: IngestEvent[] = [];
    written.forEach((id, i) => {
      const [err, out] = applied[i]!;
      if (err) throw err;
      for (const t of parseTransitions(out)) {
        events.push(segmentEvent(t, id, opts.causeId, opts.nowMs));
        if (t.kind === 'entered') result.entered += 1;
        else result.exited += 1;
      }
    });
    await queueSegmentEvents(eventsQueue, events);
  }
  result.ms = Date.now() - started;
  return result;
}
