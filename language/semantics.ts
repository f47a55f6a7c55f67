import path from 'node:path';
import { FALLBACK_LOCALE, templateFileName, type TemplateCatalog, type TemplateKind } from './catalog';
import { nestedConditions } from './conditions';
import { didYouMean } from './hints';
import { DEFAULT_LOCALE } from './schema';
import type { DocIssue } from './schema-issues';
import { CHANNELS, type Channel } from './types';

export interface SemanticOptions {
  /** When given, the journey id must match it (`<id>.yaml`, `.yml` or `.json`). */
  fileName?: string;
  /** When given, every send and notify step's template must exist for the journey's locales. */
  templates?: TemplateCatalog;
  /** When given, a webhook step's `target` must be one of these (the config file's `webhooks:`). */
  webhookTargets?: readonly string[];
  /** When given, a notify step's `target` must be one of these (the config file's `notify:`). */
  notifyTargets?: readonly string[];
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
    ...checkConditions(data, steps),
    ...checkTargets(steps, 'webhook', opts.webhookTargets),
    ...checkTargets(steps, 'notify', opts.notifyTargets),
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
    for (const key of ['next', 'onEvent', 'onTimeout', 'else', 'onMissing', 'onFailure']) {
      check(step[key], ['steps', i, key]);
    }
    if (step.type === 'goto') check(step.to, ['steps', i, 'to']);
    for (const list of ['branches', 'arms']) {
      const items = step[list];
      if (!Array.isArray(items)) continue;
      items.forEach((b, k) => check(isRec(b) ? b.goto : undefined, ['steps', i, list, k, 'goto']));
    }
    if (step.type === 'exit' && step.next !== undefined) {
      issues.push({
        path: ['steps', i, 'next'],
        message: 'an exit step ends the journey, so `next` would never be used',
        hint: 'remove `next`, or use a different step type',
      });
    }
    if (step.type === 'split' && step.next !== undefined) {
      issues.push({
        path: ['steps', i, 'next'],
        message: 'a split always goes to one of its arms, so `next` would never be used',
        hint: 'remove `next`; each arm says where it goes with `goto`',
      });
    }
    if (step.type === 'goto' && typeof step.to === 'string' && step.to === step.id) {
      issues.push({
        path: ['steps', i, 'to'],
        message: 'a goto step cannot jump to itself',
        hint: 'jump to the first step of the part to repeat',
      });
    }
  });
  return issues;
}

/**
 * Conditions anywhere in the journey: `did ... step:` must name a send step (delivery outcomes
 * carry the step that sent the touch); `did` reads the run's history, which branches see (an
 * entry filter runs before there is a run; goal and waitFor filters test the event that just
 * came); a scheduled entry has no event, so its filter reads traits only.
 */
function checkConditions(data: Rec, steps: Rec[]): DocIssue[] {
  const sendSteps = steps
    .filter((s) => s.type === 'send' && typeof s.id === 'string')
    .map((s) => s.id as string);
  const issues: DocIssue[] = [];
  type Place = 'entry' | 'schedule' | 'filter' | 'branch';
  const walk = (cond: unknown, at: (string | number)[], where: Place) => {
    if (Array.isArray(cond)) return;
    if (!isRec(cond)) return;
    for (const nested of nestedConditions(cond)) walk(nested.cond, [...at, ...nested.at], where);
    if (cond.did !== undefined) {
      if (where === 'entry' || where === 'schedule') {
        issues.push({
          path: [...at, 'did'],
          message: 'an entry filter cannot use `did`: the customer is not in the journey yet',
          hint: 'use `did` in a branch condition',
        });
      } else if (where === 'filter') {
        issues.push({
          path: [...at, 'did'],
          message: '`did` works in branch conditions, not in event filters',
          hint: 'after the waitFor, branch on it: `{ when: { did: … }, goto: … }`',
        });
      }
      if (typeof cond.step === 'string' && !sendSteps.includes(cond.step)) {
        const known = steps.some((s) => s.id === cond.step);
        issues.push({
          path: [...at, 'step'],
          message: known
            ? `step \`${cond.step}\` is not a send step: \`did … step:\` names the send whose outcome counts`
            : `no send step has the id \`${cond.step}\``,
          ...(sendSteps.length > 0 ? { hint: didYouMean(cond.step, sendSteps) } : {}),
        });
      }
      if (cond.where !== undefined) walk(cond.where, [...at, 'where'], where);
    }
    if (cond.count !== undefined) {
      issues.push({
        path: [...at, 'count'],
        message: '`count` conditions work in segments only: journeys do not keep event counts',
        hint: 'define a segment with the count (segments/<id>.yaml) and enter on `segment_entered`',
      });
    }
    if (where === 'schedule' && cond.property !== undefined) {
      issues.push({
        path: [...at, 'property'],
        message: 'a scheduled entry has no event: its filter can only read `trait:`',
        hint: 'e.g. `where: { trait: birthday, anniversaryWithin: 7d }`',
      });
    }
  };
  const entry = data.entry;
  if (isRec(entry))
    walk(entry.where, ['entry', 'where'], entry.schedule !== undefined ? 'schedule' : 'entry');
  const exit = data.exit;
  if (Array.isArray(exit)) exit.forEach((m, k) => isRec(m) && walk(m.where, ['exit', k, 'where'], 'filter'));
  else if (isRec(exit)) walk(exit.where, ['exit', 'where'], 'filter');
  steps.forEach((step, i) => {
    walk(step.where, ['steps', i, 'where'], 'filter');
    if (Array.isArray(step.branches)) {
      step.branches.forEach(
        (b, k) => isRec(b) && walk(b.when, ['steps', i, 'branches', k, 'when'], 'branch'),
      );
    }
  });
  return issues;
}

/** A webhook / notify step's `target` must be named in the config file, when the names are known. */
function checkTargets(
  steps: Rec[],
  type: 'webhook' | 'notify',
  names: readonly string[] | undefined,
): DocIssue[] {
  if (names === undefined) return [];
  const section = type === 'webhook' ? 'webhooks' : 'notify';
  return steps.flatMap((step, i) => {
    if (step.type !== type || typeof step.target !== 'string' || names.includes(step.target)) return [];
    return [
      {
        path: ['steps', i, 'target'],
        message: `no ${type} target \`${step.target}\` in the config file's \`${section}:\` section`,
        hint:
          names.length > 0
            ? didYouMean(step.target, [...names])
            : `add it under \`${section}:\` in the config file`,
      },
    ];
  });
}

/**
 * Each send step needs its template in the journey's default locale, `en`, and its own fixed
 * locale; each notify step its `templates/notify/` template in the default locale and `en`.
 */
function checkTemplates(data: Rec, steps: Rec[], catalog: TemplateCatalog | undefined): DocIssue[] {
  if (!catalog) return [];
  const defaultLocale = typeof data.defaultLocale === 'string' ? data.defaultLocale : DEFAULT_LOCALE;
  const issues: DocIssue[] = [];
  steps.forEach((step, i) => {
    const { channel, template, locale } = step;
    let kind: TemplateKind;
    if (step.type === 'send' && isChannel(channel)) kind = channel;
    else if (step.type === 'notify') kind = 'notify';
    else return;
    if (typeof template !== 'string') return;
    const locales = new Set([
      defaultLocale,
      FALLBACK_LOCALE,
      ...(kind !== 'notify' && typeof locale === 'string' ? [locale] : []),
    ]);
    for (const wanted of locales) {
      if (catalog.has(kind, template, wanted)) continue;
      const file =
        catalog.fileFor?.(kind, template, wanted) ?? `templates/${templateFileName(kind, template, wanted)}`;
      issues.push({
        path: ['steps', i, 'template'],
        message: `template \`${template}\` for ${kind === 'notify' ? 'notify' : kind} has no ${wanted} version: expected ${file}`,
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
