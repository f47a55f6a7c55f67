import { FALLBACK_LOCALE, type TemplateCatalog, type TemplateKind } from './catalog';
import { didYouMean } from './hints';
import type { DocPath } from './locate';
import type { DocIssue } from './schema-issues';
import type { Journey, Step } from './types';

/**
 * Checks over a compiled journey's step graph: steps no path reaches (warnings), loops without a
 * `goto` guard, and template variables the journey cannot provide (errors); plus the check of a
 * migration mapping between two versions. Every issue points into the source document
 * (`steps[i]…`), so the loader places it on its line like any other.
 */

/** One way out of a step: to a step id, or (undefined) off the end of the journey. */
export interface StepEdge {
  to: string | undefined;
  /** The key that makes it, relative to the document: `['steps', 2, 'onTimeout']`; the step for an implicit next. */
  path: DocPath;
  /** A `goto` step's jump back: bounded by its `maxIterations`. */
  guarded?: boolean;
}

/** The steps a step can go to next, in the order the workflow considers them. */
export function stepEdges(journey: Journey, index: number): StepEdge[] {
  const step = journey.steps[index]!;
  const at = (...keys: (string | number)[]): DocPath => ['steps', index, ...keys];
  const following = journey.steps[index + 1]?.id;
  const next: StepEdge =
    step.next !== undefined ? { to: step.next, path: at('next') } : { to: following, path: at() };
  const or = (target: string | undefined, key: string): StepEdge =>
    target !== undefined ? { to: target, path: at(key) } : next;
  switch (step.type) {
    case 'exit':
      return [];
    case 'wait':
      return step.until?.trait !== undefined ? [next, or(step.onMissing, 'onMissing')] : [next];
    case 'waitFor':
      return [or(step.onEvent, 'onEvent'), or(step.onTimeout, 'onTimeout')];
    case 'branch':
      return [
        ...step.branches.map((b, k) => ({ to: b.goto, path: at('branches', k, 'goto') })),
        or(step.else, 'else'),
      ];
    case 'split':
      return step.arms.map((arm, k) => ({ to: arm.goto, path: at('arms', k, 'goto') }));
    case 'webhook':
      return [next, or(step.onFailure, 'onFailure')];
    case 'goto':
      return [{ to: step.to, path: at('to'), guarded: true }, next];
    default:
      return [next];
  }
}

/** Ids of the steps reachable from `from` (itself included), following every edge. */
export function reachableFrom(journey: Journey, from: string): Set<string> {
  const index = new Map(journey.steps.map((s, i) => [s.id, i]));
  const seen = new Set<string>();
  const queue = [from];
  while (queue.length > 0) {
    const id = queue.pop()!;
    const i = index.get(id);
    if (seen.has(id) || i === undefined) continue;
    seen.add(id);
    for (const edge of stepEdges(journey, i)) if (edge.to !== undefined) queue.push(edge.to);
  }
  return seen;
}

export interface AnalysisOptions {
  /** When given, the variables of send and notify templates are checked against the journey. */
  templates?: TemplateCatalog;
}

export interface Analysis {
  errors: DocIssue[];
  warnings: DocIssue[];
}

/** The graph checks; skipped while step ids are not unique (the loader reports that first). */
export function analyzeJourney(journey: Journey, opts: AnalysisOptions = {}): Analysis {
  if (new Set(journey.steps.map((s) => s.id)).size !== journey.steps.length)
    return { errors: [], warnings: [] };
  return {
    errors: [...unguardedLoops(journey), ...templateVariableIssues(journey, opts.templates)],
    warnings: unreachableSteps(journey),
  };
}

function unreachableSteps(journey: Journey): DocIssue[] {
  const first = journey.steps[0];
  if (!first) return [];
  const reached = reachableFrom(journey, first.id);
  return journey.steps.flatMap((step, i) =>
    reached.has(step.id)
      ? []
      : [
          {
            path: ['steps', i],
            message: `step \`${step.id}\` is never reached: no step leads to it`,
            hint: 'point a `next`, branch `goto` or other step reference at it, or remove it',
          },
        ],
  );
}

/**
 * A cycle that does not pass through a `goto` step's jump could go round forever: every loop
 * must come back through a `goto` (bounded by `maxIterations`). Found as the strongly connected
 * components of the graph without those jumps; one error per loop, at the edge that closes it
 * (the first reference that jumps back up the list).
 */
function unguardedLoops(journey: Journey): DocIssue[] {
  const index = new Map(journey.steps.map((s, i) => [s.id, i]));
  const edges = journey.steps.map((_, i) =>
    stepEdges(journey, i).filter(
      (e): e is StepEdge & { to: string } => !e.guarded && e.to !== undefined && index.has(e.to),
    ),
  );
  const issues: DocIssue[] = [];
  for (const component of stronglyConnected(journey.steps.length, (i) =>
    edges[i]!.map((e) => index.get(e.to)!),
  )) {
    const members = new Set(component);
    const selfLoop =
      component.length === 1 && edges[component[0]!]!.some((e) => e.to === journey.steps[component[0]!]!.id);
    if (component.length === 1 && !selfLoop) continue;
    const order = [...component].sort((a, b) => a - b);
    let closing: StepEdge | undefined;
    for (const i of order) {
      closing ??= edges[i]!.find((e) => members.has(index.get(e.to)!) && index.get(e.to)! <= i);
    }
    const names = order.map((i) => `\`${journey.steps[i]!.id}\``).join(' → ');
    issues.push({
      path: closing?.path ?? ['steps', order[0]!],
      message: `steps ${names} form a loop without a \`goto\` guard: a customer could go round it forever`,
      hint: `loop back through a \`goto\` step with \`maxIterations\` (e.g. \`{ id: again, type: goto, to: ${journey.steps[order[0]!]!.id}, maxIterations: 10 }\`)`,
    });
  }
  return issues;
}

/** Tarjan's algorithm (iterative): the components with their member indexes. */
function stronglyConnected(n: number, successors: (i: number) => number[]): number[][] {
  const indexOf = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (indexOf[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    indexOf[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, k] = frame;
      const succ = successors(v);
      if (k < succ.length) {
        frame[1] = k + 1;
        const w = succ[k]!;
        if (indexOf[w] === -1) {
          indexOf[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = true;
          work.push([w, 0]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v]!, indexOf[w]!);
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
      if (low[v] === indexOf[v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          component.push(w);
        } while (w !== v);
        components.push(component);
      }
    }
  }
  return components;
}

/** The roots of a template's render context (messages/context.ts). */
const CONTEXT_ROOTS = [
  'customer',
  'traits',
  'event',
  'journey',
  'coupons',
  'coupon',
  'timezone',
  'locale',
  'unsubscribeUrl',
];
const JOURNEY_FIELDS = ['id', 'name', 'version'];
/** What an issued coupon carries (activities/types.ts IssuedCoupon). */
const COUPON_FIELDS = ['code', 'campaign', 'value', 'currency', 'expiresAt'];

/**
 * Each send / notify template's variables against what the journey provides at that step:
 * unknown roots and fields are errors wherever they appear; `coupon` needs an `issueCoupon`
 * step that can run before the step, `coupons.<id>` that very step, and `unsubscribeUrl` a
 * marketing email — unless the template only uses them inside a guard (`{{#if coupon}}`).
 */
function templateVariableIssues(journey: Journey, catalog: TemplateCatalog | undefined): DocIssue[] {
  if (!catalog?.variables) return [];
  const couponSteps = journey.steps.filter((s) => s.type === 'issueCoupon').map((s) => s.id);
  const reach = new Map(couponSteps.map((id) => [id, reachableFrom(journey, id)]));
  const issues = new Map<string, DocIssue & { locales: string[] }>();

  journey.steps.forEach((step, i) => {
    const use = templateUse(step, journey.defaultLocale);
    if (!use) return;
    const before = couponSteps.filter((id) => reach.get(id)!.has(step.id));
    for (const locale of use.locales) {
      for (const variable of catalog.variables!(use.kind, use.template, locale) ?? []) {
        const guarded = variable.endsWith('?');
        const path = (guarded ? variable.slice(0, -1) : variable).split('.');
        const problem = variableProblem(path, guarded, { step, kind: use.kind, couponSteps, before });
        if (!problem) continue;
        const key = `${i}\u0000${problem.message}`;
        const found = issues.get(key);
        if (found) {
          found.locales.push(locale);
          continue;
        }
        issues.set(key, {
          path: ['steps', i, 'template'],
          message: problem.message,
          ...(problem.hint ? { hint: problem.hint } : {}),
          locales: [locale],
        });
      }
    }
  });
  return [...issues.values()].map(({ locales, path, message, hint }) => {
    const step = journey.steps[path[1] as number]!;
    const use = templateUse(step, journey.defaultLocale)!;
    return {
      path,
      message: `template \`${use.template}\` (${use.kind}, ${locales.join(', ')}) ${message}`,
      ...(hint ? { hint } : {}),
    };
  });
}

function templateUse(
  step: Step,
  defaultLocale: string,
): { kind: TemplateKind; template: string; locales: string[] } | undefined {
  if (step.type === 'send') {
    const locales = [defaultLocale, FALLBACK_LOCALE, ...(step.locale ? [step.locale] : [])];
    return { kind: step.channel, template: step.template, locales: [...new Set(locales)] };
  }
  if (step.type === 'notify') {
    return {
      kind: 'notify',
      template: step.template,
      locales: [...new Set([defaultLocale, FALLBACK_LOCALE])],
    };
  }
  return undefined;
}

function variableProblem(
  path: string[],
  guarded: boolean,
  at: { step: Step; kind: TemplateKind; couponSteps: string[]; before: string[] },
): { message: string; hint?: string } | undefined {
  const [root = '', field, sub] = path;
  const shown = `\`{{${path.join('.')}}}\``;
  if (!CONTEXT_ROOTS.includes(root)) {
    return {
      message: `uses ${shown}, but a template has no \`${root}\``,
      hint: didYouMean(root, CONTEXT_ROOTS),
    };
  }
  if (root === 'journey' && field !== undefined && !JOURNEY_FIELDS.includes(field)) {
    return {
      message: `uses ${shown}, but \`journey\` has only id, name and version`,
      hint: didYouMean(field, JOURNEY_FIELDS),
    };
  }
  if (root === 'unsubscribeUrl' && !guarded) {
    const marketingEmail = at.step.type === 'send' && at.step.channel === 'email' && !at.step.transactional;
    if (!marketingEmail) {
      return {
        message: `uses ${shown}, which only marketing emails have`,
        hint: 'wrap it in `{{#if unsubscribeUrl}}…{{/if}}`',
      };
    }
  }
  const noCoupon = 'add an `issueCoupon` step before it, or wrap the text in `{{#if coupon}}…{{/if}}`';
  if (root === 'coupon') {
    if (field !== undefined && !COUPON_FIELDS.includes(field)) {
      return {
        message: `uses ${shown}, but a coupon has no \`${field}\``,
        hint: didYouMean(field, COUPON_FIELDS),
      };
    }
    if (!guarded && at.before.length === 0) {
      return { message: `uses ${shown}, but no \`issueCoupon\` step runs before this step`, hint: noCoupon };
    }
  }
  if (root === 'coupons' && field !== undefined) {
    if (!at.couponSteps.includes(field)) {
      return {
        message: `uses ${shown}, but no \`issueCoupon\` step has the id \`${field}\``,
        hint: at.couponSteps.length > 0 ? didYouMean(field, at.couponSteps) : noCoupon,
      };
    }
    if (sub !== undefined && !COUPON_FIELDS.includes(sub)) {
      return {
        message: `uses ${shown}, but a coupon has no \`${sub}\``,
        hint: didYouMean(sub, COUPON_FIELDS),
      };
    }
    if (!guarded && !at.before.includes(field)) {
      return {
        message: `uses ${shown}, but step \`${field}\` does not run before this step`,
        hint: `move \`${field}\` before it, or wrap the text in \`{{#if coupons.${field}}}…{{/if}}\``,
      };
    }
  }
  return undefined;
}

/**
 * Whether `mapping` can move runs from version `from` to `to` (an empty list: it can). Every step
 * of `from` that `to` does not have must be mapped; a step `to` also has maps to itself unless
 * mapped elsewhere; each mapping names a step of `from` and one of `to`.
 */
export function checkMigration(
  from: Journey,
  to: Journey,
  mapping: Record<string, string>,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (from.id !== to.id) {
    issues.push({ path: 'to', message: `versions of different journeys (\`${from.id}\`, \`${to.id}\`)` });
  }
  const fromIds = from.steps.map((s) => s.id);
  const toIds = to.steps.map((s) => s.id);
  for (const [source, target] of Object.entries(mapping)) {
    if (!fromIds.includes(source)) {
      issues.push({
        path: `mapping.${source}`,
        message: `version ${from.version} has no step \`${source}\` (${didYouMean(source, fromIds)})`,
      });
    }
    if (typeof target !== 'string' || !toIds.includes(target)) {
      issues.push({
        path: `mapping.${source}`,
        message: `version ${to.version} has no step \`${String(target)}\` (${didYouMean(String(target), toIds)})`,
      });
    }
  }
  for (const id of fromIds) {
    if (Object.prototype.hasOwnProperty.call(mapping, id) || toIds.includes(id)) continue;
    issues.push({
      path: `mapping.${id}`,
      message: `step \`${id}\` of version ${from.version} is not in version ${to.version}: map it to a step of version ${to.version}`,
    });
  }
  return issues;
}
