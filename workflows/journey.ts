import {
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { IssuedCoupon, JourneyActivities } from '../activities/types';
import { evaluate, matchesEvent } from '../language/conditions';
import type { Journey, JourneyEvent, Step } from '../language/types';
import { stepKey } from '../runtime/search-attributes';
import {
  type CarriedState,
  type EventSignal,
  type JourneyInput,
  type JourneyResult,
  type PathEntry,
  type RunState,
  eventSignal,
  stateQuery,
} from './definitions';

// Counters and profile reads are quick, idempotent Redis calls: as local activities they cost the
// run a marker in its history instead of three events and a task-queue round trip each.
const { loadTraits, recordProgress } = proxyLocalActivities<JourneyActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const { sendMessage, issueCoupon } = proxyActivities<JourneyActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m' },
});

/** Message ids remembered for dedupe; a replayed event older than this many is very unlikely. */
const SEEN_LIMIT = 500;

/**
 * Interprets one pinned journey version for one customer. Deterministic: time comes from the
 * workflow clock, side effects only through activities, whose idempotency keys are derived from
 * (workflow id, first run id, step id, visit number) so a retried activity or a replayed
 * history never touches the customer twice.
 */
export async function journeyWorkflow(input: JourneyInput): Promise<JourneyResult> {
  const { journey, customerId } = input;
  const { workflowId, firstExecutionRunId } = workflowInfo();
  const carried = input.carried;
  const steps = new Map(journey.steps.map((s) => [s.id, s] as const));

  const state: RunState = {
    journeyId: journey.id,
    journeyVersion: journey.version,
    customerId,
    status: 'running',
    currentStep: null,
    enteredAt: carried?.enteredAt ?? new Date().toISOString(),
    wakeAt: null,
    path: carried?.path ?? [],
  };
  const visits: Record<string, number> = carried?.visits ?? {};
  const seen = new Set<string>(carried?.seenMessageIds ?? [input.entry.messageId]);
  let traits: Record<string, unknown> = carried?.traits ?? input.traits ?? {};
  let lastEvent: JourneyEvent = carried?.lastEvent ?? input.entry;
  const coupons: Record<string, IssuedCoupon> = carried?.coupons ?? {};
  /** Events received while the current waitFor is open. */
  let inbox: JourneyEvent[] = [];

  setHandler(stateQuery, () => state);
  setHandler(eventSignal, ({ event, traits: latest }: EventSignal) => {
    if (seen.has(event.messageId) || state.status !== 'running') return;
    remember(seen, event.messageId);
    traits = { ...traits, ...latest };
    const goal = journey.exit.find((m) => matchesEvent(m, event, traits));
    if (goal) {
      state.status = 'converted';
      state.conversion = { event: event.event, messageId: event.messageId, at: new Date().toISOString() };
      return;
    }
    inbox.push(event);
  });

  if (!carried) await recordProgress(progress(journey, 'entered', workflowId, firstExecutionRunId));

  let stepId: string | undefined = carried?.stepId ?? journey.steps[0]?.id;
  while (stepId !== undefined && state.status === 'running') {
    // Long journeys (weekly loops over months) hand their state to a fresh run between steps.
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof journeyWorkflow>({
        journey,
        customerId,
        entry: input.entry,
        carried: carryState(),
      });
    }
    const step: Step = steps.get(stepId)!;
    const visit = visits[step.id] ?? 0;
    visits[step.id] = visit + 1;
    state.currentStep = step.id;
    upsertSearchAttributes([{ key: stepKey, value: step.id }]);
    const entry: PathEntry = { stepId: step.id, type: step.type, at: new Date().toISOString() };
    state.path.push(entry);
    stepId = await runStep(step, entry, `${workflowId}/${firstExecutionRunId}/${step.id}/${visit}`);
    state.wakeAt = null;
  }

  // Running off the end or reaching an `exit` step completes the run; `exited` is kept for runs
  // removed early (operator stop), which later lifecycle features record.
  if (state.status === 'running') state.status = 'completed';
  state.currentStep = null;
  upsertSearchAttributes([{ key: stepKey, value: `(${state.status})` }]);
  await recordProgress(progress(journey, state.status, workflowId, firstExecutionRunId));
  return { status: state.status, path: state.path };

  /** Runs one step and returns the id of the next one (undefined: the journey ends here). */
  async function runStep(step: Step, entry: PathEntry, idempotencyKey: string): Promise<string | undefined> {
    switch (step.type) {
      case 'send': {
        const request = {
          journeyId: journey.id,
          journeyVersion: journey.version,
          journeyName: journey.name,
          customerId,
          stepId: step.id,
          channel: step.channel,
          template: step.template,
          locale: step.locale,
          defaultLocale: journey.defaultLocale,
          event: lastEvent,
          idempotencyKey,
          transactional: step.transactional,
          topic: step.topic,
          quietHours: { ...journey.quietHours, ...(step.quietHours ? { action: step.quietHours } : {}) },
          coupons,
        };
        let outcome = await sendMessage(request);
        // Quiet hours: sleep until the window ends (a goal still ends the run), then ask again.
        while (outcome.status === 'deferred' && state.status === 'running') {
          state.wakeAt = outcome.until;
          entry.detail = { deferredUntil: outcome.until, reason: outcome.reason };
          await condition(
            () => state.status !== 'running',
            Math.max(0, Date.parse(outcome.until) - Date.now()),
          );
          if (state.status !== 'running') break;
          outcome = await sendMessage(request);
        }
        if (outcome.status === 'deferred') {
          entry.outcome = state.status;
          return undefined;
        }
        entry.outcome = outcome.status === 'skipped' ? `skipped:${outcome.reason}` : 'sent';
        entry.detail = { ...entry.detail, channel: step.channel, template: step.template, idempotencyKey };
        return next(step);
      }
      case 'issueCoupon': {
        const expiresAt = step.expiresAt ?? new Date(Date.now() + (step.expiresInMs ?? 0)).toISOString();
        const coupon = await issueCoupon({
          journeyId: journey.id,
          journeyVersion: journey.version,
          customerId,
          stepId: step.id,
          campaign: step.campaign,
          value: step.value,
          currency: step.currency,
          expiresAt,
          idempotencyKey,
        });
        coupons[step.id] = coupon;
        entry.outcome = 'issued';
        entry.detail = { campaign: coupon.campaign, code: coupon.code, expiresAt: coupon.expiresAt };
        return next(step);
      }
      case 'wait': {
        state.wakeAt = new Date(Date.now() + step.durationMs).toISOString();
        entry.detail = { wakeAt: state.wakeAt };
        await condition(() => state.status !== 'running', step.durationMs);
        entry.outcome = state.status === 'running' ? 'waited' : state.status;
        return next(step);
      }
      case 'waitFor': {
        inbox = [];
        state.wakeAt = new Date(Date.now() + step.timeoutMs).toISOString();
        entry.detail = { timeoutAt: state.wakeAt };
        let received: JourneyEvent | undefined;
        const arrived = () => {
          received ??= inbox.find((e) => matchesEvent(step, e, traits));
          return received !== undefined || state.status !== 'running';
        };
        await condition(arrived, step.timeoutMs);
        if (state.status !== 'running') {
          entry.outcome = state.status;
          return undefined;
        }
        if (received) {
          lastEvent = received;
          entry.outcome = 'event';
          entry.detail = { ...entry.detail, event: received.event, messageId: received.messageId };
          return step.onEvent ?? next(step);
        }
        entry.outcome = 'timeout';
        return step.onTimeout ?? next(step);
      }
      case 'branch': {
        traits = { ...traits, ...(await loadTraits(customerId)) };
        const ctx = { traits, properties: lastEvent.properties };
        const index = step.branches.findIndex((b) => evaluate(b.when, ctx));
        const target = index >= 0 ? step.branches[index]!.goto : (step.else ?? next(step));
        entry.outcome = index >= 0 ? `branch:${index}` : 'else';
        entry.detail = { goto: target ?? null };
        return target;
      }
      case 'exit':
        entry.outcome = 'exit';
        return undefined;
    }
  }

  function next(step: Step): string | undefined {
    if (step.next) return step.next;
    const index = journey.steps.findIndex((s) => s.id === step.id);
    return journey.steps[index + 1]?.id;
  }

  function carryState(): CarriedState {
    return {
      stepId: stepId!,
      path: state.path,
      visits,
      seenMessageIds: [...seen],
      lastEvent,
      traits,
      enteredAt: state.enteredAt,
      coupons,
    };
  }
}

function remember(seen: Set<string>, messageId: string): void {
  seen.add(messageId);
  if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string);
}

function progress(journey: Journey, field: string, workflowId: string, firstRunId: string) {
  return {
    journeyId: journey.id,
    journeyVersion: journey.version,
    field,
    key: `${workflowId}/${firstRunId}/${field}`,
  };
}
