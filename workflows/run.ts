import { condition, workflowInfo } from '@temporalio/workflow';
import type { IssuedCoupon, ProgressRecord } from '../activities/types';
import type { ConditionContext, RunEvent } from '../language/conditions';
import { customerZone } from '../language/timing';
import type { Journey, JourneyEvent, Step, ValueExpr } from '../language/types';
import { resolveValue } from '../language/values';
import { holdbackGroup } from './buckets';
import { RunClock } from './clock';
import type { CarriedState, JourneyInput, MigrateSignal, PathEntry, RunState } from './definitions';
import { remember } from './history';
import { applyMigration } from './migration';

/** How a wait ended: its time came, the run ended, what it waited for arrived, or a migration. */
export type WaitEnd = 'elapsed' | 'ended' | 'arrived' | { migrateTo: string };

/**
 * Everything one run of a journey knows, shared by the step handlers in workflows/steps. All of
 * it is plain data that continue-as-new carries (see `carry`), except the waitFor inbox.
 */
export class Run {
  journey: Journey;
  readonly customerId: string;
  /** `${workflowId}/${firstRunId}`: stable across continue-as-new, the root of every key. */
  readonly runKey: string;
  readonly clock: RunClock;
  readonly state: RunState;
  traits: Record<string, unknown>;
  lastEvent: JourneyEvent;
  readonly coupons: Record<string, IssuedCoupon>;
  readonly visits: Record<string, number>;
  readonly arms: Record<string, string>;
  readonly history: RunEvent[];
  readonly seen: Set<string>;
  /** Events received while the current waitFor is open. */
  inbox: JourneyEvent[] = [];
  /** A migration waiting for the run to reach a wait point. */
  pendingMigration: MigrateSignal | undefined;
  private steps: Map<string, Step>;

  constructor(input: JourneyInput) {
    const { workflowId, firstExecutionRunId } = workflowInfo();
    const carried = input.carried;
    this.journey = input.journey;
    this.steps = stepMap(input.journey);
    this.customerId = input.customerId;
    this.runKey = `${workflowId}/${firstExecutionRunId}`;
    this.clock = new RunClock(input.clockOffsetMs ?? 0);
    this.state = {
      journeyId: input.journey.id,
      journeyVersion: input.journey.version,
      customerId: input.customerId,
      status: 'running',
      currentStep: null,
      enteredAt: carried?.enteredAt ?? this.clock.iso(),
      wakeAt: null,
      path: carried?.path ?? [],
    };
    const group =
      carried?.group ??
      (input.journey.holdback !== undefined && !carried
        ? holdbackGroup(input.journey.holdback, this.runKey)
        : undefined);
    if (group) this.state.group = group;
    if (carried?.migratedFrom) this.state.migratedFrom = carried.migratedFrom;
    this.traits = carried?.traits ?? input.traits ?? {};
    this.lastEvent = carried?.lastEvent ?? input.entry;
    this.coupons = carried?.coupons ?? {};
    this.visits = carried?.visits ?? {};
    this.arms = carried?.arms ?? {};
    this.seen = new Set(carried?.seenMessageIds ?? [input.entry.messageId]);
    this.pendingMigration = carried?.pendingMigration;
    this.history = carried?.history ?? [];
    if (!carried) remember(this.history, input.entry, this.journey.id);
  }

  get running(): boolean {
    return this.state.status === 'running';
  }

  /** Holdback: control runs follow every step but receive nothing. */
  get control(): boolean {
    return this.state.group === 'control';
  }

  step(id: string): Step | undefined {
    return this.steps.get(id);
  }

  /** The step after `step`: its `next`, else the following one in the list (undefined: the end). */
  next(step: Step): string | undefined {
    if (step.next) return step.next;
    const index = this.journey.steps.findIndex((s) => s.id === step.id);
    return this.journey.steps[index + 1]?.id;
  }

  /** Continues on another version of the journey (a migration). */
  switchTo(journey: Journey): void {
    this.journey = journey;
    this.steps = stepMap(journey);
    this.state.journeyVersion = journey.version;
  }

  /** A new entry for the run's path (not yet on it), stamped with the run's clock. */
  pathEntry(stepId: string, type: string): PathEntry {
    return { stepId, type, at: this.clock.iso() };
  }

  /** The customer's time zone: a valid `timezone` trait, else Asia/Shanghai. */
  timeZone(): string {
    return customerZone(this.traits);
  }

  /** What goal and waitFor filters see besides the event: the run's clock and the customer's zone. */
  eventContext(): Pick<ConditionContext, 'nowMs' | 'timeZone'> {
    return { nowMs: this.clock.nowMs(), timeZone: this.timeZone() };
  }

  /** What branch conditions see. */
  conditionContext(): ConditionContext {
    return {
      traits: this.traits,
      properties: this.lastEvent.properties,
      history: this.history,
      nowMs: this.clock.nowMs(),
      timeZone: this.timeZone(),
    };
  }

  /** A counter bump, counted once per run (and field) however often the activity runs. */
  progress(field: string, final = false): ProgressRecord {
    return {
      journeyId: this.journey.id,
      journeyVersion: this.journey.version,
      ...(final ? { customerId: this.customerId } : {}),
      field,
      key: `${this.runKey}/${field}`,
    };
  }

  /**
   * Waits until `deadlineMs` on the run's clock, cut short when the run ends, when `arrived`
   * turns true, or (at wait points) by a migration. A migration the run cannot apply is
   * recorded and the wait goes on for the time left.
   */
  async waitUntil(deadlineMs: number, arrived: () => boolean = () => false): Promise<WaitEnd> {
    for (;;) {
      const ms = deadlineMs - this.clock.nowMs();
      // Old runs replay this as the single `condition(..., duration)` they always issued.
      const woken =
        ms > 0 && (await condition(() => !this.running || arrived() || !!this.pendingMigration, ms));
      if (!this.running) return 'ended';
      if (arrived()) return 'arrived';
      const signal = this.pendingMigration;
      if (signal) {
        this.pendingMigration = undefined;
        const target = applyMigration(this, signal);
        if (target !== undefined) return { migrateTo: target };
        continue;
      }
      if (!woken) return 'elapsed';
    }
  }

  /** The state the next execution starts from after continue-as-new. */
  carry(stepId: string): CarriedState {
    return {
      stepId,
      path: this.state.path,
      visits: this.visits,
      seenMessageIds: [...this.seen],
      lastEvent: this.lastEvent,
      traits: this.traits,
      enteredAt: this.state.enteredAt,
      coupons: this.coupons,
      history: this.history,
      arms: this.arms,
      ...(this.state.group ? { group: this.state.group } : {}),
      ...(this.state.migratedFrom ? { migratedFrom: this.state.migratedFrom } : {}),
      ...(this.pendingMigration ? { pendingMigration: this.pendingMigration } : {}),
    };
  }
}

/** Resolves `setTrait` traits / a webhook body; a value that reads nothing leaves its key out. */
export function resolveAll(
  exprs: Record<string, ValueExpr>,
  ctx: Parameters<typeof resolveValue>[1],
): Record<string, unknown> {
  const resolved: Record<string, unknown> = {};
  for (const [name, expr] of Object.entries(exprs)) {
    const value = resolveValue(expr, ctx);
    if (value !== undefined) resolved[name] = value;
  }
  return resolved;
}

function stepMap(journey: Journey): Map<string, Step> {
  return new Map(journey.steps.map((s) => [s.id, s] as const));
}
