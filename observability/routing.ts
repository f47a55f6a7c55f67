import type { RouteResult } from '../router/route-event';

/**
 * One outcome per routed event for touchpoint_events_routed_total: `entered` when it started a
 * run, else `signalled` when a run got it, else `refused` when admission turned every matching
 * journey down, else `unmatched` (no journey wanted it: most identifies, most events).
 */
export function routedOutcome(result: RouteResult): 'entered' | 'signalled' | 'refused' | 'unmatched' {
  if (result.entered.length > 0) return 'entered';
  if (result.signalled.length > 0) return 'signalled';
  if (result.refused.length > 0) return 'refused';
  return 'unmatched';
}
