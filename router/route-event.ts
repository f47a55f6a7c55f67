import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { CustomerEventRecorder } from '../audit/customer-events';
import { applyCouponEvent, type CouponEventOutcome } from '../coupons/events';
import type { CouponStore } from '../coupons/store';
import type { ProfileStore } from '../customers/profiles';
import { evaluate, matchesEvent } from '../language/conditions';
import { customerZone } from '../language/timing';
import type { Condition, Journey, JourneyEvent } from '../language/types';
import {
  ENROLLED_EVENT,
  type EnrolEvent,
  type IdentifyEvent,
  type IngestEvent,
  type TrackEvent,
} from '../queues/events';
import { customerIdKey, journeyIdKey, journeyVersionKey, stepKey } from '../runtime/search-attributes';
import { eventSignal, journeyWorkflowId, type EventSignal } from '../workflows/definitions';
import type { journeyWorkflow } from '../workflows/journey';
import type { ComputedTraitsUpdater, CustomerResolver, SegmentMembership } from './customer-pipeline';
import type { EntryAdmission, RefusalReason } from './admission';

/** What routing needs of the journey catalog (router/journey-catalog.ts): the current versions. */
export interface RouterCatalog {
  get(id: string): Journey | undefined;
  /** Journeys whose `entry.event` is this event (their filter still has to match). */
  enteredBy(event: string): Journey[];
  /** Journeys whose `entry.traitChanged` is this trait. */
  enteredByTrait(trait: string): Journey[];
  /** Journeys with a goal or a waitFor on this event. */
  listeningTo(event: string): Journey[];
  /** Reloads when the registry changed (a store-backed catalog); the router worker calls it per job. */
  refresh?(): Promise<boolean>;
}

export interface RouterDeps {
  temporal: Client;
  taskQueue: string;
  profiles: ProfileStore;
  catalog: RouterCatalog;
  /** Decides every entry before signalWithStart (router/admission.ts). */
  admission: EntryAdmission;
  logger: Logger;
  /** When set, a `coupon_redeemed` event redeems its coupon (coupons/events.ts). */
  coupons?: Pick<CouponStore, 'redeem'>;
  /** The router's clock for admission (end dates, cool-downs); default Date.now. */
  now?: () => number;
  /** Simulation only: passed to the runs it starts as JourneyInput.clockOffsetMs (their clock's offset). */
  clockOffsetMs?: number;
  /** Identity stitching (customers/identity); without it the customer is the userId or anon:<anonymousId>. */
  identity?: CustomerResolver;
  /** Computed traits from track events (customers/computed-traits). */
  computedTraits?: ComputedTraitsUpdater;
  /** Segment membership (segments/); entering or leaving queues an event. */
  segments?: SegmentMembership;
  /** The customer's event log (audit/customer-events.ts): every event routed, for their timeline. */
  customerEvents?: CustomerEventRecorder;
}

export interface RouteResult {
  customerId: string;
  entered: string[];
  signalled: string[];
  /** Journeys whose entry matched but admission refused (`running`: the run got the event instead). */
  refused: { journeyId: string; reason: RefusalReason }[];
  /** What a `coupon_redeemed` event did to its coupon. */
  coupon?: CouponEventOutcome;
}

/** The entry event of a run started by an identify that changed its journey's `traitChanged` trait. */
export const TRAIT_CHANGED_EVENT = 'trait_changed';

/**
 * Who the event is about without identity stitching: the internal `customerId`, else the userId,
 * else the anonymous id. With it (`deps.identity`), the identity graph decides.
 */
export function customerIdOf(event: IngestEvent): string {
  return event.customerId ?? event.userId ?? `anon:${event.anonymousId}`;
}

/**
 * The customer as routing sees them: their id and, lazily, the ids merged into them (whose runs
 * are still theirs: signalled their events, counted by admission). One read per event at most.
 */
interface Routed {
  id: string;
  aliases(): Promise<string[]>;
}

function routed(deps: RouterDeps, id: string): Routed {
  let aliases: Promise<string[]> | undefined;
  return {
    id,
    aliases: () => (aliases ??= deps.identity?.aliasesOf?.(id) ?? Promise.resolve([])),
  };
}

/**
 * Applies one ingested event. First the customer pipeline (router/customer-pipeline.ts): who the
 * event is about (identity), logged for their timeline (audit/customer-events.ts), what it changes
 * in the profile (traits, computed traits), which segments that moves the customer in or out of.
 * Then journeys; every entry goes through
 * admission first (router/admission.ts):
 * - track: entry into every journey whose `entry.event` matches; a customer already in one gets
 *   the event as a signal; then the event as a signal to every other journey that listens for it;
 * - identify: traits into the profile; entry into the journeys whose `entry.traitChanged` trait
 *   the identify set or changed and whose `where` holds on the new traits (entry event
 *   `trait_changed`, properties `{ trait, value }`);
 * - enrol: entry into that one journey, whatever its trigger (entry event `journey_enrolled`).
 * Idempotent: profile merges are, admission re-admits the message that admitted a customer, and
 * runs drop a signal whose messageId they already saw.
 */
export async function routeEvent(
  deps: RouterDeps,
  ingest: IngestEvent,
  { repeat = false }: { repeat?: boolean } = {},
): Promise<RouteResult> {
  const customerId = deps.identity ? await deps.identity.resolve(ingest) : customerIdOf(ingest);
  await deps.customerEvents?.record(customerId, ingest);
  const customer = routed(deps, customerId);
  const result: RouteResult = { customerId, entered: [], signalled: [], refused: [] };
  if (ingest.type === 'identify') {
    const changed = await deps.profiles.merge(customerId, ingest.traits, ingest.messageId);
    if (changed.length > 0) {
      await deps.segments?.onCustomerChanged(customerId, { messageId: ingest.messageId, traits: changed });
      await enterOnTraits(deps, ingest, customer, changed, result);
    }
    return result;
  }
  if (ingest.type === 'enrol') {
    await enrol(deps, ingest, customer, result);
    return result;
  }

  // A coupon_redeemed event redeems its coupon; a second report of one redemption goes no further.
  const coupon =
    deps.coupons && (await applyCouponEvent(deps.coupons, toJourneyEvent(ingest), customerId, deps.logger));
  if (coupon) result.coupon = coupon.outcome;
  if (coupon?.event === null) return result;
  const event = coupon?.event ?? toJourneyEvent(ingest);
  const internal = ingest.customerId !== undefined; // queued by Touchpoint: not the customer's doing
  const computed = (await deps.computedTraits?.onTrack(customerId, event, { internal })) ?? [];
  await deps.segments?.onCustomerChanged(customerId, { messageId: event.messageId, event, traits: computed });
  const traits = await deps.profiles.getWithTags(customerId);
  const signal: EventSignal = { event, traits };
  const handled = new Set<string>();

  for (const journey of deps.catalog.enteredBy(event.event)) {
    const clock = { nowMs: now(deps), timeZone: customerZone(traits) };
    if (!('event' in journey.entry) || !matchesEvent(journey.entry, event, traits, clock)) continue;
    const outcome = await tryEnter(deps, journey, customer, signal, result, repeat);
    // A refused customer may still be in the journey under an earlier run that waits for this event.
    if (outcome !== 'refused') handled.add(journey.id);
  }
  for (const journey of deps.catalog.listeningTo(event.event)) {
    if (handled.has(journey.id)) continue;
    await signalRun(deps, journey, customer, signal, result);
  }
  return result;
}

async function enterOnTraits(
  deps: RouterDeps,
  ingest: IdentifyEvent,
  customer: Routed,
  changed: string[],
  result: RouteResult,
): Promise<void> {
  const journeys = changed.flatMap((trait) => deps.catalog.enteredByTrait(trait).map((j) => ({ trait, j })));
  if (journeys.length === 0) return;
  const traits = await deps.profiles.getWithTags(customer.id);
  for (const { trait, j: journey } of journeys) {
    const value = traits[trait];
    if (value === undefined || value === null) continue; // removed: no entry
    const event: JourneyEvent = {
      messageId: ingest.messageId,
      event: TRAIT_CHANGED_EVENT,
      properties: { trait, value },
      timestamp: ingest.timestamp,
    };
    const { where } = journey.entry as { where?: Condition };
    const clock = { nowMs: now(deps), timeZone: customerZone(traits) };
    if (where && !evaluate(where, { traits, properties: event.properties, ...clock })) continue;
    await tryEnter(deps, journey, customer, { event, traits }, result, false, { signalRunning: false });
  }
}

async function enrol(deps: RouterDeps, ingest: EnrolEvent, customer: Routed, result: RouteResult) {
  const journey = deps.catalog.get(ingest.journeyId);
  if (!journey) {
    // Retrying cannot help: the journey was removed after the enrolment was queued.
    deps.logger.warn(
      { journeyId: ingest.journeyId, messageId: ingest.messageId },
      'enrolment into an unknown journey',
    );
    return;
  }
  const traits = await deps.profiles.getWithTags(customer.id);
  const event: JourneyEvent = {
    messageId: ingest.messageId,
    event: ENROLLED_EVENT,
    properties: ingest.properties ?? {},
    timestamp: ingest.timestamp,
  };
  await tryEnter(deps, journey, customer, { event, traits }, result, false, { signalRunning: false });
}

/**
 * Admission, then signalWithStart. A message that admitted the customer before (a retried job)
 * starts the run only if that attempt did not: its run may have ended since, and starting again
 * would send every touch a second time. A run of an id merged into the customer counts as theirs.
 */
async function tryEnter(
  deps: RouterDeps,
  journey: Journey,
  customer: Routed,
  signal: EventSignal,
  result: RouteResult,
  repeat: boolean,
  { signalRunning = true } = {},
): Promise<'entered' | 'running' | 'refused'> {
  const customerId = customer.id;
  const aliases = await customer.aliases();
  const admit = () => deps.admission.admit(journey, customerId, signal.event.messageId, now(deps), aliases);
  let admission = await admit();
  if (!admission.admitted && admission.reason === 'running') {
    if (
      (signalRunning && (await signalRun(deps, journey, customer, signal, result))) ||
      !(await releaseStaleSlots(deps, journey, customer))
    )
      return refused(result, journey, 'running');
    // The run that held the slot ended without freeing it: freed; decide again.
    admission = await admit();
  }
  if (!admission.admitted) return refused(result, journey, admission.reason);
  if ((admission.repeat || repeat) && (await enteredBy(deps, journey, customerId, signal.event.messageId)))
    return 'entered';
  await enter(deps, journey, customerId, signal);
  result.entered.push(journey.id);
  return 'entered';
}

function refused(result: RouteResult, journey: Journey, reason: RefusalReason): 'running' | 'refused' {
  result.refused.push({ journeyId: journey.id, reason });
  return reason === 'running' ? 'running' : 'refused';
}

/** How long an admitted entry may take to start its run before a missing run counts as gone. */
const STARTING_GRACE_MS = 5 * 60_000;

/**
 * Frees the slots of the customer (and of ids merged into them) in the journey whose runs are
 * gone (see staleSlot). True when every slot that kept them out was stale and is free now.
 */
async function releaseStaleSlots(deps: RouterDeps, journey: Journey, customer: Routed): Promise<boolean> {
  const aliases = await customer.aliases();
  const held =
    aliases.length === 0
      ? [customer.id]
      : await deps.admission.activeAmong(journey.id, [customer.id, ...aliases]);
  for (const id of held) if (!(await staleSlot(deps, journey, id))) return false;
  for (const id of held) await deps.admission.release(journey.id, id);
  return true;
}

/**
 * Admission says the customer is in the journey, yet there is no running run: either the run
 * ended without freeing its slot (terminated or failed in Temporal: no final recordProgress), or
 * another router worker admitted the customer a moment ago and is starting it. The first is a
 * stale slot that would keep the customer out for good; the second must be left alone.
 */
async function staleSlot(deps: RouterDeps, journey: Journey, customerId: string): Promise<boolean> {
  const last = await deps.admission.lastEntry(journey.id, customerId);
  const old = last !== undefined && now(deps) - last.atMs > STARTING_GRACE_MS;
  try {
    const run = await deps.temporal.workflow.getHandle(journeyWorkflowId(journey.id, customerId)).describe();
    if (run.status.name === 'RUNNING') return false;
    // The run that ended is the one admitted last: nothing else is on its way.
    return run.memo?.entryMessageId === last?.messageId || old;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return old;
    throw err;
  }
}

/**
 * The event as a signal to the customer's run of the journey, and to the runs of ids merged into
 * them that are in it (a run only the merged-away customer was in goes on under its own workflow
 * id). True: some run got it.
 */
async function signalRun(
  deps: RouterDeps,
  journey: Journey,
  customer: Routed,
  signal: EventSignal,
  result: RouteResult,
): Promise<boolean> {
  const aliases = await customer.aliases();
  const ids = [
    customer.id,
    ...(aliases.length === 0 ? [] : await deps.admission.activeAmong(journey.id, aliases)),
  ];
  let signalled = false;
  for (const id of ids) {
    try {
      await deps.temporal.workflow.getHandle(journeyWorkflowId(journey.id, id)).signal(eventSignal, signal);
      signalled = true;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  if (signalled) result.signalled.push(journey.id);
  return signalled;
}

function now(deps: RouterDeps): number {
  return deps.now?.() ?? Date.now();
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
    args: [
      {
        journey,
        customerId,
        entry: signal.event,
        traits: signal.traits,
        ...(deps.clockOffsetMs ? { clockOffsetMs: deps.clockOffsetMs } : {}),
      },
    ],
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
