import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { analyzeJourney } from './analysis';
import type { TemplateCatalog } from './catalog';
import { compileJourney } from './compile';
import { JourneyConfigError, type ConfigIssue } from './errors';
import { formatPath, locate } from './locate';
import { parseJourneySource } from './schema';
import { fromZodIssues, type DocIssue } from './schema-issues';
import { checkSemantics } from './semantics';
import type { Journey } from './types';

export interface LoadOptions {
  /**
   * When given, every send and notify step's template is checked to exist (default locale and
   * `en`), and the variables templates use against what the journey provides.
   */
  templates?: TemplateCatalog;
  /** When given, a webhook step's `target` must be one of these (config file `webhooks:`). */
  webhookTargets?: readonly string[];
  /** When given, a notify step's `target` must be one of these (config file `notify:`). */
  notifyTargets?: readonly string[];
}

export interface CheckResult {
  /** Set when the file has no problems (warnings allowed). */
  journey?: Journey;
  issues: ConfigIssue[];
  /** Things worth a look that do not stop the journey from loading (e.g. unreachable steps). */
  warnings: ConfigIssue[];
}

/** File names the loader reads from a journeys directory. */
export const JOURNEY_FILE = /\.(ya?ml|json)$/;

/**
 * Validates one journey's text without throwing: YAML syntax, then the schema and the semantic
 * checks together (so one pass shows every problem). `file` labels the issues; when
 * `checkFileName` is set the journey id must also match it.
 */
export function checkJourney(
  text: string,
  file: string,
  opts: LoadOptions & { checkFileName?: boolean } = {},
): CheckResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { issues: doc.errors.map((err) => syntaxIssue(file, err)), warnings: [] };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 }); // a bound on aliases stops "billion laughs" documents
  } catch (err) {
    return {
      issues: [{ file, line: 1, column: 1, path: '', message: `YAML: ${(err as Error).message}` }],
      warnings: [],
    };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    const message = data === null ? 'the file is empty' : 'a journey must be a mapping of keys to values';
    return {
      issues: [{ file, line: 1, column: 1, path: '', message, hint: 'start with `id:`, `name:`, `entry:`' }],
      warnings: [],
    };
  }
  const parsed = parseJourneySource(data);
  const found: DocIssue[] = [
    ...(parsed.success ? [] : fromZodIssues(parsed.error.issues, data)),
    ...checkSemantics(data, {
      templates: opts.templates,
      fileName: opts.checkFileName ? file : undefined,
      webhookTargets: opts.webhookTargets,
      notifyTargets: opts.notifyTargets,
    }),
  ];
  // The graph checks need a journey that compiled; until then the schema's problems come first.
  const journey = parsed.success ? compileJourney(parsed.data) : undefined;
  const analysis = journey ? analyzeJourney(journey, { templates: opts.templates }) : undefined;
  found.push(...(analysis?.errors ?? []));
  const place = (issue: DocIssue) => placeIssue(file, doc, lines, data, issue);
  const issues = found.map(place).sort(byPosition);
  const warnings = (analysis?.warnings ?? []).map(place).sort(byPosition);
  if (issues.length > 0 || !journey) return { issues, warnings };
  return { journey, issues, warnings };
}

/** Loads one journey file; throws JourneyConfigError listing every problem in it. */
export function loadJourneyFile(file: string, opts: LoadOptions = {}): Journey {
  const result = checkJourney(fs.readFileSync(file, 'utf8'), file, { ...opts, checkFileName: true });
  if (!result.journey) throw new JourneyConfigError(result.issues);
  return result.journey;
}

/**
 * Loads every `*.yaml` / `*.yml` / `*.json` journey in `dir` (not recursive), sorted by file name.
 * Throws one JourneyConfigError with the problems of all files, including ids used twice.
 */
export function loadJourneys(dir: string, opts: LoadOptions = {}): Journey[] {
  const files = fs
    .readdirSync(dir)
    .filter((name) => JOURNEY_FILE.test(name))
    .sort()
    .map((name) => path.join(dir, name));
  const journeys: Journey[] = [];
  const issues: ConfigIssue[] = [];
  const fileById = new Map<string, string>();
  for (const file of files) {
    const result = checkJourney(fs.readFileSync(file, 'utf8'), file, { ...opts, checkFileName: true });
    issues.push(...result.issues);
    if (!result.journey) continue;
    const other = fileById.get(result.journey.id);
    if (other === undefined) {
      fileById.set(result.journey.id, file);
      journeys.push(result.journey);
    } else {
      issues.push(duplicateIdIssue(file, result.journey.id, other));
    }
  }
  if (issues.length > 0) throw new JourneyConfigError(issues);
  return journeys;
}

function placeIssue(
  file: string,
  doc: Document,
  lines: LineCounter,
  data: unknown,
  issue: DocIssue,
): ConfigIssue {
  const { line, column } = locate(doc, lines, issue.path);
  const stepId = stepIdAt(data, issue.path);
  return {
    file,
    line,
    column,
    ...(stepId !== undefined ? { stepId } : {}),
    path: formatPath(issue.path),
    message: issue.message,
    ...(issue.hint ? { hint: issue.hint } : {}),
  };
}

/** The id of the step a path points into (`steps[2]…` → that step's id), if it has a usable one. */
function stepIdAt(data: unknown, docPath: DocIssue['path']): string | undefined {
  if (docPath[0] !== 'steps' || typeof docPath[1] !== 'number') return undefined;
  const steps = (data as { steps?: unknown }).steps;
  const step: unknown = Array.isArray(steps) ? steps[docPath[1]] : undefined;
  const id = typeof step === 'object' && step !== null ? (step as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** Hints for the YAML mistakes people make most often in config. */
const YAML_HINTS: Record<string, string> = {
  BLOCK_AS_IMPLICIT_KEY: 'put text containing `: ` in quotes',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  DUPLICATE_KEY: 'each key may appear once per mapping',
};

export interface YamlError {
  code: string;
  message: string;
  linePos?: [{ line: number; col: number }, ...unknown[]];
}

/** A YAML syntax error; its message without yaml's own "at line …" suffix and source excerpt. */
export function syntaxIssue(file: string, err: YamlError): ConfigIssue {
  const [first = err.message] = err.message.split('\n');
  const message = first.replace(/ at line \d+, column \d+:?$/, '');
  const pos = err.linePos?.[0];
  const hint = YAML_HINTS[err.code];
  return {
    file,
    line: pos?.line ?? 1,
    column: pos?.col ?? 1,
    path: '',
    message: `YAML syntax: ${message}`,
    ...(hint ? { hint } : {}),
  };
}

function duplicateIdIssue(file: string, id: string, other: string): ConfigIssue {
  const lines = new LineCounter();
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { lineCounter: lines });
  const { line, column } = locate(doc, lines, ['id']);
  return { file, line, column, path: 'id', message: `journey id \`${id}\` is also used by ${other}` };
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.column - b.column;
}
