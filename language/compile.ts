import type { JourneySource, StepSource } from './schema';
import type { Journey, Step } from './types';

/** The validated source form → the engine's `Journey`: durations in ms, `exit` always a list. */
export function compileJourney(source: JourneySource): Journey {
  const exit = source.exit === undefined ? [] : Array.isArray(source.exit) ? source.exit : [source.exit];
  return {
    id: source.id,
    name: source.name,
    version: source.version,
    defaultLocale: source.defaultLocale,
    entry: source.entry,
    exit,
    ...(source.quietHours ? { quietHours: source.quietHours } : {}),
    steps: source.steps.map(compileStep),
  };
}

function compileStep(step: StepSource): Step {
  switch (step.type) {
    case 'wait': {
      const { duration, ...rest } = step;
      return { ...rest, durationMs: duration };
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
