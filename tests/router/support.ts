import type { Entry, Journey } from '../../language/types';

/**
 * A journey for the router suites: entry on `<id>_go` (re-entry always) unless `entry` says
 * otherwise, steps that end at once (an `exit`) unless `extra.steps` says otherwise.
 */
export function journey(id: string, entry: Partial<Entry> = {}, extra: Partial<Journey> = {}): Journey {
  const trigger =
    'traitChanged' in entry || 'schedule' in entry || 'api' in entry ? {} : { event: `${id}_go` };
  return {
    id,
    name: id,
    version: 1,
    defaultLocale: 'en',
    entry: { ...trigger, reentry: { mode: 'always' }, ...entry } as Entry,
    exit: [],
    steps: [{ id: 'done', type: 'exit' }],
    ...extra,
  };
}

/** Steps that keep a run waiting (30 days for an event that never comes). */
export const STAY: Journey['steps'] = [
  { id: 'hold', type: 'waitFor', event: 'never_happens', timeoutMs: 30 * 86_400_000 },
];
