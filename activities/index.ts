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
    sendMessage: (request: SendRequest) => sendMessage(deps, request),
    issueCoupon: (request: CouponRequest) => deps.coupons.issueOnce(request),
    loadTraits: (customerId: string) => deps.profiles.get(customerId),
    recordProgress: (r: ProgressRecord) =>
      deps.stats.countOnce(r.journeyId, r.journeyVersion, r.field, r.key),
  };
}
