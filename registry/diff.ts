import { createTwoFilesPatch } from 'diff';
import type { Journey } from '../language/types';
import type { StepChanges, VersionDiff, VersionRecord } from './types';

// Declared in types.ts, which the console imports.
export type { VersionDiff };

/** Fields compared one by one (steps, entry and exit have their own flags; version always differs). */
const OWN_FIELDS = new Set(['id', 'version', 'steps', 'entry', 'exit']);

/**
 * Step-level changes from `before` to `after` (no `before`: the first version, every step added).
 * Steps are matched by id and compared by value; order changes alone do not count.
 */
export function stepChanges(before: Journey | undefined, after: Journey): StepChanges {
  const old = new Map((before?.steps ?? []).map((s) => [s.id, s] as const));
  const now = new Map(after.steps.map((s) => [s.id, s] as const));
  const added = [...now.keys()].filter((id) => !old.has(id));
  const removed = [...old.keys()].filter((id) => !now.has(id));
  const changed = [...now.keys()].filter((id) => old.has(id) && !sameValue(old.get(id), now.get(id)));
  if (!before) {
    return { added, removed, changed, entryChanged: false, exitChanged: false, settingsChanged: [] };
  }
  const fields = new Set([...Object.keys(before), ...Object.keys(after)].filter((k) => !OWN_FIELDS.has(k)));
  const settingsChanged = [...fields]
    .filter(
      (k) =>
        !sameValue(
          (before as unknown as Record<string, unknown>)[k],
          (after as unknown as Record<string, unknown>)[k],
        ),
    )
    .sort();
  return {
    added,
    removed,
    changed,
    entryChanged: !sameValue(before.entry, after.entry),
    exitChanged: !sameValue(before.exit, after.exit),
    settingsChanged,
  };
}

/** The unified diff of two versions' sources (as written) and their step-level changes. */
export function diffVersions(from: VersionRecord, to: VersionRecord): VersionDiff {
  const id = to.journey.id;
  const unified = createTwoFilesPatch(
    `${id}@v${from.version}.${from.format}`,
    `${id}@v${to.version}.${to.format}`,
    withNewline(from.source),
    withNewline(to.source),
    `published ${from.publishedAt} by ${from.publishedBy}`,
    `published ${to.publishedAt} by ${to.publishedBy}`,
  );
  return { id, from: from.version, to: to.version, unified, changes: stepChanges(from.journey, to.journey) };
}

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Deep equality of JSON values, key order ignored. */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'object' && v !== null && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)),
          )
        : v,
    ) ?? 'undefined'
  );
}
