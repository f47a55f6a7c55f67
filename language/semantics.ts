import path from 'node:path';
import { FALLBACK_LOCALE, templateFileName, type TemplateCatalog } from './catalog';
import { didYouMean } from './hints';
import { DEFAULT_LOCALE } from './schema';
import type { DocIssue } from './schema-issues';
import { CHANNELS, type Channel } from './types';

export interface SemanticOptions {
  /** When given, the journey id must match it (`<id>.yaml`, `.yml` or `.json`). */
  fileName?: string;
  /** When given, every send step's template must exist for the journey's locales. */
  templates?: TemplateCatalog;
}

type Rec = Record<string, unknown>;

/**
 * Checks that need the whole journey: unique step ids, step references that resolve, the file
 * name, templates. They read the raw document defensively (skipping anything malformed), so they
 * run even when the schema found problems and the author sees every error in one pass.
 */
export function checkSemantics(data: unknown, opts: SemanticOptions = {}): DocIssue[] {
  if (!isRec(data)) return [];
  const steps = Array.isArray(data.steps) ? data.steps.map((s) => (isRec(s) ? s : {})) : [];
  return [
    ...checkProtoKeys(data, []),
    ...checkFileName(data, opts.fileName),
    ...checkStepIds(steps),
    ...checkReferences(steps),
    ...checkTemplates(data, steps, opts.templates),
  ];
}

/**
 * YAML and JSON turn a `__proto__:` key into an own property, which zod then skips silently
 * instead of reporting it as unknown; refuse it wherever it appears.
 */
function checkProtoKeys(value: unknown, at: (string | number)[]): DocIssue[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => checkProtoKeys(item, [...at, i]));
  if (!isRec(value)) return [];
  return Object.keys(value).flatMap((key) =>
    key === '__proto__'
      ? [{ path: [...at, key], message: 'the key `__proto__` is not allowed' }]
      : checkProtoKeys(value[key], [...at, key]),
  );
}

function checkFileName(data: Rec, fileName: string | undefined): DocIssue[] {
  if (fileName === undefined || typeof data.id !== 'string') return [];
  const base = path.basename(fileName).replace(/\.(ya?ml|json)$/, '');
  if (base === data.id) return [];
  return [
    {
      path: ['id'],
      message: `id \`${data.id}\` does not match the file name \`${path.basename(fileName)}\``,
      hint: `rename the file to \`${data.id}${path.extname(fileName) || '.yaml'}\` or change the id`,
    },
  ];
}

function checkStepIds(steps: Rec[]): DocIssue[] {
  const firstUse = new Map<string, number>();
  const issues: DocIssue[] = [];
  steps.forEach((step, i) => {
    if (typeof step.id !== 'string') return;
    const first = firstUse.get(step.id);
    if (first === undefined) firstUse.set(step.id, i);
    else
      issues.push({
        path: ['steps', i, 'id'],
        message: `duplicate step id \`${step.id}\` (also steps[${first}])`,
      });
  });
  return issues;
}

function checkReferences(steps: Rec[]): DocIssue[] {
  const ids = [...new Set(steps.map((s) => s.id).filter((id): id is string => typeof id === 'string'))];
  const issues: DocIssue[] = [];
  const check = (target: unknown, at: (string | number)[]) => {
    if (typeof target !== 'string' || ids.includes(target)) return;
    issues.push({ path: at, message: `no step has the id \`${target}\``, hint: didYouMean(target, ids) });
  };
  steps.forEach((step, i) => {
    for (const key of ['next', 'onEvent', 'onTimeout', 'else']) check(step[key], ['steps', i, key]);
    if (Array.isArray(step.branches)) {
      step.branches.forEach((b, k) =>
        check(isRec(b) ? b.goto : undefined, ['steps', i, 'branches', k, 'goto']),
      );
    }
    if (step.type === 'exit' && step.next !== undefined) {
      issues.push({
        path: ['steps', i, 'next'],
        message: 'an exit step ends the journey, so `next` would never be used',
        hint: 'remove `next`, or use a different step type',
      });
    }
  });
  return issues;
}

/** Each send step needs its template in the journey's default locale, `en`, and its own fixed locale. */
function checkTemplates(data: Rec, steps: Rec[], catalog: TemplateCatalog | undefined): DocIssue[] {
  if (!catalog) return [];
  const defaultLocale = typeof data.defaultLocale === 'string' ? data.defaultLocale : DEFAULT_LOCALE;
  const issues: DocIssue[] = [];
  steps.forEach((step, i) => {
    const { channel, template, locale } = step;
    if (step.type !== 'send' || !isChannel(channel) || typeof template !== 'string') return;
    const locales = new Set([
      defaultLocale,
      FALLBACK_LOCALE,
      ...(typeof locale === 'string' ? [locale] : []),
    ]);
    for (const wanted of locales) {
      if (catalog.has(channel, template, wanted)) continue;
      const file =
        catalog.fileFor?.(channel, template, wanted) ??
        `templates/${templateFileName(channel, template, wanted)}`;
      issues.push({
        path: ['steps', i, 'template'],
        message: `template \`${template}\` for ${channel} has no ${wanted} version: expected ${file}`,
        hint: `every template needs the journey's default locale (${defaultLocale}) and \`${FALLBACK_LOCALE}\``,
      });
    }
  });
  return issues;
}

function isChannel(value: unknown): value is Channel {
  return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

function isRec(value: unknown): value is Rec {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
