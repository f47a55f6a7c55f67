import { conditionSummary, formatDuration } from '../language/graph';
import type { Journey, Step } from '../language/types';
import type { PathEntry } from '../workflows/definitions';
import type { ExplainedEntry } from './run-types';

// Declared in run-types.ts, which the console imports.
export type { ExplainedEntry };

/** Skip reasons as people say them (rules/touch-rules.ts, activities/send-message.ts). */
const SKIPS: Record<string, string> = {
  no_consent: 'no consent',
  quiet_hours: 'quiet hours',
  frequency_cap: 'frequency cap',
  no_address: 'no address for the channel',
  content_too_long: 'content too long for the channel',
  holdback: 'holdback (control group receives nothing)',
};

/**
 * Explains every entry of a run's path from the entry's outcome and detail and the step as the
 * run's journey version defines it. `versionAt(i)` is the journey the run followed when it made
 * entry i (a migrated run changes version part way). Read-time only: the workflow records what
 * happened, this says why in words.
 */
export function explainPath(
  path: readonly PathEntry[],
  versionAt: (index: number) => Journey | undefined,
): ExplainedEntry[] {
  return path.map((entry, i) => {
    const journey = versionAt(i);
    const step = journey?.steps.find((s) => s.id === entry.stepId);
    return { ...entry, reason: explainEntry(entry, step, journey) };
  });
}

export function explainEntry(entry: PathEntry, step: Step | undefined, journey?: Journey): string {
  const { outcome } = entry;
  const detail = entry.detail ?? {};
  if (entry.type === 'stop')
    return `removed by ${String(detail.by ?? 'someone')}: ${String(detail.reason ?? '')}`;
  if (entry.type === 'migrate') {
    const moved = `v${String(detail.from)} → v${String(detail.to)} by ${String(detail.by ?? 'someone')}`;
    return outcome === 'refused:unmapped'
      ? `migration ${moved} refused: step not mapped, stayed on v${String(detail.from)}`
      : `migrated ${moved}, continues at ${String(detail.goto)}`;
  }
  if (outcome === undefined) return inProgress(entry, step);
  if (outcome === 'migrated') return 'left this step: the run was migrated to another version';
  if (outcome === 'converted' || outcome === 'exited' || outcome === 'completed')
    return `the run ended here (${outcome})`;
  if (outcome.startsWith('skipped:')) {
    const why = outcome.slice('skipped:'.length);
    return `skipped: ${SKIPS[why] ?? why}`;
  }

  switch (entry.type) {
    case 'send':
      return `sent ${String(detail.channel ?? stepField(step, 'channel'))}: ${String(detail.template ?? stepField(step, 'template'))}`;
    case 'issueCoupon':
      return `coupon issued: ${String(detail.campaign)} ${String(detail.code)}, valid until ${String(detail.expiresAt)}`;
    case 'notify':
      return outcome === 'failed'
        ? `alert to ${String(detail.target)} failed: ${String(detail.error)}`
        : `alert sent to ${String(detail.target)}`;
    case 'webhook': {
      const where = String(detail.target ?? detail.url ?? '');
      if (outcome === 'failed') {
        const next = step?.type === 'webhook' && step.onFailure ? ` → ${step.onFailure}` : '';
        return `webhook ${where} failed after ${String(detail.attempts)} attempts: ${String(detail.error)}${next}`;
      }
      return `webhook ${where} answered ${String(detail.status)}`;
    }
    case 'wait':
      if (outcome === 'missing') {
        const next = step?.type === 'wait' && step.onMissing ? ` → ${step.onMissing}` : '';
        return `wait skipped: trait ${String((detail.missing as unknown) ?? '')} missing or not a date${next}`;
      }
      if (step?.type === 'wait' && step.durationMs !== undefined)
        return `waited ${formatDuration(step.durationMs)}`;
      return `waited until ${String(detail.wakeAt)}`;
    case 'waitFor': {
      const event = step?.type === 'waitFor' ? step.event : 'the event';
      if (outcome === 'event') return `${String(detail.event ?? event)} arrived`;
      if (outcome === 'timeout') {
        const after = step?.type === 'waitFor' ? ` after ${formatDuration(step.timeoutMs)}` : '';
        return `waitFor ${event} timed out${after}`;
      }
      return outcome;
    }
    case 'branch':
      return branchReason(outcome, detail, step);
    case 'split': {
      const arm = outcome.startsWith('arm:') ? outcome.slice('arm:'.length) : outcome;
      const percent = step?.type === 'split' ? step.arms.find((a) => a.name === arm)?.percent : undefined;
      return `split: arm ${arm}${percent !== undefined ? ` (${percent}%)` : ''} → ${String(detail.goto)}`;
    }
    case 'goto':
      if (outcome === 'guard')
        return `loop limit reached (${String(detail.maxIterations)}×) → ${String(detail.goto ?? 'end')}`;
      return `goto ${outcome.slice('goto:'.length)} (loop ${String(detail.iteration)} of ${String(detail.maxIterations)})`;
    case 'tag':
    case 'untag':
      return `${outcome} ${(detail.tags as string[] | undefined)?.join(', ') ?? ''}`.trim();
    case 'setTrait':
      // Trait names only: the values may be personal data.
      return `set ${Object.keys((detail.traits as Record<string, unknown> | undefined) ?? {}).join(', ')}`;
    case 'exit':
      return 'exit step: the journey ends here';
    default:
      return journey ? outcome : `${outcome} (step not in the pinned version)`;
  }
}

function branchReason(outcome: string, detail: Record<string, unknown>, step: Step | undefined): string {
  const goto = detail.goto === null || detail.goto === undefined ? 'end' : String(detail.goto);
  if (outcome === 'else') return `no branch matched: else → ${goto}`;
  const index = Number(outcome.slice('branch:'.length));
  const branch = step?.type === 'branch' ? step.branches[index] : undefined;
  const condition = branch ? `: ${conditionSummary(branch.when)}` : '';
  return `branch b${index + 1}${condition} → ${goto}`;
}

/** The step the run is at now (its entry has no outcome yet). */
function inProgress(entry: PathEntry, step: Step | undefined): string {
  const detail = entry.detail ?? {};
  if (detail.deferredUntil !== undefined) return `held by quiet hours until ${String(detail.deferredUntil)}`;
  switch (step?.type) {
    case 'wait':
      return `waiting until ${String(detail.wakeAt)}`;
    case 'waitFor':
      return `waiting for ${step.event} until ${String(detail.timeoutAt)}`;
    default:
      return `at this step (${entry.type})`;
  }
}

function stepField(step: Step | undefined, field: 'channel' | 'template'): string {
  return step?.type === 'send' ? step[field] : '?';
}
