import { IANAZone } from 'luxon';
import { z } from 'zod';
import { readConfigFile } from '../config/config-file';
import { quietHoursSchema } from '../language/schema';
import { CHANNELS, type Channel } from '../language/types';
import { DEFAULT_STOP_KEYWORDS } from './sms-keywords';

/** Where customers without a `timezone` trait (or with an invalid one) are assumed to live. */
export const DEFAULT_TIMEZONE = 'Asia/Shanghai';

const timezone = z.string().refine((zone) => IANAZone.isValidZone(zone), {
  message: 'must be an IANA time zone such as `Asia/Shanghai` or `America/New_York`',
});

const count = z.number().int().nonnegative();

/** `false`, or a window; a bad window reports its own fields (a plain union would say only "invalid"). */
const quietHoursOrOff = z.unknown().transform((value, ctx): z.output<typeof quietHoursSchema> | false => {
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({
      code: 'custom',
      message: "must be `false` (off) or { start: '21:00', end: '09:00', action: delay }",
    });
    return z.NEVER;
  }
  const parsed = quietHoursSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues)
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});

/** At most `day` touches per local calendar day and `week` per local ISO week; absent: no cap. */
const capSchema = z.strictObject({ day: count.optional(), week: count.optional() });

/**
 * The `rules` section of TOUCHPOINT_CONFIG. Every part has a default, so no section at all means:
 * opt-out consent, quiet hours 21:00–09:00 (delay), no frequency caps.
 */
export const rulesConfigSchema = z.strictObject({
  consent: z
    .strictObject({
      /**
       * A customer with no consent record for a channel and topic: `granted` is the opt-out model
       * (touch until they say stop), `denied` the opt-in model (touch only after a recorded grant).
       */
      default: z.enum(['granted', 'denied']).default('granted'),
      /** SMS replies that revoke SMS marketing consent (compared trimmed, case- and width-insensitive). */
      smsKeywords: z
        .array(z.string().trim().min(1))
        .min(1)
        .default([...DEFAULT_STOP_KEYWORDS]),
    })
    .prefault({}),
  /** The customer's zone when their `timezone` trait is missing or not an IANA zone. */
  timezone: timezone.default(DEFAULT_TIMEZONE),
  /** Global quiet hours in the customer's local time; `false` turns them off (journeys may still set theirs). */
  quietHours: quietHoursOrOff.default({ start: '21:00', end: '09:00', action: 'delay' }),
  frequencyCaps: z
    .strictObject({
      perChannel: z.partialRecord(z.enum(CHANNELS as [Channel, ...Channel[]]), capSchema).default({}),
      overall: capSchema.optional(),
    })
    .prefault({}),
  /** Journeys: `maxPerCustomer` caps the concurrent journeys (not capExempt) one customer is in; absent: no cap. */
  journeys: z.strictObject({ maxPerCustomer: z.number().int().positive().optional() }).optional(),
});

export type RulesConfig = z.output<typeof rulesConfigSchema>;
export type CapLimits = z.output<typeof capSchema>;
export type FrequencyCapConfig = RulesConfig['frequencyCaps'];

/** Validates a `rules` section (undefined: all defaults); throws with every bad field listed. */
export function parseRulesConfig(section: unknown, source = 'rules'): RulesConfig {
  const parsed = rulesConfigSchema.safeParse(section ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${['rules', ...i.path].join('.')}: ${i.message}`);
    throw new Error(`${source}: invalid configuration\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The `rules` section of the config file, validated; defaults when there is no file or section. */
export function loadRulesConfig(file?: string): RulesConfig {
  return parseRulesConfig(readConfigFile(file).rules, file);
}
