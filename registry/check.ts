import { LineCounter, parseDocument } from 'yaml';
import type { ConfigIssue } from '../language/errors';
import { checkJourney, type LoadOptions } from '../language/load';
import { locate } from '../language/locate';
import type { Journey } from '../language/types';
import type { SourceFormat } from './types';

export interface SourceCheckOptions extends LoadOptions {
  format?: SourceFormat;
  /** Labels the issues (default `<id>.yaml` / `.json`, or `journey.yaml`). */
  file?: string;
  /** The journey id the source must have (the id in the URL it is sent to). */
  id?: string;
  /** The id must match `file`'s base name (journey files). */
  checkFileName?: boolean;
}

export interface SourceCheck {
  /** Set when the source has no problems. */
  journey?: Journey;
  format: SourceFormat;
  issues: ConfigIssue[];
  warnings: ConfigIssue[];
}

/** `json` when the text is a JSON object, else `yaml`. */
export function guessFormat(source: string): SourceFormat {
  return source.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/**
 * Validates a journey's source text exactly as the loader checks a file (schema, semantics,
 * templates, webhook / notify targets when known), plus JSON syntax for `format: json` and the
 * expected id. Never throws for bad input: every problem is an issue with line, column, step id.
 */
export function checkSource(source: string, opts: SourceCheckOptions = {}): SourceCheck {
  const format = opts.format ?? guessFormat(source);
  const file = opts.file ?? `${opts.id ?? 'journey'}.${format === 'json' ? 'json' : 'yaml'}`;
  const { format: _format, file: _file, id: expectedId, ...load } = opts;

  if (format === 'json') {
    const syntax = jsonSyntaxIssue(source, file);
    if (syntax) return { format, issues: [syntax], warnings: [] };
  }
  const result = checkJourney(source, file, load);
  // `warnings` is part of the loader's contract (unreachable steps, unguarded loops, ...).
  const warnings = (result as { warnings?: ConfigIssue[] }).warnings ?? [];
  const issues = [...result.issues];
  if (expectedId !== undefined) {
    const mismatch = idMismatch(source, file, expectedId);
    if (mismatch) issues.push(mismatch);
  }
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  if (issues.length > 0 || !result.journey) return { format, issues, warnings };
  return { journey: result.journey, format, issues, warnings };
}

function idMismatch(source: string, file: string, expected: string): ConfigIssue | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines });
  if (doc.errors.length > 0) return undefined;
  let id: unknown;
  try {
    id = (doc.toJS({ maxAliasCount: 50 }) as { id?: unknown } | null)?.id;
  } catch {
    return undefined;
  }
  if (typeof id !== 'string' || id === expected) return undefined;
  const { line, column } = locate(doc, lines, ['id']);
  return {
    file,
    line,
    column,
    path: 'id',
    message: `id \`${id}\` does not match the journey it is sent to (\`${expected}\`)`,
    hint: `send it to /v1/journeys/${id}/..., or change the id to \`${expected}\``,
  };
}

/**
 * JSON.parse's complaint, placed at its line and column (from the message's position when Node
 * gives one, else where the YAML parser, which reads JSON too, stumbles); undefined when valid.
 */
function jsonSyntaxIssue(source: string, file: string): ConfigIssue | undefined {
  try {
    JSON.parse(source);
    return undefined;
  } catch (err) {
    const full = (err as Error).message;
    const message = full.split('\n')[0]!;
    const offset = jsonErrorOffset(source, full);
    let line = 1;
    let column = 1;
    if (offset !== undefined) {
      const before = source.slice(0, offset).split('\n');
      line = before.length;
      column = (before[before.length - 1]?.length ?? 0) + 1;
    } else {
      const pos = parseDocument(source).errors[0]?.linePos?.[0];
      if (pos) ({ line, col: column } = pos);
    }
    return {
      file,
      line,
      column,
      path: '',
      message: `JSON syntax: ${message.replace(/, (\.\.\.)?"[^]*$/, '').replace(/ in JSON at position \d+.*$/, '')}`,
      hint: 'fix the JSON, or send YAML with `format: yaml`',
    };
  }
}

/**
 * Where V8's JSON.parse stopped: `at position N`, or the token quoted with up to 10 characters of
 * context either side (`Unexpected token '}', ..."  "name": }" is not valid JSON`).
 */
function jsonErrorOffset(source: string, message: string): number | undefined {
  const position = /at position (\d+)/.exec(message);
  if (position) return Number(position[1]);
  const quoted = /^Unexpected token '([^]+?)', (\.\.\.)?"([^]*?)"(?:\.\.\.)? is not valid JSON$/.exec(
    message,
  );
  if (!quoted) return undefined;
  const [, token, truncated, context] = quoted as unknown as [string, string, string | undefined, string];
  const at = source.indexOf(context);
  if (at < 0) return undefined;
  return at + (truncated ? 10 : Math.max(0, context.indexOf(token)));
}
