import type { MergeParticipant, MergeRecord } from '../customers/merge';
import type { SegmentEngine } from './engine';

/** `merge:<merge id>`: the cause the winner's membership changes are recorded and announced under. */
export function mergeCause(merge: Pick<MergeRecord, 'id'>): string {
  return `merge:${merge.id}`;
}

/**
 * Segment membership when two customers merge (customers/merge.ts): the loser's event buckets are
 * added to the winner's (its views and orders count for the one person), the loser id leaves
 * every segment silently (it is an alias now, and its runs are the identity's business), and the
 * winner is re-evaluated against every segment, announcing what changed for them under
 * `merge:<merge id>`. Each part is idempotent, so a participant run twice changes nothing twice.
 * Registered after the profile participant, so the winner is judged on the merged traits.
 */
export class SegmentMergeParticipant implements MergeParticipant {
  readonly name = 'segments';

  constructor(private readonly engine: SegmentEngine) {}

  async mergeInto(loserId: string, winnerId: string, merge: MergeRecord): Promise<void> {
    await this.engine.counters.moveInto(loserId, winnerId);
    await this.engine.members.removeCustomer(loserId);
    await this.engine.evaluate(winnerId, mergeCause(merge));
  }
}
