import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { configLocation, readConfigFile } from '../config/config-file';
import { conditionSchema } from '../language/schema';
import type { Condition } from '../language/types';

/**
 * The config file's `profiles:` section (docs/profiles.md): which events are orders and where
 * their amount, category and id are; RFM scoring (thresholds or quantiles), its schedule and
 * named groups; lifecycle stage rules; the traits encrypted at rest. Every part has a default.
 */

/** The computed traits (customers/computed-traits.ts, rfm.ts, lifecycle-stage.ts): fixed names. */
export const COMPUTED_TRAITS = [
  'orderCount',
  'totalSpend',
  'avgOrderValue',
  'firstOrderAt',
  'lastOrderAt',
  'lastSeenAt',
  'preferredCategories',
  'rfmR',
  'rfmF',
  'rfmM',
  'rfmGroup',
  'lifecycleStage',
] as const;

/** Ordered: the first group whose `when` holds names the customer's RFM group (buyers only). */
export const DEFAULT_RFM_GROUPS: { name: string; when: Condition }[] = [
  {
    name: 'high-value',
    when: {
      all: [
        { trait: 'rfmR', gte: 4 },
        { trait: 'rfmF', gte: 4 },
        { trait: 'rfmM', gte: 4 },
      ],
    },
  },
  {
    name: 'new',
    when: {
      all: [
        { trait: 'rfmR', gte: 4 },
        { trait: 'orderCount', eq: 1 },
      ],
    },
  },
  {
    name: 'potential',
    when: {
      all: [
        { trait: 'rfmR', gte: 3 },
        {
          any: [
            { trait: 'rfmF', gte: 3 },
            { trait: 'rfmM', gte: 3 },
          ],
        },
      ],
    },
  },
  {
    name: 'at-risk',
    when: {
      all: [
        { trait: 'rfmR', lte: 2 },
        {
          any: [
            { trait: 'rfmF', gte: 4 },
            { trait: 'rfmM', gte: 4 },
          ],
        },
      ],
    },
  },
  { name: 'dormant', when: { trait: 'rfmR', lte: 2 } },
];

/** Ordered: the first stage whose `when` holds is the customer's lifecycle stage. */
export const DEFAULT_LIFECYCLE_STAGES: { stage: string; when: Condition }[] = [
  {
    stage: 'loyalty',
    when: {
      all: [
        { trait: 'orderCount', gte: 3 },
        { trait: 'lastOrderAt', after: '-365d' },
      ],
    },
  },
  { stage: 'purchase', when: { trait: 'orderCount', gte: 1 } },
  { stage: 'interest', when: { trait: 'lastSeenAt', exists: true } },
];

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a name is letters, digits, `-`, `_` and `.` (e.g. high-value)');
/** A property path of the order event (`total`, `order.total`). */
const propertyPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'expected a property path such as `total`');
const oneOrMore = <T extends z.ZodType>(schema: T) =>
  z.union([schema, z.array(schema).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

const timezone = z.string().refine((zone) => IANAZone.isValidZone(zone), {
  message: 'must be an IANA time zone such as `Asia/Shanghai`',
});

const cron = z.string().superRefine((text, ctx) => {
  const fields = text.trim().split(/\s+/);
  if (!text.trim().startsWith('@') && fields.length !== 5) {
    ctx.addIssue({
      code: 'custom',
      message: `a cron expression has five fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
    });
    return;
  }
  try {
    CronExpressionParser.parse(text.trim(), { tz: 'UTC' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid cron expression: ${(err as Error).message}` });
  }
});

/** `quantile`, or four ascending cut points between the scores 1|2|3|4|5. */
const dimension = z.union(
  [
    z.literal('quantile'),
    z
      .array(z.number().nonnegative())
      .length(4, 'expected four ascending cut points, e.g. [1, 2, 4, 8]')
      .refine((t) => t.every((v, i) => i === 0 || v > t[i - 1]!), 'the cut points must ascend'),
  ],
  { error: '`quantile`, or four ascending cut points such as [1, 2, 4, 8]' },
);

/** A condition of a group or stage: the journey condition language on the customer's traits. */
const rule = conditionSchema.superRefine((cond, ctx) => {
  const walk = (c: unknown): boolean =>
    typeof c === 'object' &&
    c !== null &&
    ('did' in c ||
      'property' in c ||
      'count' in c ||
      Object.values(c).some((v) => (Array.isArray(v) ? v.some(walk) : walk(v))));
  if (walk(cond))
    ctx.addIssue({
      code: 'custom',
      message: 'groups and stages see traits (and tags) only: no `property`, `did` or `count` conditions',
    });
});

export const profilesConfigSchema = z.strictObject({
  orders: z
    .strictObject({
      /** The track events that are orders. */
      event: oneOrMore(z.string().min(1)).default(['order_completed']),
      /** Where the amount is; the first path with a number wins. */
      amount: oneOrMore(propertyPath).default(['total', 'amount']),
      /** Where the category is (text, or a list of texts for an order in several). */
      category: propertyPath.default('category'),
      /** Where the order's id is: the same id counts once. Without one, the messageId is the order. */
      orderId: propertyPath.default('orderId'),
    })
    .prefault({}),
  rfm: z
    .strictObject({
      schedule: z
        .strictObject({ cron: cron.default('0 3 * * *'), timezone: timezone.default('Asia/Shanghai') })
        .prefault({}),
      /** Days since the last order: a customer at or under the first cut point scores 5 … over the last 1. */
      recency: dimension.default([30, 90, 180, 365]),
      /** Order count: at or over the last cut point scores 5 … under the first 1. */
      frequency: dimension.default('quantile'),
      /** Total spend, as frequency. */
      monetary: dimension.default('quantile'),
      groups: z
        .array(z.strictObject({ name, when: rule }))
        .default(DEFAULT_RFM_GROUPS)
        .refine((g) => new Set(g.map((x) => x.name)).size === g.length, 'group names must be unique'),
      /** The group of a buyer no rule matched. */
      otherGroup: name.default('others'),
    })
    .prefault({}),
  lifecycle: z
    .strictObject({
      stages: z.array(z.strictObject({ stage: name, when: rule })).default(DEFAULT_LIFECYCLE_STAGES),
      /** The stage of a customer no rule matched. */
      default: name.default('awareness'),
    })
    .prefault({}),
  /** Traits stored encrypted (AES-256-GCM) and masked in API answers. */
  sensitive: z
    .array(z.string().min(1))
    .default(['phone', 'email', 'idNumber'])
    .refine(
      (list) => !list.some((t) => (COMPUTED_TRAITS as readonly string[]).includes(t)),
      'computed traits cannot be sensitive (they are updated by Redis scripts that read them)',
    ),
});

export type ProfilesConfig = z.output<typeof profilesConfigSchema>;
export type RfmDimensionConfig = ProfilesConfig['rfm']['recency'];

/**
 * Validates a `profiles` section (undefined or null: all defaults); throws with every bad field
 * listed, each with `file:line:column` when `file` is given.
 */
export function parseProfilesConfig(section: unknown, file?: string): ProfilesConfig {
  const parsed = profilesConfigSchema.safeParse(section ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      // An unknown field is pointed at itself, not at the mapping holding it.
      const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const path = ['profiles', ...issue.path, ...(unknown === undefined ? [] : [unknown])];
      const message = unknown === undefined ? issue.message : `unknown field \`${unknown}\``;
      const where = file ? `${configLocation(file, path)}: ` : '';
      return `  ${where}${path.map(String).join('.')}: ${message}`;
    });
    throw new Error(`${file ?? 'config'}: invalid configuration\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The `profiles` section of the config file, validated; defaults when there is none. */
export function loadProfilesConfig(file?: string): ProfilesConfig {
  return parseProfilesConfig((readConfigFile(file) as { profiles?: unknown }).profiles, file);
}
