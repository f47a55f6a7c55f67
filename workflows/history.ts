import type { RunEvent } from '../language/conditions';
import type { JourneyEvent } from '../language/types';

/** Events kept for `did` conditions; the oldest go first, so a carried state stays small. */
export const HISTORY_LIMIT = 200;

/**
 * Adds an event the run received to its history. Delivery outcomes (opened, clicked...) carry the
 * journey that sent the touch: those about another journey are not something this run did.
 */
export function remember(history: RunEvent[], event: JourneyEvent, journeyId: string): void {
  const about = event.properties?.journeyId;
  if (about !== undefined && about !== null && about !== journeyId) return;
  history.push({ event: event.event, properties: event.properties ?? {}, at: event.timestamp });
  if (history.length > HISTORY_LIMIT) history.splice(0, history.length - HISTORY_LIMIT);
}
