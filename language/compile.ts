import type { JourneySource, StepSource } from './schema';
import type { Entry, Journey, Step, WaitUntil } from './types';

type EntrySource = JourneySource['entry'];
type UntilSource = NonNullable<Extract<StepSource, { type: 'wait' }>['until']>;

/**
 * The validated source form → the engine's `Journey`: durations in ms (`durationMs`,
 * `timeoutMs`, `offsetMs`, `cooldownMs`, `conversionWindowMs`, …), `exit` always a list, the
 * entry's re-entry rule spelled out, defaults filled in. Optional fields that were not written
 * stay absent, so a v1 journey compiles to the same steps it always did. `description` is
 * documentation only and not part of the engine's journey.
 */
export function compileJourney(source: JourneySource): Journey {
  const exit = source.exit === undefined ? [] : Array.isArray(source.exit) ? source.exit : [source.exit];
  return {
    id: source.id,
    name: source.name,
    version: source.version,
    defaultLocale: source.defaultLocale,
    entry: compileEntry(source.entry),
    exit,
    ...(source.conversionWindow !== undefined ? { conversionWindowMs: source.conversionWindow } : {}),
    ...(source.holdback !== undefined ? { holdback: source.holdback } : {}),
    ...(source.capExempt !== undefined ? { capExempt: source.capExempt } : {}),
    ...(source.quietHours ? { quietHours: source.quietHours } : {}),
    steps: source.steps.map(compileStep),
  };
}

function compileEntry(entry: EntrySource): Entry {
  const { event, traitChanged, schedule, api, where, reentry, limit, endAt } = entry;
  const filter = where !== undefined ? { where } : {};
  const trigger =
    event !== undefined
      ? { event, ...filter }
      : traitChanged !== undefined
        ? { traitChanged, ...filter }
        : schedule !== undefined
          ? { schedule: { cron: schedule.cron.trim(), timezone: schedule.timezone }, ...filter }
          : { api: true as const };
  if (api === undefined && event === undefined && traitChanged === undefined && schedule === undefined) {
    throw new Error('compileJourney: an entry without a trigger passed validation');
  }
  return {
    ...trigger,
    reentry: reentry ?? { mode: 'always' },
    ...(limit !== undefined ? { limit } : {}),
    ...(endAt !== undefined ? { endAt } : {}),
  };
}

function compileUntil(until: UntilSource): WaitUntil {
  const { at, trait, offset, weekday, time } = until;
  return {
    ...(at !== undefined ? { at: at.trim() } : {}),
    ...(trait !== undefined ? { trait } : {}),
    ...(offset ? { offsetMs: offset } : {}),
    ...(weekday !== undefined ? { weekday: Array.isArray(weekday) ? [...new Set(weekday)] : [weekday] } : {}),
    ...(time !== undefined ? { time } : {}),
  };
}

function compileStep(step: StepSource): Step {
  switch (step.type) {
    case 'wait': {
      const { duration, until, ...rest } = step;
      return until !== undefined
        ? { ...rest, until: compileUntil(until) }
        : { ...rest, durationMs: duration };
    }
    case 'issueCoupon': {
      const { expiresIn, ...rest } = step;
      return expiresIn === undefined ? rest : { ...rest, expiresInMs: expiresIn };
    }
    case 'waitFor': {
      const { timeout, ...rest } = step;
      return { ...rest, timeoutMs: timeout };
    }
    default:
      return step;
  }
}
