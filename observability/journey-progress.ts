import type { ProgressRecord } from '../activities/types';
import type { Metrics } from './metrics';

/**
 * A run's counter records as metrics: `entered` (the run's start) and the final `converted`.
 * Called only by the attempt that counted the record in Redis, so a retried activity or a
 * replayed run counts once.
 */
export function countProgress(metrics: Metrics, record: ProgressRecord): void {
  if (record.field === 'entered') {
    metrics.journeyEntries.inc({ journey: record.journeyId, version: String(record.journeyVersion) });
  } else if (record.field === 'converted' && record.customerId !== undefined) {
    metrics.journeyConversions.inc({ journey: record.journeyId });
  }
}
