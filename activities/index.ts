import { Context } from '@temporalio/activity';
import type { CouponStore } from '../coupons/store';
import type { JourneyStats } from '../customers/journey-stats';
import { sendMessage, type SendDeps } from './send-message';
import type { CouponRequest, JourneyActivities, ProgressRecord, SendRequest } from './types';

export interface ActivityDeps extends SendDeps {
  stats: JourneyStats;
  coupons: CouponStore;
}

/** The activities registered with the Temporal worker, bound to their dependencies. */
export function createActivities(deps: ActivityDeps): JourneyActivities {
  return {
    sendMessage: (request: SendRequest) => sendMessage(deps, request, activityNow()),
    issueCoupon: (request: CouponRequest) => deps.coupons.issueOnce(request),
    loadTraits: (customerId: string) => deps.profiles.get(customerId),
    recordProgress: (r: ProgressRecord) =>
      deps.stats.countOnce(r.journeyId, r.journeyVersion, r.field, r.key),
  };
}

/**
 * The time rules judge a touch by: the later of this worker's clock and the Temporal server's
 * time when this attempt was scheduled. In production they agree (the worker's is the fresher);
 * on the time-skipping test server the server's clock runs ahead and journeys' quiet hours must
 * follow it. Outside an activity (a direct call), the worker's clock.
 */
function activityNow(): Date {
  let scheduled = 0;
  try {
    scheduled = Context.current().info.currentAttemptScheduledTimestampMs;
  } catch {
    // not running as a Temporal activity
  }
  return new Date(Math.max(Date.now(), scheduled));
}
