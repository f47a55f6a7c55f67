import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { formatIssue, type ConfigIssue } from '../language/errors';
import { JOURNEY_FILE, syntaxIssue } from '../language/load';
import { formatPath, locate } from '../language/locate';
import { fromZodIssues, type DocIssue } from '../language/schema-issues';
import { checkSegmentDocument, idFromFileName } from './checks';
import { parseSegmentSource, type Segment } from './definition';

/** Thrown by the loader with every problem of every segment file, each at its line and column. */
export class SegmentConfigError extends Error {
  override name = 'SegmentConfigError';

  constructor(readonly issues: ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`segment config has ${count}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
  }
}

export interface SegmentCheck {
  /** Set when the file has no problems. */
  segment?: Segment;
  issues: ConfigIssue[];
}

/**
 * Validates one segment's text without throwing, with the journey loader's machinery: YAML syntax
 * first, then the schema (conditions exactly as journeys write them, plus `count`) and the
 * segment checks together. The id is the file name's (`dormant.yaml` → `dormant`).
 */
export function checkSegment(text: string, file: string): SegmentCheck {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { issues: doc.errors.map((err) => syntaxIssue(file, err)) };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    return { issues: [{ file, line: 1, column: 1, path: '', message: `YAML: ${(err as Error).message}` }] };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    const message = data === null ? 'the file is empty' : 'a segment must be a mapping of keys to values';
    return {
      issues: [{ file, line: 1, column: 1, path: '', message, hint: 'start with `name:` and `where:`' }],
    };
  }
  const parsed = parseSegmentSource(data);
  const found: DocIssue[] = [
    ...(parsed.success ? [] : fromZodIssues(parsed.error.issues, data)),
    ...checkSegmentDocument(data, file),
  ];
  const issues = found
    .map((issue): ConfigIssue => {
      const { line, column } = locate(doc, lines, issue.path);
      return {
        file,
        line,
        column,
        path: formatPath(issue.path),
        message: issue.message,
        ...(issue.hint ? { hint: issue.hint } : {}),
      };
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
  if (issues.length > 0 || !parsed.success) return { issues };
  const { name, description, where } = parsed.data;
  return {
    segment: { id: idFromFileName(file), name, ...(description ? { description } : {}), where },
    issues,
  };
}

/**
 * Every `*.yaml` / `*.yml` / `*.json` segment in `dir` (not recursive), sorted by id; none when the
 * directory does not exist. Throws one SegmentConfigError with the problems of all files.
 */
export function loadSegments(dir: string): Segment[] {
  if (!fs.existsSync(dir)) return [];
  const files = fs
    .readdirSync(dir)
    .filter((name) => JOURNEY_FILE.test(name))
    .sort()
    .map((name) => path.join(dir, name));
  const segments: Segment[] = [];
  const issues: ConfigIssue[] = [];
  const fileById = new Map<string, string>();
  for (const file of files) {
    const result = checkSegment(fs.readFileSync(file, 'utf8'), file);
    issues.push(...result.issues);
    if (!result.segment) continue;
    const other = fileById.get(result.segment.id);
    if (other !== undefined) {
      // `dormant.yaml` and `dormant.yml`: one id, two definitions.
      issues.push({
        file,
        line: 1,
        column: 1,
        path: '',
        message: `segment \`${result.segment.id}\` is also defined by ${other}`,
      });
      continue;
    }
    fileById.set(result.segment.id, file);
    segments.push(result.segment);
  }
  if (issues.length > 0) throw new SegmentConfigError(issues);
  return segments;
}
