import { formatDuration as shortForm } from './duration';
import type {
  Comparison,
  Condition,
  CountCondition,
  Entry,
  EventMatcher,
  Journey,
  Step,
  WaitUntil,
} from './types';

/*
 * A journey as a Mermaid flowchart (`touchpoint graph`): the entry, every step labelled with its
 * id, type and the detail that matters (template, wait, coupon…), edges labelled with the
 * outcome that takes them (event / timeout, branch conditions, split arms with percents, loop
 * guards, onFailure / onMissing), and the journey-level exit goals. Pure: no I/O.
 *
 * Node ids are generated (`s0`, `s1`…) because step ids may hold characters Mermaid reads as
 * syntax (`-`, `end`); the step id is the first line of each label instead.
 */

/**
 * A duration as marketers write it: whole days as days (`30d`, `7d`, not `4w2d`), else whole
 * hours or minutes, else the mixed short form.
 */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return shortForm(ms);
}

/** Longest label line before it is cut with an ellipsis (conditions can be long). */
const MAX_LINE = 70;

/** Live numbers to show in the chart (the API's `graph?counts=true`). */
export interface GraphCounts {
  /** Customers at each step now, by step id. */
  steps: Record<string, number>;
  /** Lines under the entry, e.g. `12 entered · 5 running`. */
  summary?: string;
}

export function toMermaid(journey: Journey, counts?: GraphCounts): string {
  const ids = new Map(journey.steps.map((s, i) => [s.id, `s${i}`] as const));
  const lines: string[] = ['flowchart TD'];
  const edges: string[] = [];
  let usesEnd = false;
  const node = (stepId: string | undefined): string => {
    if (stepId === undefined) {
      usesEnd = true;
      return 'finish';
    }
    return ids.get(stepId) ?? unknownNode(stepId);
  };
  const unknown = new Map<string, string>();
  function unknownNode(stepId: string): string {
    let id = unknown.get(stepId);
    if (!id) {
      id = `missing${unknown.size}`;
      unknown.set(stepId, id);
    }
    return id;
  }
  const edge = (from: string, to: string, label?: string, dotted = false) => {
    const arrow = dotted ? '-.->' : '-->';
    edges.push(label ? `  ${from} ${arrow}|${quote(label)}| ${to}` : `  ${from} ${arrow} ${to}`);
  };

  const summary = counts?.summary ? [counts.summary] : [];
  lines.push(`  entry([${quote([entryLabel(journey), ...summary].join('\n'))}])`);
  edge('entry', node(journey.steps[0]?.id));

  journey.steps.forEach((step, index) => {
    const id = ids.get(step.id)!;
    const here = counts ? [`${counts.steps[step.id] ?? 0} here now`] : [];
    lines.push(`  ${id}${shape(step, [stepLabel(step), ...here].join('\n'))}`);
    const next = step.next ?? journey.steps[index + 1]?.id;
    for (const out of outgoing(step, next)) edge(id, node(out.to), out.label);
  });

  if (journey.exit.length > 0) {
    const goals = journey.exit.map(matcherSummary);
    const window = journey.conversionWindowMs
      ? [`counts within ${formatDuration(journey.conversionWindowMs)} of entry`]
      : [];
    lines.push(`  goals>${quote(['Exit goals (any time)', ...goals, ...window].join('\n'))}]`);
    lines.push(`  converted(((converted)))`);
    edge('goals', 'converted', undefined, true);
  }
  for (const [stepId, id] of unknown) lines.push(`  ${id}[${quote(`unknown step ${stepId}`)}]`);
  if (usesEnd) lines.push('  finish((end))');
  lines.push(...edges);
  lines.push(...classes(journey, ids));
  return `${lines.join('\n')}\n`;
}

interface Out {
  to: string | undefined;
  label?: string;
}

/** Where a step can go next, with the label of each way out. */
function outgoing(step: Step, next: string | undefined): Out[] {
  switch (step.type) {
    case 'exit':
      return [];
    case 'waitFor':
      return [
        { to: step.onEvent ?? next, label: `event ${matcherSummary(step)}` },
        { to: step.onTimeout ?? next, label: `timeout ${formatDuration(step.timeoutMs)}` },
      ];
    case 'branch':
      return [
        ...step.branches.map((b) => ({ to: b.goto, label: `if ${conditionSummary(b.when)}` })),
        { to: step.else ?? next, label: 'else' },
      ];
    case 'split':
      return step.arms.map((arm) => ({ to: arm.goto, label: `${arm.name} ${arm.percent}%` }));
    case 'goto':
      return [
        { to: step.to, label: `loop, at most ${step.maxIterations}×` },
        { to: next, label: `after ${step.maxIterations}×` },
      ];
    case 'webhook':
      return step.onFailure !== undefined
        ? [
            { to: next, label: 'ok' },
            { to: step.onFailure, label: `failed after ${step.attempts} attempts` },
          ]
        : [{ to: next }];
    case 'wait':
      return step.onMissing !== undefined && step.until?.trait !== undefined
        ? [
            { to: next, label: undefined },
            { to: step.onMissing, label: `${step.until.trait} missing` },
          ]
        : [{ to: next }];
    default:
      return [{ to: next }];
  }
}

function stepLabel(step: Step): string {
  const head = `${step.id} · ${step.type}`;
  return [head, ...stepDetail(step)].join('\n');
}

function stepDetail(step: Step): string[] {
  switch (step.type) {
    case 'send': {
      const flags = [
        step.locale ? `locale ${step.locale}` : undefined,
        step.transactional ? 'transactional' : undefined,
        step.topic ? `topic ${step.topic}` : undefined,
        step.quietHours ? `quiet hours: ${step.quietHours}` : undefined,
      ].filter((f) => f !== undefined);
      return [`${step.channel}: ${step.template}`, ...(flags.length ? [flags.join(', ')] : [])];
    }
    case 'issueCoupon': {
      const expiry = step.expiresAt
        ? `until ${step.expiresAt}`
        : step.expiresInMs !== undefined
          ? `valid ${formatDuration(step.expiresInMs)}`
          : undefined;
      return [`${step.campaign}: ${step.value} ${step.currency}`, ...(expiry ? [expiry] : [])];
    }
    case 'wait':
      if (step.durationMs !== undefined) return [formatDuration(step.durationMs)];
      return step.until ? [untilSummary(step.until)] : [];
    case 'waitFor':
      return [`${step.event}, up to ${formatDuration(step.timeoutMs)}`];
    case 'branch':
      return [];
    case 'split':
      return [step.arms.map((a) => `${a.name} ${a.percent}%`).join(' / ')];
    case 'tag':
    case 'untag':
      return [step.tags.join(', ')];
    case 'setTrait':
      return Object.entries(step.traits).map(([name, value]) => `${name} = ${valueSummary(value)}`);
    case 'webhook':
      return [step.target ?? step.url ?? '', `${step.attempts} attempts`];
    case 'notify':
      return [`${step.target}: ${step.template}`];
    case 'goto':
      return [`to ${step.to}, at most ${step.maxIterations}×`];
    case 'exit':
      return [];
  }
}

function shape(step: Step, label: string): string {
  const text = quote(label);
  switch (step.type) {
    case 'wait':
    case 'waitFor':
      return `{{${text}}}`;
    case 'branch':
    case 'split':
      return `{${text}}`;
    case 'tag':
    case 'untag':
    case 'setTrait':
      return `[/${text}/]`;
    case 'goto':
      return `>${text}]`;
    case 'exit':
      return `((${text}))`;
    default:
      return `[${text}]`;
  }
}

/** Colours by kind of step, so touches stand out from logic. */
function classes(journey: Journey, ids: Map<string, string>): string[] {
  const byClass: Record<string, string[]> = { touch: [], wait: [], logic: [], profile: [] };
  for (const step of journey.steps) {
    const id = ids.get(step.id)!;
    if (['send', 'issueCoupon', 'webhook', 'notify'].includes(step.type)) byClass.touch!.push(id);
    else if (step.type === 'wait' || step.type === 'waitFor') byClass.wait!.push(id);
    else if (['tag', 'untag', 'setTrait'].includes(step.type)) byClass.profile!.push(id);
    else byClass.logic!.push(id);
  }
  const styles: Record<string, string> = {
    touch: 'fill:#e3f2fd,stroke:#1565c0',
    wait: 'fill:#fff8e1,stroke:#f9a825',
    logic: 'fill:#f3e5f5,stroke:#6a1b9a',
    profile: 'fill:#e8f5e9,stroke:#2e7d32',
  };
  const out: string[] = [];
  for (const [name, members] of Object.entries(byClass)) {
    if (members.length === 0) continue;
    out.push(`  classDef ${name} ${styles[name]}`);
    out.push(`  class ${members.join(',')} ${name}`);
  }
  return out;
}

function entryLabel(journey: Journey): string {
  const { entry } = journey;
  const lines = [`${journey.name} (${journey.id} v${journey.version})`, `Entry: ${triggerSummary(entry)}`];
  if ('where' in entry && entry.where) lines.push(`where ${conditionSummary(entry.where)}`);
  const rules = [
    `re-entry ${entry.reentry.mode === 'after' ? `after ${formatDuration(entry.reentry.cooldownMs)}` : entry.reentry.mode}`,
    entry.limit !== undefined ? `limit ${entry.limit}` : undefined,
    entry.endAt ? `until ${entry.endAt}` : undefined,
  ].filter((r) => r !== undefined);
  lines.push(rules.join(', '));
  if (journey.holdback) lines.push(`holdback ${journey.holdback}%`);
  if (journey.quietHours)
    lines.push(
      `quiet hours ${journey.quietHours.start}–${journey.quietHours.end} (${journey.quietHours.action})`,
    );
  return lines.join('\n');
}

function triggerSummary(entry: Entry): string {
  if ('event' in entry) return `event ${entry.event}`;
  if ('traitChanged' in entry) return `trait ${entry.traitChanged} changed`;
  if ('schedule' in entry) return `schedule ${entry.schedule.cron} (${entry.schedule.timezone})`;
  return 'API / bulk enrolment only';
}

function matcherSummary(matcher: EventMatcher): string {
  return matcher.where ? `${matcher.event} where ${conditionSummary(matcher.where)}` : matcher.event;
}

function untilSummary(until: WaitUntil): string {
  const parts: string[] = [];
  if (until.at) parts.push(until.at);
  if (until.trait) {
    const offset = until.offsetMs ?? 0;
    parts.push(
      offset === 0
        ? until.trait
        : `${until.trait} ${offset < 0 ? '-' : '+'}${formatDuration(Math.abs(offset))}`,
    );
  }
  if (until.weekday?.length) parts.push(until.weekday.join('/'));
  if (until.time) parts.push(until.time);
  return `until ${parts.join(' ')}`;
}

/** A condition in one line: `tier = gold AND NOT total < 100`. */
export function conditionSummary(cond: Condition): string {
  return cut(summarise(cond));
}

function summarise(cond: Condition): string {
  if ('all' in cond) return group(cond.all.map(summarise), ' AND ');
  if ('any' in cond) return group(cond.any.map(summarise), ' OR ');
  if ('not' in cond) return `NOT ${summarise(cond.not)}`;
  if ('tag' in cond) return `tag ${cond.tag}`;
  if ('did' in cond) {
    const step = cond.step ? ` at ${cond.step}` : '';
    const where = cond.where ? ` where ${summarise(cond.where)}` : '';
    return `did ${cond.did}${step}${where}`;
  }
  if ('count' in cond) {
    const where = cond.count.where ? ` where ${summarise(cond.count.where)}` : '';
    const subject = `count ${cond.count.event}${where} within ${cond.within}`;
    const counted = cond;
    const tests = COUNT_SYMBOLS.filter(([key]) => typeof counted[key] === 'number');
    return tests.map(([key, symbol]) => `${subject} ${symbol} ${String(counted[key])}`).join(' AND ');
  }
  return comparison(cond);
}

function group(parts: string[], joiner: string): string {
  return parts.length === 1 ? parts[0]! : `(${parts.join(joiner)})`;
}

const OPERATORS: [keyof Comparison, string][] = [
  ['eq', '='],
  ['ne', '≠'],
  ['gt', '>'],
  ['gte', '≥'],
  ['lt', '<'],
  ['lte', '≤'],
  ['in', 'in'],
  ['contains', 'contains'],
  ['before', 'before'],
  ['after', 'after'],
  ['anniversaryWithin', 'anniversary within'],
];

const COUNT_SYMBOLS: [keyof CountCondition & ('eq' | 'gt' | 'gte' | 'lt' | 'lte'), string][] = [
  ['eq', '='],
  ['gt', '>'],
  ['gte', '≥'],
  ['lt', '<'],
  ['lte', '≤'],
];

function comparison(cond: Comparison): string {
  const subject = 'trait' in cond ? cond.trait : `event.${cond.property}`;
  const tests: string[] = [];
  for (const [key, symbol] of OPERATORS) {
    if (cond[key] !== undefined) tests.push(`${subject} ${symbol} ${literal(cond[key])}`);
  }
  if (cond.exists !== undefined) tests.push(cond.exists ? `${subject} exists` : `${subject} missing`);
  return tests.length ? tests.join(' AND ') : subject;
}

function literal(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

function valueSummary(value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    if ('trait' in value) return `trait ${String((value as { trait: unknown }).trait)}`;
    if ('property' in value) return `event.${String((value as { property: unknown }).property)}`;
    if ('now' in value) {
      const offset = String((value as { now: unknown }).now);
      return offset ? `now ${offset}` : 'now';
    }
  }
  return literal(value);
}

function cut(line: string): string {
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line;
}

/**
 * A label in Mermaid's quoted form: quotes and angle brackets as entity codes (Mermaid would read
 * them as syntax or HTML), `#` escaped so it cannot start an entity, newlines as `<br/>`.
 */
function quote(text: string): string {
  const escaped = text
    .split('\n')
    .map((line) =>
      cut(line).replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;'),
    )
    .join('<br/>');
  return `"${escaped}"`;
}
