import { z } from 'zod';
import { LOCALE_TAG, TEMPLATE_NAME } from './catalog';
import { FORBIDDEN_SEGMENTS } from './conditions';
import { DurationError, parseDuration } from './duration';
import { CHANNELS, type Condition } from './types';

/**
 * Zod schemas for the source form of a journey (config v1), as marketers write it in YAML or JSON.
 * Durations are parsed to milliseconds here; everything else keeps its source shape and is turned
 * into the engine's `Journey` by compile.ts. Cross-field checks (step references, templates, file
 * names) live in semantics.ts, because they need the whole journey or the file system.
 */

/** `params` of the issue raised for a key the schema does not know; the loader turns it into a hint. */
export interface UnknownKeyParams {
  unknownKey: true;
  allowed: string[];
}

/**
 * A strict object whose unknown keys are reported one by one at their own path (so each gets its
 * own line/column), carrying the allowed keys for a "did you mean" hint. Zod's strictObject reports
 * them together on the parent object with no list of allowed keys.
 */
function strict<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, z.core.$strict> {
  const params: UnknownKeyParams = { unknownKey: true, allowed: Object.keys(shape) };
  const unknownKey = z.custom(() => false, { message: 'unknown key', params });
  // catchall() widens the inferred type with an index signature; the runtime object is strict.
  return z.object(shape).catchall(unknownKey) as unknown as z.ZodObject<T, z.core.$strict>;
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const journeyId = z.string().regex(SLUG, {
  message: 'must be a lowercase slug: letters a-z, digits and single hyphens (e.g. `browse-intent`)',
});
// Step ids follow the same rule as template names.
const stepId = z.string().regex(TEMPLATE_NAME, {
  message: 'must start with a lowercase letter or digit and use only a-z, 0-9, `-` and `_`',
});
const templateName = z.string().regex(TEMPLATE_NAME, {
  message:
    'must be a template file name without channel or locale: a-z, 0-9, `-`, `_` (e.g. `dormant-offer`)',
});
export const localeSchema = z.string().regex(LOCALE_TAG, {
  message: 'must be a locale tag such as `zh-CN` or `en`',
});
const eventName = z
  .string()
  .min(1, { message: 'must not be empty' })
  .refine((name) => name.trim() === name, { message: 'must not start or end with spaces' });

/** A `trait` / `property` path: dotted, no empty segments, never into prototypes. */
const fieldPath = z
  .string()
  .min(1, { message: 'must not be empty' })
  .refine((path) => path.split('.').every((s) => s !== '' && !FORBIDDEN_SEGMENTS.includes(s)), {
    message: `must be a dotted path of non-empty names, none of them ${FORBIDDEN_SEGMENTS.join(', ')}`,
  });

/** A duration (`2h`, `P7D`, …) parsed to milliseconds; must be longer than zero. */
export const durationSchema = z.unknown().transform((value, ctx) => {
  const fail = (message: string, hint?: string) => {
    ctx.addIssue({ code: 'custom', message, params: hint ? { hint } : undefined });
    return z.NEVER;
  };
  if (value === undefined || value === null) return fail('is required', 'e.g. `30m`, `2h`, `7d` or `PT2H`');
  if (typeof value === 'number') {
    return fail(
      `${value} has no unit`,
      `add one: e.g. \`${value > 0 ? value : 30}m\`, \`2h\`, \`7d\` or \`PT2H\``,
    );
  }
  if (typeof value !== 'string') return fail(`expected a duration such as \`2h\`, got ${typeof value}`);
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    if (err instanceof DurationError) return fail(err.message);
    throw err;
  }
  if (ms <= 0) return fail(`duration "${value}" must be longer than zero`);
  return ms;
});

const COMBINATORS = ['all', 'any', 'not'] as const;
const OPERANDS = ['trait', 'property'] as const;
export const OPERATORS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'exists'] as const;

const orderable = z.union([z.number(), z.string()]);

/** A condition: one flat strict object, so a typo gets a precise error instead of a union's. */
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  strict({
    trait: fieldPath.optional(),
    property: fieldPath.optional(),
    eq: z.unknown().optional(),
    ne: z.unknown().optional(),
    gt: orderable.optional(),
    gte: orderable.optional(),
    lt: orderable.optional(),
    lte: orderable.optional(),
    in: z.array(z.unknown()).optional(),
    contains: z.unknown().optional(),
    exists: z.boolean().optional(),
    all: z.array(conditionSchema).min(1, { message: 'must list at least one condition' }).optional(),
    any: z.array(conditionSchema).min(1, { message: 'must list at least one condition' }).optional(),
    not: conditionSchema.optional(),
  })
    .superRefine(checkConditionForm)
    .transform((c) => c as Condition),
);

/** Exactly one form: a comparison (one operand + operators) or a single combinator. */
function checkConditionForm(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const present = (keys: readonly string[]) => keys.filter((k) => c[k] !== undefined);
  const combinators = present(COMBINATORS);
  const operands = present(OPERANDS);
  const operators = present(OPERATORS);
  const issue = (message: string, hint?: string, path: string[] = []) =>
    ctx.addIssue({ code: 'custom', message, path, params: hint ? { hint } : undefined });

  if (combinators.length > 0) {
    if (combinators.length + operands.length + operators.length > 1) {
      issue(
        `mixes ${[...combinators, ...operands, ...operators].map((k) => `\`${k}\``).join(', ')} in one condition`,
        'a condition is either a comparison or one of `all`, `any`, `not`; nest comparisons inside `all:`',
      );
    }
    return;
  }
  if (operands.length === 0)
    issue('a comparison needs `trait:` or `property:`', 'e.g. `{ property: category, eq: sofa }`');
  if (operands.length === 2) issue('use either `trait` or `property`, not both');
  if (operators.length === 0) {
    issue('a comparison needs an operator', `add one of ${OPERATORS.map((o) => `\`${o}\``).join(', ')}`);
  }
  for (const op of ['eq', 'ne'] as const) {
    if (c[op] === null)
      issue('null never matches a value', 'use `exists: false` to match a missing value', [op]);
  }
}

export const eventMatcherSchema = strict({
  event: eventName,
  where: conditionSchema.optional(),
});

const base = { id: stepId, next: stepId.optional() };

const waitStep = strict({ ...base, type: z.literal('wait'), duration: durationSchema });

const sendStep = strict({
  ...base,
  type: z.literal('send'),
  channel: z.enum(CHANNELS),
  template: templateName,
  locale: localeSchema.optional(),
  transactional: z.boolean().optional(),
  topic: z
    .string()
    .regex(SLUG, { message: 'must be a lowercase slug such as `marketing` or `new-products`' })
    .optional(),
  quietHours: z.enum(['delay', 'skip']).optional(),
});

const issueCouponStep = strict({
  ...base,
  type: z.literal('issueCoupon'),
  campaign: z.string().regex(SLUG, { message: 'must be a lowercase slug such as `dormant-2026q4`' }),
  value: z.number().positive(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 code such as `CNY`' })
    .default('CNY'),
  expiresIn: durationSchema.optional(),
  expiresAt: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 time with offset' }).optional(),
}).superRefine((step, ctx) => {
  if ((step.expiresIn === undefined) === (step.expiresAt === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'needs exactly one of `expiresIn` or `expiresAt`',
      path: ['expiresIn'],
    });
  }
});

/** `HH:mm`, 24-hour clock. */
const clockTime = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be a time of day such as `21:00`' });

export const quietHoursSchema = strict({
  start: clockTime,
  end: clockTime,
  action: z.enum(['delay', 'skip']).default('delay'),
});

const waitForStep = strict({
  ...base,
  type: z.literal('waitFor'),
  event: eventName,
  where: conditionSchema.optional(),
  timeout: durationSchema,
  onEvent: stepId.optional(),
  onTimeout: stepId.optional(),
});

const branchStep = strict({
  ...base,
  type: z.literal('branch'),
  branches: z
    .array(strict({ when: conditionSchema, goto: stepId }))
    .min(1, { message: 'must list at least one branch' }),
  else: stepId.optional(),
});

const exitStep = strict({ ...base, type: z.literal('exit') });

export const stepSchema = z.discriminatedUnion('type', [
  waitStep,
  sendStep,
  issueCouponStep,
  waitForStep,
  branchStep,
  exitStep,
]);

export const DEFAULT_LOCALE = 'zh-CN';

export const journeySourceSchema = strict({
  id: journeyId,
  name: z.string().trim().min(1, { message: 'must not be empty' }),
  version: z.number().int().positive(),
  defaultLocale: localeSchema.default(DEFAULT_LOCALE),
  entry: eventMatcherSchema,
  exit: z.union([eventMatcherSchema, z.array(eventMatcherSchema)]).optional(),
  quietHours: quietHoursSchema.optional(),
  steps: z.array(stepSchema).min(1, { message: 'must list at least one step' }),
});

export type JourneySource = z.output<typeof journeySourceSchema>;
export type StepSource = z.output<typeof stepSchema>;

/** Validates a parsed document, with messages written for marketers rather than programmers. */
export function parseJourneySource(data: unknown) {
  return journeySourceSchema.safeParse(data, { error: friendlyMessage });
}

function friendlyMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      if (issue.expected === 'int') return `must be a whole number, got ${String(issue.input)}`;
      return `expected ${expectedName(issue.expected)}, got ${describe(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'number')
        return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}`;
      return undefined;
    case 'invalid_value':
      if (issue.input === undefined) return 'is required';
      return `${describe(issue.input)} is not one of ${issue.values.map((v) => `\`${String(v)}\``).join(', ')}`;
    default:
      return undefined;
  }
}

/** Zod's type names in the words of the YAML a marketer writes. */
export function expectedName(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'text',
    number: 'a number',
    boolean: '`true` or `false`',
  };
  return names[expected] ?? expected;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return `${typeof value} ${String(value)}`;
}
