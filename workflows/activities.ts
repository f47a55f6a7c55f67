import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { JourneyActivities } from '../activities/types';

// Counters, profile reads and profile writes are quick, idempotent Redis calls: as local
// activities they cost the run a marker in its history instead of three events and a task-queue
// round trip each.
export const { loadTraits, recordProgress, updateProfile } = proxyLocalActivities<JourneyActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

// Touches: retried until they succeed (each is idempotent by its key).
export const { sendMessage, issueCoupon, notify } = proxyActivities<JourneyActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m' },
});

/** A webhook step gives up after its own number of attempts (then takes `onFailure`). */
export function webhookCaller(attempts: number): Pick<JourneyActivities, 'callWebhook'> {
  return proxyActivities<JourneyActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: attempts },
  });
}
