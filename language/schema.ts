import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { LOCALE_TAG, TEMPLATE_NAME } from './catalog';
import { COUNT_OPERATORS, FORBIDDEN_SEGMENTS, OPERATORS } from './conditions';
import {
  DAY_MS,
  DEFAULT_ZONE,
  hasOffset,
  isIsoDate,
  isValidZone,
  parseSignedDuration,
  signedDurationMs,
  timeRefProblem,
} from './dates';
import { DurationError, parseDuration } from './duration';
import { closest, didYouMean } from './hints';
import { CHANNELS, WEEKDAYS, type Condition, type Reentry, type ValueExpr, type Weekday } from './types';

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
export function strict<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, z.core.$strict> {
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

/** A duration written as text and kept as written (checked like `durationSchema`): `anniversaryWithin`. */
const durationText = z.unknown().superRefine((value, ctx) => {
  const result = durationSchema.safeParse(value);
  if (result.success) return;
  for (const issue of result.error.issues) {
    ctx.addIssue({
      code: 'custom',
      message: issue.message,
      params: (issue as { params?: Record<string, unknown> }).params,
    });
  }
}) as unknown as z.ZodType<string>;

/** A signed duration (`-30d`, `+7d`, `12h`) in milliseconds: `offset` of a wait's `until`. */
const signedDurationSchema = z.unknown().transform((value, ctx) => {
  const fail = (message: string, hint?: string) => {
    ctx.addIssue({ code: 'custom', message, params: hint ? { hint } : undefined });
    return z.NEVER;
  };
  if (typeof value === 'number') {
    return fail(`${value} has no unit`, 'write a signed duration such as `-30d` or `+7d`');
  }
  if (typeof value !== 'string') return fail(`expected a duration such as \`-30d\`, got ${describe(value)}`);
  try {
    return signedDurationMs(value);
  } catch (err) {
    if (err instanceof DurationError) return fail(err.message);
    throw err;
  }
});

/** A TimeRef: an ISO date or date-time, `now`, or a signed duration from now (`-90d`, `+7d`, `-P1M`). */
const timeRefSchema = z.unknown().superRefine((value, ctx) => {
  const problem =
    typeof value === 'string'
      ? timeRefProblem(value)
      : `expected a time such as \`-90d\`, \`now\` or \`2026-01-31\`, got ${describe(value)}`;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}) as unknown as z.ZodType<string>;

/** The longest window a `count` condition may have: its daily buckets are kept that long. */
export const MAX_COUNT_WINDOW_DAYS = 730;

/** A `count` window: a duration in whole days (`7d`, `P90D`, `2w`), kept as written. */
const countWindow = z.unknown().superRefine((value, ctx) => {
  const result = durationSchema.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) {
      ctx.addIssue({
        code: 'custom',
        message: issue.message,
        params: (issue as { params?: Record<string, unknown> }).params,
      });
    }
    return;
  }
  const ms = result.data;
  if (ms % DAY_MS !== 0) {
    const days = Math.max(1, Math.round(ms / DAY_MS));
    ctx.addIssue({
      code: 'custom',
      message: `"${String(value)}" is not a whole number of days: events are counted per day`,
      params: { hint: `e.g. \`${days}d\`` },
    });
  } else if (ms / DAY_MS > MAX_COUNT_WINDOW_DAYS) {
    ctx.addIssue({
      code: 'custom',
      message: `"${String(value)}" is longer than ${MAX_COUNT_WINDOW_DAYS} days, the longest count window`,
    });
  }
}) as unknown as z.ZodType<string>;

const COMBINATORS = ['all', 'any', 'not'] as const;
const OPERANDS = ['trait', 'property'] as const;
const DID_KEYS = ['step', 'where'] as const;

const orderable = z.union([z.number(), z.string()]);

const tagName = z
  .string()
  .min(1, { message: 'must not be empty' })
  .max(64, { message: 'must be at most 64 characters' })
  .refine((tag) => tag.trim() === tag, { message: 'must not start or end with spaces' });

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
    before: timeRefSchema.optional(),
    after: timeRefSchema.optional(),
    anniversaryWithin: durationText.optional(),
    tag: tagName.optional(),
    did: eventName.optional(),
    step: stepId.optional(),
    where: conditionSchema.optional(),
    count: strict({ event: eventName, where: conditionSchema.optional() }).optional(),
    within: countWindow.optional(),
    all: z.array(conditionSchema).min(1, { message: 'must list at least one condition' }).optional(),
    any: z.array(conditionSchema).min(1, { message: 'must list at least one condition' }).optional(),
    not: conditionSchema.optional(),
  })
    .superRefine(checkConditionForm)
    .transform((c) => c as Condition),
);

/**
 * Exactly one form: a single combinator, a `tag` test, a `did` test (with its own `step` and
 * `where`), or a comparison (one operand + operators).
 */
function checkConditionForm(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const present = (keys: readonly string[]) => keys.filter((k) => c[k] !== undefined);
  const combinators = present(COMBINATORS);
  const operands = present(OPERANDS);
  const operators = present(OPERATORS);
  const tag = present(['tag']);
  const did = present(['did']);
  const didKeys = present(DID_KEYS);
  const count = present(['count', 'within']);
  const issue = (message: string, hint?: string, path: string[] = []) =>
    ctx.addIssue({ code: 'custom', message, path, params: hint ? { hint } : undefined });
  const all = [...combinators, ...tag, ...did, ...count, ...operands, ...operators, ...didKeys];
  const mixes = (allowed: readonly string[], hint: string) => {
    const extra = all.filter((k) => !allowed.includes(k));
    if (extra.length === 0) return;
    issue(`mixes ${all.map((k) => `\`${k}\``).join(', ')} in one condition`, hint);
  };

  if (combinators.length > 0) {
    if (all.length > 1) {
      mixes(
        [],
        'a condition is either a comparison, a `tag` or `did` test, or one of `all`, `any`, `not`; nest comparisons inside `all:`',
      );
    }
    return;
  }
  if (tag.length > 0) {
    mixes(['tag'], 'a tag test is just `{ tag: vip }`; combine it with others inside `all:`');
    return;
  }
  if (did.length > 0) {
    mixes(
      ['did', ...DID_KEYS],
      'a did test takes only `step:` and `where:` (e.g. `{ did: message_clicked, step: offer-sms }`)',
    );
    return;
  }
  if (c.count !== undefined) {
    checkCountForm(c, all, issue);
    return;
  }
  if (c.within !== undefined) {
    issue('`within` only goes with `count:`', COUNT_HINT, ['within']);
    return;
  }
  for (const key of didKeys) {
    issue(`\`${key}\` only goes with \`did:\``, 'e.g. `{ did: message_opened, step: offer-sms }`', [key]);
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

const COUNT_HINT = 'e.g. `{ count: { event: content_viewed }, within: 7d, gte: 3 }`';

/** A count test: `count`, `within`, and whole-number `gte` / `gt` / `lte` / `lt` / `eq` only. */
function checkCountForm(
  c: Record<string, unknown>,
  keys: string[],
  issue: (message: string, hint?: string, path?: string[]) => void,
): void {
  const allowed: readonly string[] = ['count', 'within', ...COUNT_OPERATORS];
  const extra = keys.filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    issue(
      `mixes ${keys.map((k) => `\`${k}\``).join(', ')} in one condition`,
      'a count test takes `within:` and `gte`, `gt`, `lte`, `lt` or `eq`; combine it with others inside `all:`',
    );
    return;
  }
  if (c.within === undefined) issue('a count needs `within:`, a window in whole days', COUNT_HINT);
  const ops = COUNT_OPERATORS.filter((op) => c[op] !== undefined);
  if (ops.length === 0) {
    issue(
      `a count needs a comparison: one of ${COUNT_OPERATORS.map((o) => `\`${o}\``).join(', ')}`,
      COUNT_HINT,
    );
  }
  for (const op of ops) {
    const n = c[op];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      issue(`must be a whole number of events (0 or more), got ${describe(n)}`, undefined, [op]);
  }
}

export const eventMatcherSchema = strict({
  event: eventName,
  where: conditionSchema.optional(),
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

const isoWithOffset = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 time with offset' });

/** An IANA time zone such as `Asia/Shanghai`. */
const timeZone = z.string().refine((zone) => isValidZone(zone), {
  message: 'must be an IANA time zone such as `Asia/Shanghai` or `Europe/Berlin`',
});

const CRON_ALIASES = [
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@hourly',
  '@weekdays',
  '@weekends',
];

/** Five cron fields (minute hour day-of-month month day-of-week) or an alias such as `@daily`. */
const cronSchema = z.string().superRefine((cron, ctx) => {
  const text = cron.trim();
  const fields = text.split(/\s+/);
  const fail = (message: string, hint?: string) =>
    ctx.addIssue({ code: 'custom', message, params: hint ? { hint } : undefined });
  const example = 'e.g. `0 9 * * *` is every day at 09:00, `0 10 * * mon` Mondays at 10:00';
  if (text.startsWith('@')) {
    if (!CRON_ALIASES.includes(text)) fail(`unknown cron alias \`${text}\``, didYouMean(text, CRON_ALIASES));
    return;
  }
  if (fields.length !== 5) {
    fail(
      `a cron expression has five fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
      example,
    );
    return;
  }
  try {
    CronExpressionParser.parse(text, { tz: 'UTC' });
  } catch (err) {
    fail(`not a valid cron expression: ${(err as Error).message}`, example);
  }
});

const scheduleSchema = strict({
  cron: cronSchema,
  timezone: timeZone.default(DEFAULT_ZONE),
});

const REENTRY_WORDS = ['never', 'always'];

/** `never`, `always` (the default) or a cool-down duration (`30d`): parsed to a `Reentry`. */
const reentrySchema = z.unknown().transform((value, ctx): Reentry => {
  if (value === 'never') return { mode: 'never' };
  if (value === 'always') return { mode: 'always' };
  const fail = (message: string, hint?: string) => {
    ctx.addIssue({ code: 'custom', message, params: hint ? { hint } : undefined });
    return z.NEVER;
  };
  const hint =
    'write `never`, `always`, or a cool-down such as `30d`: may enter again 30 days after the run ended';
  if (typeof value !== 'string' || /^[a-z]+$/i.test(value.trim())) {
    const near = typeof value === 'string' ? closest(value, REENTRY_WORDS) : undefined;
    return fail(
      `${describe(value)} is not \`never\`, \`always\` or a duration`,
      near ? `did you mean \`${near}\`?` : hint,
    );
  }
  try {
    const cooldownMs = parseDuration(value);
    if (cooldownMs <= 0) return fail(`duration "${value}" must be longer than zero`, hint);
    return { mode: 'after', cooldownMs };
  } catch (err) {
    if (err instanceof DurationError) return fail(err.message, hint);
    throw err;
  }
});

const TRIGGERS = ['event', 'traitChanged', 'schedule', 'api'] as const;

export const entrySchema = strict({
  event: eventName.optional(),
  traitChanged: fieldPath.optional(),
  schedule: scheduleSchema.optional(),
  api: z.literal(true, { message: 'must be `true` (only by API / bulk enrolment)' }).optional(),
  where: conditionSchema.optional(),
  reentry: reentrySchema.optional(),
  limit: z.number().int().positive().optional(),
  endAt: isoWithOffset.optional(),
}).superRefine((entry, ctx) => {
  const triggers = TRIGGERS.filter((k) => entry[k] !== undefined);
  const list = TRIGGERS.map((k) => `\`${k}\``).join(', ');
  if (triggers.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `needs a trigger: one of ${list}`,
      params: { hint: 'e.g. `event: order_completed`, `traitChanged: dueDate` or `api: true`' },
    });
  } else if (triggers.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [triggers[1]!],
      message: `has ${triggers.map((k) => `\`${k}\``).join(' and ')}: a journey has exactly one trigger`,
      params: {
        hint: 'every journey can also be enrolled by API; use `api: true` only for API-only journeys',
      },
    });
  }
  if (entry.api !== undefined && entry.where !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['where'],
      message: 'an API-only entry has no `where`: the customers enrolled are the ones listed',
    });
  }
});

const base = { id: stepId, next: stepId.optional() };

const WEEKDAY_NAMES: Record<string, Weekday> = {
  monday: 'mon',
  tuesday: 'tue',
  wednesday: 'wed',
  thursday: 'thu',
  friday: 'fri',
  saturday: 'sat',
  sunday: 'sun',
};

/** `mon` … `sun` (also `Monday`, `MON`). */
const weekdaySchema = z.preprocess(
  (v) => (typeof v === 'string' ? (WEEKDAY_NAMES[v.trim().toLowerCase()] ?? v.trim().toLowerCase()) : v),
  z.string().pipe(z.enum(WEEKDAYS as [Weekday, ...Weekday[]])),
);

const waitUntilSchema = strict({
  at: z
    .string()
    .refine(
      (at) => (/^\d{4}-\d{2}-\d{2}$/.test(at.trim()) ? isIsoDate(at) : isIsoDate(at) && hasOffset(at)),
      {
        message:
          'must be an ISO-8601 date (`2026-12-01`, with `time:` for a time of day in the customer’s zone) or a date-time with offset (`2026-12-01T10:00:00+08:00`)',
      },
    )
    .optional(),
  trait: fieldPath.optional(),
  offset: signedDurationSchema.optional(),
  weekday: z
    .union([weekdaySchema, z.array(weekdaySchema).min(1, { message: 'must list at least one day' })])
    .optional(),
  time: clockTime.optional(),
}).superRefine((until, ctx) => {
  const fixes = (['at', 'trait', 'weekday'] as const).filter((k) => until[k] !== undefined);
  const issue = (message: string, path: string[], hint?: string) =>
    ctx.addIssue({ code: 'custom', message, path, params: hint ? { hint } : undefined });
  if (fixes.length === 0 && until.time === undefined) {
    issue(
      'needs `at`, `trait`, `weekday` or `time`',
      [],
      'e.g. `{ time: "09:00" }` or `{ trait: dueDate, offset: -30d }`',
    );
  }
  if (fixes.length > 1) {
    issue(`use one of \`at\`, \`trait\` and \`weekday\`, not ${fixes.map((k) => `\`${k}\``).join(' and ')}`, [
      fixes[1]!,
    ]);
  }
  if (until.offset !== undefined && until.trait === undefined) {
    issue(
      '`offset` moves the date of a trait: use it with `trait:`',
      ['offset'],
      'e.g. `{ trait: dueDate, offset: -30d }`',
    );
  }
  if (until.at !== undefined && until.time !== undefined && hasOffset(until.at)) {
    issue('`at` already has a time of day', ['time'], 'give `at` as a date (`2026-12-01`) to use `time:`');
  }
});

const waitStep = strict({
  ...base,
  type: z.literal('wait'),
  duration: durationSchema.optional(),
  until: waitUntilSchema.optional(),
  onMissing: stepId.optional(),
}).superRefine((step, ctx) => {
  if ((step.duration === undefined) === (step.until === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'needs exactly one of `duration` or `until`',
      path: [step.duration === undefined ? 'duration' : 'until'],
      params: { hint: 'e.g. `duration: 2h`, or `until: { time: "09:00" }`' },
    });
  }
  if (step.onMissing !== undefined && step.until?.trait === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: '`onMissing` is where to go when `until.trait` is missing: it needs `until: { trait: … }`',
      path: ['onMissing'],
    });
  }
});

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
  expiresAt: isoWithOffset.optional(),
}).superRefine((step, ctx) => {
  if ((step.expiresIn === undefined) === (step.expiresAt === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'needs exactly one of `expiresIn` or `expiresAt`',
      path: ['expiresIn'],
    });
  }
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

const ARM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

const splitStep = strict({
  ...base,
  type: z.literal('split'),
  arms: z
    .array(
      strict({
        name: z.string().regex(ARM_NAME, {
          message: 'must be a short name: letters, digits, `-`, `_` (e.g. `A`, `control`, `coupon-50`)',
        }),
        percent: z.number().int().min(0).max(100),
        goto: stepId,
      }),
    )
    .min(2, { message: 'must list at least two arms' }),
}).superRefine((step, ctx) => {
  const total = step.arms.reduce((sum, arm) => sum + arm.percent, 0);
  if (total !== 100) {
    ctx.addIssue({
      code: 'custom',
      message: `the arms' percents add up to ${total}, not 100`,
      path: ['arms'],
      params: { hint: 'e.g. `percent: 50` on each of two arms' },
    });
  }
  const seen = new Set<string>();
  step.arms.forEach((arm, i) => {
    if (seen.has(arm.name)) {
      ctx.addIssue({
        code: 'custom',
        message: `arm name \`${arm.name}\` is used twice`,
        path: ['arms', i, 'name'],
        params: { hint: 'each arm is counted under its name, so names must differ' },
      });
    }
    seen.add(arm.name);
  });
});

const tagList = z.array(tagName).min(1, { message: 'must list at least one tag' });
const tagStep = strict({ ...base, type: z.literal('tag'), tags: tagList });
const untagStep = strict({ ...base, type: z.literal('untag'), tags: tagList });

const TRAIT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const VALUE_FORMS = ['trait', 'property', 'now'];
const VALUE_HINT =
  'a value is text, a number, `true`/`false`, a list, or one of `{ trait: x }`, `{ property: x }`, `{ now: "" }`, `{ now: "+7d" }`';

/** A ValueExpr (types.ts): literals, or exactly one of `{ trait }`, `{ property }`, `{ now }`. */
export const valueExprSchema = z.unknown().transform((value, ctx): ValueExpr => {
  const fail = (message: string, path: (string | number)[] = [], hint: string | null = VALUE_HINT) => {
    ctx.addIssue({ code: 'custom', message, path, params: hint ? { hint } : undefined });
    return z.NEVER;
  };
  if (value === null || value === undefined) return fail('is empty: a value is needed');
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : fail('must be a finite number');
  if (Array.isArray(value)) {
    const bad = value.findIndex((v) => !['string', 'number', 'boolean'].includes(typeof v));
    if (bad >= 0) return fail('a list holds only text, numbers and `true`/`false`', [bad], null);
    return value;
  }
  if (typeof value !== 'object') return fail(`expected a value, got ${describe(value)}`);
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec);
  for (const key of keys) {
    if (!VALUE_FORMS.includes(key)) {
      const params: UnknownKeyParams = { unknownKey: true, allowed: VALUE_FORMS };
      ctx.addIssue({ code: 'custom', message: 'unknown key', path: [key], params });
    }
  }
  const forms = keys.filter((k) => VALUE_FORMS.includes(k));
  if (forms.length !== 1) {
    if (keys.some((k) => !VALUE_FORMS.includes(k))) return z.NEVER;
    return fail(
      forms.length === 0
        ? 'needs one of `trait`, `property`, `now`'
        : `mixes ${forms.map((k) => `\`${k}\``).join(', ')}`,
    );
  }
  const form = forms[0]!;
  if (keys.length > 1) return z.NEVER;
  if (form === 'now') {
    const shift = rec.now ?? '';
    if (typeof shift !== 'string')
      return fail('must be `""` (now) or a signed duration such as `-30d`', ['now']);
    if (shift.trim() !== '') {
      try {
        parseSignedDuration(shift);
      } catch (err) {
        if (err instanceof DurationError)
          return fail(err.message, ['now'], 'e.g. `{ now: "" }` or `{ now: "+7d" }`');
        throw err;
      }
      if (!/^[+-]/.test(shift.trim())) {
        return fail(`"${shift}" needs a sign: \`+${shift.trim()}\` or \`-${shift.trim()}\``, ['now'], null);
      }
    }
    return { now: shift };
  }
  const parsed = fieldPath.safeParse(rec[form]);
  if (!parsed.success) {
    return fail(
      typeof rec[form] === 'string'
        ? parsed.error.issues[0]!.message
        : `expected text, got ${describe(rec[form])}`,
      [form],
      null,
    );
  }
  return form === 'trait' ? { trait: parsed.data } : { property: parsed.data };
});

/** A mapping of names to values; names checked one by one at their own path. */
function valueMap(kind: 'trait' | 'key', check: (name: string) => string | undefined) {
  return z.record(z.string(), valueExprSchema).superRefine((map, ctx) => {
    if (Object.keys(map).length === 0) {
      ctx.addIssue({ code: 'custom', message: `must set at least one ${kind}` });
    }
    for (const name of Object.keys(map)) {
      const problem = check(name);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [name] });
    }
  });
}

const setTraitStep = strict({
  ...base,
  type: z.literal('setTrait'),
  traits: valueMap('trait', (name) => {
    if (name === 'tags') return 'tags are set with `tag` / `untag` steps, not as a trait';
    if (!TRAIT_NAME.test(name) || FORBIDDEN_SEGMENTS.includes(name)) {
      return `\`${name}\` is not a trait name: letters, digits, \`_\` and \`-\`, starting with a letter`;
    }
    return undefined;
  }),
});

/** A name from the config file's `webhooks:` / `notify:` section. */
const targetName = z.string().regex(TEMPLATE_NAME, {
  message: 'must be a name from the config file: a-z, 0-9, `-`, `_` (e.g. `supply-chain`)',
});

const httpUrl = z.string().refine(
  (url) => {
    try {
      const parsed = new URL(url);
      return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be an http:// or https:// URL' },
);

const webhookStep = strict({
  ...base,
  type: z.literal('webhook'),
  target: targetName.optional(),
  url: httpUrl.optional(),
  body: valueMap('key', (name) =>
    name.trim() === '' ? 'a body key must not be empty' : undefined,
  ).optional(),
  attempts: z.number().int().min(1).max(20).default(5),
  onFailure: stepId.optional(),
}).superRefine((step, ctx) => {
  if ((step.target === undefined) === (step.url === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'needs exactly one of `target` or `url`',
      path: [step.target === undefined ? 'target' : 'url'],
      params: { hint: 'name a webhook of the config file (`target: supply-chain`) or give `url: https://…`' },
    });
  }
});

const notifyStep = strict({
  ...base,
  type: z.literal('notify'),
  target: targetName,
  template: templateName,
});

const gotoStep = strict({
  ...base,
  type: z.literal('goto'),
  to: stepId,
  maxIterations: z.number().int().min(1),
});

export const stepSchema = z.discriminatedUnion('type', [
  waitStep,
  sendStep,
  issueCouponStep,
  waitForStep,
  branchStep,
  exitStep,
  splitStep,
  tagStep,
  untagStep,
  setTraitStep,
  webhookStep,
  notifyStep,
  gotoStep,
]);

export const DEFAULT_LOCALE = 'zh-CN';

export const journeySourceSchema = strict({
  id: journeyId,
  name: z.string().trim().min(1, { message: 'must not be empty' }),
  version: z.number().int().positive().default(1),
  description: z.string().optional(),
  defaultLocale: localeSchema.default(DEFAULT_LOCALE),
  entry: entrySchema,
  exit: z.union([eventMatcherSchema, z.array(eventMatcherSchema)]).optional(),
  conversionWindow: durationSchema.optional(),
  holdback: z.number().int().min(0).max(50).optional(),
  capExempt: z.boolean().optional(),
  quietHours: quietHoursSchema.optional(),
  steps: z.array(stepSchema).min(1, { message: 'must list at least one step' }),
});

export type JourneySource = z.output<typeof journeySourceSchema>;
export type StepSource = z.output<typeof stepSchema>;

/** Validates a parsed document, with messages written for marketers rather than programmers. */
export function parseJourneySource(data: unknown) {
  return journeySourceSchema.safeParse(data, { error: friendlyMessage });
}

export function friendlyMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      if (issue.expected === 'int') return `must be a whole number, got ${String(issue.input)}`;
      return `expected ${expectedName(issue.expected)}, got ${describe(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'number')
        return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}`;
      return undefined;
    case 'too_big':
      if (issue.origin === 'number')
        return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
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
