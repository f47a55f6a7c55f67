import type { SendRequest } from '../activities/types';
import type { RulesConfig } from './config';
import { DEFAULT_TOPIC, type ConsentStore } from './consent';
import type { FrequencyCaps } from './frequency-caps';
import { customerTimezone, effectiveQuietHours, quietHoursAt } from './quiet-hours';
import type { UnsubscribeLinks } from './unsubscribe';

export type SkipReason = 'no_consent' | 'quiet_hours' | 'frequency_cap';

export type TouchDecision =
  | { action: 'send' }
  | { action: 'skip'; reason: SkipReason; detail?: string }
  /** Inside quiet hours with action `delay`: ask again at `until` (ISO-8601). */
  | { action: 'defer'; reason: 'quiet_hours'; until: string };

/**
 * The rules every marketing touch obeys, in order: consent, quiet hours, frequency caps. Consent
 * comes first so a customer who said stop is never counted or delayed; the caps come last
 * because checking them consumes them, which only a touch that will go now may do.
 */
export class TouchRules {
  constructor(
    readonly config: RulesConfig,
    readonly consent: ConsentStore,
    readonly caps: FrequencyCaps,
    readonly unsubscribe: UnsubscribeLinks,
  ) {}

  /** Decides a marketing touch (callers skip this for transactional ones). */
  async admit(request: SendRequest, traits: Record<string, unknown>, now: Date): Promise<TouchDecision> {
    const topic = request.topic ?? DEFAULT_TOPIC;
    const consent = await this.consent.check(request.customerId, request.channel, topic);
    if (!consent.allowed) return { action: 'skip', reason: 'no_consent' };

    const timezone = customerTimezone(traits.timezone, this.config.timezone);
    const quiet = effectiveQuietHours(this.config.quietHours, request.quietHours);
    if (quiet) {
      const check = quietHoursAt(now, timezone, quiet);
      if (check.inside) {
        return quiet.action === 'delay'
          ? { action: 'defer', reason: 'quiet_hours', until: check.endsAt }
          : { action: 'skip', reason: 'quiet_hours' };
      }
    }

    const cap = await this.caps.consume(
      request.customerId,
      request.channel,
      request.idempotencyKey,
      now,
      timezone,
    );
    if (!cap.allowed) return { action: 'skip', reason: 'frequency_cap', detail: cap.cap };
    return { action: 'send' };
  }

  /** The unsubscribe link a marketing email carries (templates: `{{unsubscribeUrl}}`). */
  unsubscribeUrl(request: SendRequest): string | undefined {
    if (request.channel !== 'email' || request.transactional) return undefined;
    return this.unsubscribe.url(request.customerId, request.topic ?? DEFAULT_TOPIC);
  }
}
