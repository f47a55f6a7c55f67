import type { Logger } from 'pino';
import type { IngestEvent } from '../queues/events';
import type { Metrics } from './metrics';

/**
 * What the ingestion API does with events it queued: counts them by type and logs each (debug)
 * with its messageId as `correlationId`, the id the router, the run's activities and the
 * delivery worker log the same event's consequences under.
 */
export function ingestObserver(metrics: Metrics, logger: Logger): (events: readonly IngestEvent[]) => void {
  const log = logger.child({ component: 'ingest' });
  return (events) => {
    for (const event of events) metrics.eventsReceived.inc({ type: event.type });
    if (!log.isLevelEnabled('debug')) return;
    for (const event of events) {
      log.debug(
        { correlationId: event.messageId, type: event.type, ...('event' in event && { event: event.event }) },
        'event accepted',
      );
    }
  };
}
