import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { applyCouponEvent, type CouponEventOutcome } from '../coupons/events';
import type { CouponStore } from '../coupons/store';
import type { ProfileStore } from '../customers/profiles';
import { matchesEvent } from '../language/conditions';
import type { Journey, JourneyEvent } from '../language/types';
import type { IngestEvent, TrackEvent } from '../queues/events';
import { customerIdKey, journeyIdKey, journeyVersionKey, stepKey } from '../runtime/search-attributes';
import { eventSignal, journeyWorkflowId, type EventSignal } from '../workflows/definitions';
import type { journeyWorkflow } from '../workflows/journey';
import type { JourneyCatalog } from './journey-catalog';

export interface RouterDeps {
  temporal: Client;
  taskQueue: string;
  profiles: ProfileStore;
  catalog: JourneyCatalog;
  logger: Logger;
  /** When set, a `coupon_redeemed` event redeems its coupon (coupons/events.ts). */
  coupons?: Pick<CouponStore, 'redeem'>;
}

export interface RouteResult {
  customerId: string;
  entered: string[];
  signalled: string[];
  /** What a `coupon_redeemed` event did to its coupon. */
  coupon?: CouponEventOutcome;
}

/** Who the event is about. Until identity stitching exists, userId, else the anonymous id. */
export function customerIdOf(event: IngestEvent): string {
  return event.userId ?? `anon:${event.anonymousId}`;
}

/**
 * Applies one ingested event: traits into the profile; for a track, entry into every journey
 * whose entry matches (signalWithStart: a customer already in the journey just gets the event)
 * and the event as a signal to every other journey that listens for it.
 * Idempotent: profile merges are, and runs drop a signal whose messageId they already saw.
 */
export async function routeEvent(
  deps: RouterDeps,
  ingest: IngestEvent,
  { repeat = false }: { repeat?: boolean } = {},
): Promise<RouteResult> {
  const customerId = customerIdOf(ingest);
  const result: RouteResult = { customerId, entered: [], signalled: [] };
  if (ingest.type === 'identify') {
    await deps.profiles.merge(customerId, ingest.traits);
    return result;
  }

  // A coupon_redeemed event redeems its coupon; a second report of one redemption goes no further.
  const coupon =
    deps.coupons && (await applyCouponEvent(deps.coupons, toJourneyEvent(ingest), customerId, deps.logger));
  if (coupon) result.coupon = coupon.outcome;
  if (coupon?.event === null) return result;
  const traits = await deps.profiles.get(customerId);
  const event = coupon?.event ?? toJourneyEvent(ingest);
  const signal: EventSignal = { event, traits };
  const started = new Set<string>();

  for (const journey of deps.catalog.enteredBy(event.event)) {
    if (!matchesEvent(journey.entry, event, traits)) continue;
    // A repeat may come after this very event started a run that has ended since: entering
    // again would start a new run and send every touch a second time.
    if (repeat && (await enteredBy(deps, journey, customerId, event.messageId))) {
      started.add(journey.id);
      continue;
    }
    await enter(deps, journey, customerId, signal);
    started.add(journey.id);
    result.entered.push(journey.id);
  }
  for (const journey of deps.catalog.listeningTo(event.event)) {
    if (started.has(journey.id)) continue;
    try {
      await deps.temporal.workflow
        .getHandle(journeyWorkflowId(journey.id, customerId))
        .signal(eventSignal, signal);
      result.signalled.push(journey.id);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return result;
}

async function enter(
  deps: RouterDeps,
  journey: Journey,
  customerId: string,
  signal: EventSignal,
): Promise<void> {
  await deps.temporal.workflow.signalWithStart<typeof journeyWorkflow, [EventSignal]>('journeyWorkflow', {
    workflowId: journeyWorkflowId(journey.id, customerId),
    taskQueue: deps.taskQueue,
    args: [{ journey, customerId, entry: signal.event, traits: signal.traits }],
    signal: eventSignal,
    signalArgs: [signal],
    memo: { entryMessageId: signal.event.messageId },
    typedSearchAttributes: [
      { key: journeyIdKey, value: journey.id },
      { key: journeyVersionKey, value: journey.version },
      { key: customerIdKey, value: customerId },
      { key: stepKey, value: journey.steps[0]?.id ?? '' },
    ],
  });
}

/** True when the customer's latest run of the journey was started by the event `messageId`. */
async function enteredBy(
  deps: RouterDeps,
  journey: Journey,
  customerId: string,
  messageId: string,
): Promise<boolean> {
  try {
    const run = await deps.temporal.workflow.getHandle(journeyWorkflowId(journey.id, customerId)).describe();
    return run.memo?.entryMessageId === messageId;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

function toJourneyEvent(ingest: TrackEvent): JourneyEvent {
  return {
    messageId: ingest.messageId,
    event: ingest.event,
    properties: ingest.properties,
    timestamp: ingest.timestamp,
  };
}
