import { Context } from '@temporalio/activity';
import type { CouponStore } from '../coupons/store';
import type { JourneyStats } from '../customers/journey-stats';
import type { ProfileStore } from '../customers/profiles';
import { countProgress } from '../observability/journey-progress';
import type { Metrics } from '../observability/metrics';
import { notify, NotifyLog, type NotifySender } from './notify';
import { sendMessage, type SendDeps } from './send-message';
import type {
  CouponRequest,
  JourneyActivities,
  NotifyRequest,
  ProfileUpdate,
  ProgressRecord,
  SendRequest,
  WebhookRequest,
} from './types';
import type { WebhookSender } from './webhooks';

export {
  HttpNotifySender,
  NotifyLog,
  RecordingNotifySender,
  type NotifyMessage,
  type NotifySender,
  type RecordedNotify,
} from './notify';
export {
  HttpWebhookSender,
  RecordingWebhookSender,
  type RecordedWebhook,
  type WebhookEnvelope,
  type WebhookSender,
} from './webhooks';

export interface ActivityDeps extends SendDeps {
  stats: JourneyStats;
  coupons: CouponStore;
  /** `webhook` steps: HttpWebhookSender in production, RecordingWebhookSender in a simulation. */
  webhooks: WebhookSender;
  /** `notify` steps: HttpNotifySender in production, RecordingNotifySender in a simulation. */
  notifier: NotifySender;
  /** Simulation: added to the activities' clock, as the run's clock adds it (JourneyInput.clockOffsetMs). */
  clockOffsetMs?: number;
  /**
   * Called by recordProgress for a run's final record (converted / completed / exited) with a
   * customerId, after counting it: frees the customer's entry-limit and cap slots. Every attempt
   * calls it (it must be idempotent), so a failed release is retried with the activity.
   */
  onRunEnded?: (journeyId: string, customerId: string) => Promise<void>;
  /**
   * The customer a run's customer id lives on as now (identity stitching: a run of a customer
   * merged into another goes on under its old id). Sends, traits, profile updates and alerts go
   * to that customer: their profile, consent and caps. Default: the id itself.
   */
  canonicalCustomer?: (customerId: string) => Promise<string>;
  /** Journey entries and conversions, counted once per run with the stats (observability/). */
  metrics?: Metrics;
}

/** The fields of a run's final record (`converted:control` and the like count as their base). */
const RUN_ENDS = new Set(['converted', 'completed', 'exited']);

/** The activities registered with the Temporal worker, bound to their dependencies. */
export function createActivities(deps: ActivityDeps): JourneyActivities {
  const now = () => activityNow(deps.clockOffsetMs ?? 0);
  const notifyLog = new NotifyLog(deps.stats.redis, deps.stats.keys);
  const canonical = async <T extends { customerId: string }>(request: T): Promise<T> => {
    const customerId = deps.canonicalCustomer
      ? await deps.canonicalCustomer(request.customerId)
      : request.customerId;
    return customerId === request.customerId ? request : { ...request, customerId };
  };
  return {
    sendMessage: async (request: SendRequest) => sendMessage(deps, await canonical(request), now()),
    issueCoupon: (request: CouponRequest) => deps.coupons.issueOnce(request),
    loadTraits: async (customerId: string) =>
      deps.profiles.getWithTags((await canonical({ customerId })).customerId),
    recordProgress: async (r: ProgressRecord) => {
      const first = await deps.stats.countOnce(r.journeyId, r.journeyVersion, r.field, r.key);
      if (first && deps.metrics) countProgress(deps.metrics, r);
      if (r.customerId !== undefined && RUN_ENDS.has(r.field.split(':')[0]!)) {
        await deps.onRunEnded?.(r.journeyId, r.customerId);
      }
    },
    updateProfile: async (update: ProfileUpdate) => updateProfile(deps.profiles, await canonical(update)),
    callWebhook: (request: WebhookRequest) => deps.webhooks.send(request),
    notify: async (request: NotifyRequest) =>
      notify(
        {
          profiles: deps.profiles,
          templates: deps.templates,
          notifier: deps.notifier,
          log: notifyLog,
          defaultTimeZone: deps.rules.config.timezone,
        },
        await canonical(request),
        now(),
      ),
  };
}

/**
 * `tag` / `untag` / `setTrait`: tags removed and added (a set per customer), then traits merged
 * as an identify would (null removes one). Idempotent: running it again changes nothing more.
 * Tags are set only this way: a `tags` trait is an ordinary trait that journeys do not see
 * (loadTraits puts the tag set in `tags`).
 */
export async function updateProfile(profiles: ProfileStore, update: ProfileUpdate): Promise<void> {
  await profiles.updateTags(update.customerId, { add: update.addTags, remove: update.removeTags });
  if (update.traits && Object.keys(update.traits).length > 0) {
    await profiles.merge(update.customerId, update.traits);
  }
}

/**
 * The time rules judge a touch by: the later of this worker's clock and the Temporal server's
 * time when this attempt was scheduled, plus the simulation's offset (0 in production). In
 * production they agree (the worker's is the fresher); on the time-skipping test server the
 * server's clock runs ahead and journeys' quiet hours must follow it. Outside an activity (a
 * direct call), the worker's clock.
 */
export function activityNow(offsetMs = 0): Date {
  let scheduled = 0;
  try {
    scheduled = Context.current().info.currentAttemptScheduledTimestampMs;
  } catch {
    // not running as a Temporal activity
  }
  return new Date(Math.max(Date.now(), scheduled) + offsetMs);
}
