import path from 'node:path';
import { nestedConditions } from '../language/conditions';
import type { DocIssue } from '../language/schema-issues';
import { SEGMENT_ID } from './definition';

type Rec = Record<string, unknown>;

/** Events segments announce themselves with: counting them could make a segment feed on itself. */
export const SEGMENT_EVENT_PREFIX = 'segment_';

/**
 * Checks the schema cannot make, on the raw document (so they run next to the schema's and the
 * author sees every problem at once): the id against the file name, and what a segment's
 * condition can read. A segment is about the customer, with no current event and no run:
 * `property` only inside a `count`'s `where` (the counted event's properties), which in turn
 * reads nothing else (the count is kept per event as it arrives, before any profile is read);
 * no `did`; no `count` inside a `count`; segment events are not counted.
 */
export function checkSegmentDocument(data: unknown, file: string | undefined): DocIssue[] {
  if (!isRec(data)) return [];
  return [...checkProtoKeys(data, []), ...checkId(data, file), ...walk(data.where, ['where'], 'segment')];
}

/** The id a segment file gives itself: its base name without `.yaml` / `.yml` / `.json`. */
export function idFromFileName(file: string): string {
  return path.basename(file).replace(/\.(ya?ml|json)$/, '');
}

function checkId(data: Rec, file: string | undefined): DocIssue[] {
  if (file === undefined) return [];
  const fromName = idFromFileName(file);
  if (!SEGMENT_ID.test(fromName)) {
    return [
      {
        path: [],
        message: `the file name \`${path.basename(file)}\` is not a segment id: a lowercase slug such as \`high-value.yaml\``,
      },
    ];
  }
  if (typeof data.id === 'string' && data.id !== fromName) {
    return [
      {
        path: ['id'],
        message: `id \`${data.id}\` does not match the file name \`${path.basename(file)}\``,
        hint: `the file name is the id: rename the file to \`${data.id}.yaml\`, or drop \`id:\``,
      },
    ];
  }
  return [];
}

type Place = 'segment' | 'counted';

function walk(cond: unknown, at: (string | number)[], place: Place): DocIssue[] {
  if (!isRec(cond)) return [];
  const issues: DocIssue[] = [];
  for (const nested of nestedConditions(cond))
    issues.push(...walk(nested.cond, [...at, ...nested.at], place));
  if (cond.did !== undefined) {
    issues.push({
      path: [...at, 'did'],
      message: '`did` reads a journey run’s history: a segment has none',
      hint: 'count the customer’s events instead: `{ count: { event: message_clicked }, within: 30d, gte: 1 }`',
    });
  }
  if (place === 'segment' && cond.property !== undefined) {
    issues.push({
      path: [...at, 'property'],
      message: 'a segment has no current event: `property` reads only inside a `count`’s `where`',
      hint: 'use `trait:` for the customer, or `{ count: { event: …, where: { property: … } }, within: 7d, gte: 1 }`',
    });
  }
  if (place === 'counted' && (cond.trait !== undefined || cond.tag !== undefined)) {
    const key = cond.trait !== undefined ? 'trait' : 'tag';
    issues.push({
      path: [...at, key],
      message: 'a count’s `where` tests the counted event’s properties only',
      hint: 'put conditions on the customer next to the count, inside `all:`',
    });
  }
  if (cond.count !== undefined) {
    if (place === 'counted') {
      issues.push({ path: [...at, 'count'], message: 'a count’s `where` cannot hold another `count`' });
    } else if (isRec(cond.count)) {
      const event = cond.count.event;
      if (typeof event === 'string' && event.startsWith(SEGMENT_EVENT_PREFIX)) {
        issues.push({
          path: [...at, 'count', 'event'],
          message: `\`${event}\` cannot be counted: segment events would let segments change each other in a loop`,
        });
      }
      issues.push(...walk(cond.count.where, [...at, 'count', 'where'], 'counted'));
    }
  }
  return issues;
}

/** YAML turns `__proto__:` into an own key that zod skips silently: refuse it anywhere. */
function checkProtoKeys(value: unknown, at: (string | number)[]): DocIssue[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => checkProtoKeys(item, [...at, i]));
  if (!isRec(value)) return [];
  return Object.keys(value).flatMap((key) =>
    key === '__proto__'
      ? [{ path: [...at, key], message: 'the key `__proto__` is not allowed' }]
      : checkProtoKeys(value[key], [...at, key]),
  );
}

function isRec(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
