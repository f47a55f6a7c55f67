import { DateTime } from 'luxon';
import type { TouchRecord } from '../customers/touches';
import type { DeliveryMessage } from '../delivery/message';
import type { Journey } from '../language/types';
import type { RouteResult } from '../router/route-event';
import type { PathEntry, RunState } from '../workflows/definitions';
import type { SimulatedRun, TimelineEntry, TimelineKind } from './types';

/** A run as the simulator collected it at the end. */
export interface CollectedRun {
  state: RunState;
  /** Scenario time the run closed (converted / completed / exited), when it did. */
  endedAtMs?: number;
  /** The entry event's name. */
  entryEvent?: string;
  /** `${workflowId}/${firstRunId}`: the root of the run's idempotency keys. */
  runKey: string;
}

/** A scenario event as the router handled it. */
export interface RoutedEvent {
  atMs: number;
  event: string;
  messageId: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  result: RouteResult;
}

export interface TimelineSources {
  journey: Journey;
  timeZone: string;
  events: RoutedEvent[];
  runs: CollectedRun[];
  /** The touch recorded under a send's idempotency key (its queued message holds the rendered text). */
  touch(idempotencyKey: string): Promise<TouchRecord | null>;
}

const KINDS: Record<string, TimelineKind> = {
  send: 'send',
  issueCoupon: 'coupon',
  tag: 'tag',
  untag: 'tag',
  webhook: 'webhook',
  notify: 'notify',
  split: 'split',
  wait: 'wait',
  waitFor: 'wait',
};

/** Detail fields holding a time: written in the customer's zone like every `at`. */
const TIME_FIELDS = new Set(['deferredUntil', 'wakeAt', 'timeoutAt', 'until', 'expiresAt', 'at']);

interface Stamped {
  ms: number;
  /** Order among entries at the same time: events first, then what they caused, in path order. */
  seq: number;
  entry: TimelineEntry;
}

/** The timeline and run summaries of a simulation, in time order. */
export async function buildTimeline(
  sources: TimelineSources,
): Promise<{ timeline: TimelineEntry[]; runs: SimulatedRun[] }> {
  const { timeZone } = sources;
  const show = (ms: number) => formatTime(ms, timeZone);
  const stamped: Stamped[] = [];
  let seq = 0;
  const push = (ms: number, entry: Omit<TimelineEntry, 'at'>) =>
    stamped.push({ ms, seq: seq++, entry: { at: show(ms), ...entry } as TimelineEntry });

  for (const routed of sources.events) {
    push(routed.atMs, {
      kind: 'event',
      stepId: null,
      event: routed.event,
      ...(routed.properties && Object.keys(routed.properties).length
        ? { properties: routed.properties }
        : {}),
      ...(routed.traits ? { traits: routed.traits } : {}),
      result: eventResult(routed.result, sources.journey.id),
    });
  }

  const runs: SimulatedRun[] = [];
  for (const run of sources.runs) {
    const { state } = run;
    const enteredMs = Date.parse(state.enteredAt);
    push(enteredMs, {
      kind: 'enter',
      stepId: null,
      ...(run.entryEvent ? { event: run.entryEvent } : {}),
      version: state.journeyVersion,
      ...(state.group ? { group: state.group } : {}),
    });
    const visits: Record<string, number> = {};
    for (const entry of state.path) {
      visits[entry.stepId] = (visits[entry.stepId] ?? 0) + 1;
      await pushStep(entry, visits[entry.stepId]! - 1);
    }
    const summary: SimulatedRun = {
      enteredAt: show(enteredMs),
      ...(run.entryEvent ? { entryEvent: run.entryEvent } : {}),
      outcome: state.status,
      version: state.journeyVersion,
      ...(state.group ? { group: state.group } : {}),
    };
    if (state.status !== 'running') {
      const endMs = state.conversion
        ? Date.parse(state.conversion.at)
        : (run.endedAtMs ?? lastMs(state.path) ?? enteredMs);
      summary.endedAt = show(endMs);
      push(endMs, {
        kind: 'exit',
        stepId: state.path.at(-1)?.stepId ?? null,
        outcome: state.status,
        ...(state.conversion ? { goal: state.conversion.event } : {}),
        ...(state.exitReason ? { reason: state.exitReason } : {}),
      });
    }
    runs.push(summary);

    async function pushStep(entry: PathEntry, visit: number): Promise<void> {
      const ms = Date.parse(entry.at);
      const kind = KINDS[entry.type] ?? 'step';
      const detail = showTimes(entry.detail ?? {}, timeZone);
      // Keys of the engine's own bookkeeping, not of the journey.
      delete detail.idempotencyKey;
      delete detail.messageId;
      if (kind === 'send') {
        await pushSend(entry, ms, detail, `${run.runKey}/${entry.stepId}/${visit}`);
        return;
      }
      const base = {
        kind,
        stepId: entry.stepId,
        type: entry.type,
        ...(entry.outcome ? { outcome: entry.outcome } : {}),
      };
      if (kind === 'coupon') {
        const step = sources.journey.steps.find((s) => s.id === entry.stepId);
        const money = step?.type === 'issueCoupon' ? { value: step.value, currency: step.currency } : {};
        push(ms, { ...base, ...skipped(entry.outcome), ...detail, ...money });
        return;
      }
      if (kind === 'split' && entry.outcome?.startsWith('arm:')) {
        push(ms, { ...base, arm: entry.outcome.slice('arm:'.length), ...detail });
        return;
      }
      if (kind === 'tag') {
        push(ms, { ...base, action: entry.type, ...detail });
        return;
      }
      push(ms, { ...base, ...skipped(entry.outcome), ...detail });
    }

    async function pushSend(
      entry: PathEntry,
      ms: number,
      detail: Record<string, unknown>,
      fallbackKey: string,
    ) {
      const key =
        typeof entry.detail?.idempotencyKey === 'string' ? entry.detail.idempotencyKey : fallbackKey;
      const { deferredUntil, reason: deferReason, ...rest } = detail;
      const step = sources.journey.steps.find((s) => s.id === entry.stepId);
      const channel = rest.channel ?? (step?.type === 'send' ? step.channel : undefined);
      const template = rest.template ?? (step?.type === 'send' ? step.template : undefined);
      let sendMs = ms;
      if (deferredUntil !== undefined) {
        // The quiet-hours deferral, then the send itself when the window ended.
        push(ms, {
          kind: 'step',
          stepId: entry.stepId,
          type: 'send',
          outcome: 'deferred',
          reason: deferReason,
          deferredUntil,
        });
        sendMs = Date.parse(String(entry.detail?.deferredUntil));
        // Deferred until the run ended: nothing went out.
        if (
          entry.outcome === undefined ||
          !(entry.outcome === 'sent' || entry.outcome.startsWith('skipped:'))
        ) {
          return;
        }
      }
      const base = { kind: 'send' as const, stepId: entry.stepId, channel, template };
      if (entry.outcome?.startsWith('skipped:')) {
        push(sendMs, { ...base, status: 'skipped', reason: entry.outcome.slice('skipped:'.length) });
        return;
      }
      if (entry.outcome !== 'sent') {
        push(sendMs, { ...base, status: entry.outcome ?? 'pending' });
        return;
      }
      const touch = await sources.touch(key);
      const message = touch?.message ? (JSON.parse(touch.message) as DeliveryMessage) : undefined;
      push(sendMs, {
        ...base,
        status: 'sent',
        ...(message
          ? {
              locale: message.locale,
              to: message.to,
              ...(message.subject ? { subject: message.subject } : {}),
              body: message.body,
            }
          : {}),
        ...(deferredUntil !== undefined ? { deferredFrom: show(ms) } : {}),
      });
    }
  }

  stamped.sort((a, b) => a.ms - b.ms || a.seq - b.seq);
  return { timeline: stamped.map((s) => s.entry), runs };
}

function skipped(outcome: string | undefined): Record<string, string> {
  return outcome?.startsWith('skipped:')
    ? { status: 'skipped', reason: outcome.slice('skipped:'.length) }
    : {};
}

function eventResult(result: RouteResult, journeyId: string): string {
  if (result.entered.includes(journeyId)) return 'entered';
  const refusal = result.refused?.find((r) => r.journeyId === journeyId);
  if (refusal && refusal.reason !== 'running') return `refused:${refusal.reason}`;
  if (result.signalled.includes(journeyId)) return 'signalled';
  return 'ignored';
}

function lastMs(path: PathEntry[]): number | undefined {
  const last = path.at(-1);
  return last ? Date.parse(last.at) : undefined;
}

/**
 * An instant as ISO-8601 in the zone, with its offset, to the second. Cut, not rounded: a step
 * that runs when a timer fires is stamped a few real milliseconds later (the server's clock runs
 * on while the workflow task is processed), which must not show as a second late.
 */
export function formatTime(ms: number, zone: string): string {
  return DateTime.fromMillis(Math.floor(ms / 1000) * 1000, { zone }).toISO({ suppressMilliseconds: true })!;
}

function showTimes(detail: Record<string, unknown>, zone: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(detail)) {
    const ms = typeof value === 'string' && TIME_FIELDS.has(key) ? Date.parse(value) : NaN;
    out[key] = Number.isNaN(ms) ? value : formatTime(ms, zone);
  }
  return out;
}
