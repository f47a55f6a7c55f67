import { z } from 'zod';
import { configLocation, readConfigFile } from '../config/config-file';
import { DEFAULT_LINKING_EVENTS, IDENTIFIER_TYPES, type IdentifierType } from './identifiers';

/**
 * The config file's `identity:` section (docs/identity.md):
 *
 * ```yaml
 * identity:
 *   linkingEvents: [coupon_claimed, member_bound, order_completed]
 *   maxCustomersPerIdentifier: 5
 *   maxIdentifiersPerType: { default: 5, userId: 1 }  # or one number for every type
 * ```
 */

const limit = z.number().int('must be a whole number').min(1, 'must be at least 1');

const typeLimits = Object.fromEntries(IDENTIFIER_TYPES.map((t) => [t, limit.optional()])) as Record<
  IdentifierType,
  z.ZodOptional<typeof limit>
>;

const perType = z.union([limit, z.strictObject({ default: limit.optional(), ...typeLimits })]);

export const identityConfigSchema = z.strictObject({
  /** Track events whose `properties.memberId` / `properties.phone` link identifiers. */
  linkingEvents: z.array(z.string().min(1, 'must not be empty')).default([...DEFAULT_LINKING_EVENTS]),
  /**
   * How many customers (known by a personal identifier: not only anonymous / device ids) one
   * identifier may merge into one; a merge past it is refused and recorded as a conflict.
   */
  maxCustomersPerIdentifier: limit.default(5),
  /**
   * Identifiers of one type one customer may hold: a number for every type, or per type. By
   * default one userId (a user id is one account: two accounts are never merged) and 5 of the others.
   */
  maxIdentifiersPerType: perType.default({ default: 5, userId: 1 }),
});

export interface IdentityConfig {
  linkingEvents: string[];
  maxCustomersPerIdentifier: number;
  /** Resolved for every type. */
  maxIdentifiersPerType: Record<IdentifierType, number>;
}

const DEFAULT_PER_TYPE = 5;

/** Validates an `identity` section (undefined or null: all defaults); throws with every bad field. */
export function parseIdentityConfig(section: unknown, file?: string): IdentityConfig {
  const parsed = identityConfigSchema.safeParse(section ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const where = file ? `${configLocation(file, ['identity', ...issue.path])}: ` : '';
      return `  ${where}${['identity', ...issue.path.map(String)].join('.')}: ${issue.message}`;
    });
    throw new Error(`${file ?? 'config'}: invalid configuration\n${lines.join('\n')}`);
  }
  const { linkingEvents, maxCustomersPerIdentifier, maxIdentifiersPerType } = parsed.data;
  const given =
    typeof maxIdentifiersPerType === 'number' ? { default: maxIdentifiersPerType } : maxIdentifiersPerType;
  const fallback = (given as { default?: number }).default ?? DEFAULT_PER_TYPE;
  const resolved = Object.fromEntries(
    IDENTIFIER_TYPES.map((t) => [t, (given as Partial<Record<IdentifierType, number>>)[t] ?? fallback]),
  ) as Record<IdentifierType, number>;
  return { linkingEvents, maxCustomersPerIdentifier, maxIdentifiersPerType: resolved };
}

/** The `identity` section of the config file, validated; defaults when there is no file or section. */
export function loadIdentityConfig(file?: string): IdentityConfig {
  return parseIdentityConfig((readConfigFile(file) as Record<string, unknown>).identity, file);
}
