import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { MergeParticipant } from '../customers/merge';
import { journeyWorkflowId, stopSignal, type StopSignal } from '../workflows/definitions';
import type { EntryAdmission } from './admission';

export interface JourneyMergeDeps {
  temporal: Client;
  admission: Pick<EntryAdmission, 'activeAmong'>;
  /** The ids of the journeys runs may be in (the catalog's). */
  journeyIds: () => Iterable<string>;
  /** The ids merged into a customer (the identity resolver's aliasesOf). */
  aliasesOf: (customerId: string) => Promise<string[]>;
  logger: Logger;
}

/** Who stops a merged-away customer's run (StopSignal.by). */
export const MERGE_STOPPED_BY = 'identity';

/**
 * Journeys on a merge: no customer in the same journey twice.
 * - A journey both sides are in: the loser's run (and runs of ids merged into the loser before)
 *   gets the stop signal, reason `merged into <winner>`; the winner's run goes on. Its end frees
 *   its admission slot as any run's end does.
 * - A journey only the loser's side is in: its run goes on under its workflow id; the router
 *   signals it the winner's events and admission counts it as the winner being in the journey
 *   (router/route-event.ts, router/admission.ts), so nothing moves here.
 * Running it again signals runs that have stopped: a no-op.
 */
export function journeysParticipant(deps: JourneyMergeDeps): MergeParticipant {
  return {
    name: 'journeys',
    async mergeInto(loserId, winnerId, merge) {
      const loserSide = new Set([loserId, ...merge.loserAliases]);
      const winnerSide = [winnerId, ...(await deps.aliasesOf(winnerId)).filter((id) => !loserSide.has(id))];
      const signal: StopSignal = { reason: `merged into ${winnerId}`, by: MERGE_STOPPED_BY };
      for (const journeyId of deps.journeyIds()) {
        const losers = await deps.admission.activeAmong(journeyId, [...loserSide]);
        if (losers.length === 0) continue;
        if ((await deps.admission.activeAmong(journeyId, winnerSide)).length === 0) continue;
        for (const id of losers) {
          try {
            await deps.temporal.workflow
              .getHandle(journeyWorkflowId(journeyId, id))
              .signal(stopSignal, signal);
            deps.logger.info({ journeyId, customerId: id, winner: winnerId }, 'run stopped: customer merged');
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          }
        }
      }
    },
  };
}
