import type { WorkflowHandle } from '@temporalio/client';
import type { Journey, Step } from '../../language/types';
import { customerIdKey, journeyIdKey, journeyVersionKey, stepKey } from '../../runtime/search-attributes';
import {
  eventSignal,
  journeyWorkflowId,
  stateQuery,
  type EventSignal,
  type JourneyInput,
  type RunState,
} from '../../workflows/definitions';
import type { journeyWorkflow } from '../../workflows/journey';
import type { EngineOptions } from '../support/engine';
import { useTimeSkippingEngine } from '../support/time-skipping';

/*
 * The workflow suites' harness: the engine (real activities on real Redis) on a time-skipping
 * Temporal server, and runs started the way the router starts them (signalWithStart with the
 * entry event), but with journeys built in the test rather than loaded from journeys/.
 */

export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

/** A journey with the defaults every test would otherwise repeat. */
export function journey(id: string, steps: Step[], extra: Partial<Journey> = {}): Journey {
  return {
    id,
    name: id,
    version: 1,
    defaultLocale: 'zh-CN',
    entry: { event: 'start', reentry: { mode: 'always' } },
    exit: [{ event: 'order_completed' }],
    steps,
    ...extra,
  };
}

export interface StartOptions {
  traits?: Record<string, unknown>;
  properties?: Record<string, unknown>;
  /** The run's clock starts here (JourneyInput.clockOffsetMs = this - the server's time). */
  clockStart?: string;
  maxStepsPerRun?: number;
}

export type Run = Awaited<ReturnType<ReturnType<typeof useWorkflowSuite>['start']>>;

export function useWorkflowSuite(options: Omit<EngineOptions, 'client' | 'nativeConnection'> = {}) {
  const setup = useTimeSkippingEngine({ journeys: [], ...options });
  let seq = 0;

  async function start(j: Journey, customerId: string, opts: StartOptions = {}) {
    const { env, engine } = setup;
    if (opts.traits) await engine.profiles.merge(customerId, opts.traits);
    const serverNow = await env.currentTimeMs();
    const clockOffsetMs = opts.clockStart ? Date.parse(opts.clockStart) - serverNow : undefined;
    const input: JourneyInput = {
      journey: j,
      customerId,
      entry: event('start', opts.properties ?? {}, serverNow + (clockOffsetMs ?? 0)),
      traits: opts.traits ?? {},
      ...(clockOffsetMs !== undefined ? { clockOffsetMs } : {}),
      ...(opts.maxStepsPerRun !== undefined ? { maxStepsPerRun: opts.maxStepsPerRun } : {}),
    };
    const workflowId = journeyWorkflowId(j.id, customerId);
    const handle = await env.client.workflow.signalWithStart<typeof journeyWorkflow, [EventSignal]>(
      'journeyWorkflow',
      {
        workflowId,
        taskQueue: engine.taskQueue,
        args: [input],
        signal: eventSignal,
        signalArgs: [{ event: input.entry, traits: input.traits ?? {} }],
        typedSearchAttributes: [
          { key: journeyIdKey, value: j.id },
          { key: journeyVersionKey, value: j.version },
          { key: customerIdKey, value: customerId },
          { key: stepKey, value: j.steps[0]?.id ?? '' },
        ],
      },
    );
    const firstRunId = handle.signaledRunId;
    return {
      handle: env.client.workflow.getHandle<typeof journeyWorkflow>(workflowId),
      workflowId,
      firstRunId,
      /** `${workflowId}/${firstRunId}`: what the run hashes for holdback and splits. */
      runKey: `${workflowId}/${firstRunId}`,
      clockOffsetMs: clockOffsetMs ?? 0,
    };
  }

  function event(name: string, properties: Record<string, unknown> = {}, atMs = Date.now()) {
    return { messageId: `wf-${++seq}`, event: name, properties, timestamp: new Date(atMs).toISOString() };
  }

  /** Signals an event to a run, as the router does for a customer already in the journey. */
  async function send(
    handle: WorkflowHandle,
    name: string,
    properties: Record<string, unknown> = {},
    traits: Record<string, unknown> = {},
  ) {
    await handle.signal(eventSignal, { event: event(name, properties), traits });
  }

  const state = (handle: WorkflowHandle): Promise<RunState> => handle.query(stateQuery);

  return { setup, start, send, state };
}

/** `stepId:outcome` of each path entry: the shape most assertions compare. */
export function trail(state: { path: { stepId: string; outcome?: string }[] }): string[] {
  return state.path.map((p) => `${p.stepId}:${p.outcome}`);
}
