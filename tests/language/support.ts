import type { TemplateCatalog, TemplateKind } from '../../language/catalog';
import { formatIssue, type ConfigIssue } from '../../language/errors';
import { checkJourney, type CheckResult, type LoadOptions } from '../../language/load';
import type { Journey } from '../../language/types';

export const FILE = 'journeys/j.yaml';

/** Checks YAML lines (joined with \n, so line numbers are easy to count). */
export function check(lines: string[], opts: LoadOptions = {}): CheckResult {
  return checkJourney(lines.join('\n') + '\n', FILE, opts);
}

/** The compiled journey; fails the test with the issues when there are any. */
export function compile(lines: string[], opts: LoadOptions = {}): Journey {
  const result = check(lines, opts);
  if (!result.journey)
    throw new Error(`expected no issues, got:\n${result.issues.map(formatIssue).join('\n')}`);
  return result.journey;
}

/** The issues, compact: `line:column path: message (hint)`. */
export function issues(lines: string[], opts: LoadOptions = {}): string[] {
  return check(lines, opts).issues.map(short);
}

export function warnings(lines: string[], opts: LoadOptions = {}): string[] {
  return check(lines, opts).warnings.map(short);
}

/**
 * Like `issues`, with the column shown as the text found there (`6:until [w] steps[0].until: …`),
 * so a test states which key an issue points at rather than counting columns.
 */
export function pointed(lines: string[], opts: LoadOptions = {}): string[] {
  return check(lines, opts).issues.map((issue) => {
    const text = lines[issue.line - 1]?.slice(issue.column - 1) ?? '';
    const token = /^(?:[\w.@-]+|"[^"]*"|.)/u.exec(text)?.[0] ?? '';
    return short(issue).replace(`${issue.line}:${issue.column}`, `${issue.line}:${token}`);
  });
}

export function short(issue: ConfigIssue): string {
  const step = issue.stepId !== undefined ? ` [${issue.stepId}]` : '';
  const hint = issue.hint ? ` (${issue.hint})` : '';
  return `${issue.line}:${issue.column}${step} ${issue.path}: ${issue.message}${hint}`;
}

/** A minimal journey: header lines 1-5 (`steps:` on line 5), then the given step lines from line 6. */
export function journey(steps: string[], header: string[] = ['entry: { event: x }']): string[] {
  return [
    'id: j',
    'name: J',
    ...header,
    ...Array(Math.max(0, 2 - header.length)).fill('# -'),
    'steps:',
    ...steps,
  ];
}

/**
 * An in-memory template catalog: `templates` maps `kind/name/locale` to the variables the
 * template reads (TemplateCatalog.variables form).
 */
export function fakeCatalog(templates: Record<string, string[]>): TemplateCatalog {
  const id = (kind: TemplateKind, name: string, locale: string) => `${kind}/${name}/${locale}`;
  return {
    has: (kind, name, locale) => id(kind, name, locale) in templates,
    variables: (kind, name, locale) => templates[id(kind, name, locale)],
  };
}
