import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { IssuedCoupon } from '../activities/types';
import type { RunEvent } from '../language/conditions';
import type { Journey, JourneyEvent } from '../language/types';
import type { PathEntry, RunState, RunStatus } from './run-state';

// Declared in run-state.ts, which the console imports.
export type { PathEntry, RunState, RunStatus };

/** Ends a run at once (journey stopped, customer removed), with the reason on its record. */
export interface StopSignal {
  reason: string;
  by: string;
}

/**
 * Moves a waiting run to another version of its journey: it continues at `mapping[currentStep]`
 * (validated before sending: every step a customer can be at must be mapped).
 */
export interface MigrateSignal {
  journey: Journey;
  mapping: Record<string, string>;
  by: string;
}

/** What the router sends a run: the event, with the customer's traits as the router saw them. */
export interface EventSignal {
  event: JourneyEvent;
  traits: Record<string, unknown>;
}

/** State carried into the next run on continue-as-new, so query and idempotency keys stay whole. */
export interface CarriedState {
  stepId: string;
  path: PathEntry[];
  visits: Record<string, number>;
  seenMessageIds: string[];
  lastEvent: JourneyEvent;
  traits: Record<string, unknown>;
  enteredAt: string;
  coupons?: Record<string, IssuedCoupon>;
  /** Events this run received, for `did` conditions (journey v2 onwards; absent in older runs). */
  history?: RunEvent[];
  group?: RunState['group'];
  /** The arm each split step chose, by step id. */
  arms?: Record<string, string>;
  migratedFrom?: RunState['migratedFrom'];
  /** A migration that arrived before the run reached a wait point. */
  pendingMigration?: MigrateSignal;
}

export interface JourneyInput {
  /** The whole pinned version: a run never sees a later edit of the journey. */
  journey: Journey;
  customerId: string;
  entry: JourneyEvent;
  traits?: Record<string, unknown>;
  carried?: CarriedState;
  /** Simulation only: the run's clock reads workflow time plus this (scenario start - server time). */
  clockOffsetMs?: number;
  /**
   * Continue as new after this many steps in one execution (besides whenever Temporal suggests
   * it). Tests set it low to exercise the hand-over; production leaves it unset.
   */
  maxStepsPerRun?: number;
}

export interface JourneyResult {
  status: Exclude<RunStatus, 'running'>;
  path: PathEntry[];
}

export const eventSignal = defineSignal<[EventSignal]>('event');
export const stopSignal = defineSignal<[StopSignal]>('stop');
export const migrateSignal = defineSignal<[MigrateSignal]>('migrate');
export const stateQuery = defineQuery<RunState>('state');

/** One workflow per (journey, customer): a customer is never in the same journey twice at once. */
export function journeyWorkflowId(journeyId: string, customerId: string): string {
  return `journey:${journeyId}:${customerId}`;
}
