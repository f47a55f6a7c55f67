import type { IngestEvent } from '../queues/events';
import { normalisePhone } from './profiles';

/**
 * The identifiers a customer is known by, and how an ingested event shows them (docs/identity.md).
 * Pure functions: no Redis here, so the rules can be read (and tested) on their own.
 */

/** In priority order: when identifiers disagree, the higher one decides (see customers/identity.ts). */
export const IDENTIFIER_TYPES = [
  'userId',
  'memberId',
  'unionId',
  'openId',
  'email',
  'phone',
  'deviceId',
  'anonymousId',
] as const;
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

/** Personal data: indexed by a blind index (HMAC), never by the plaintext. */
export const SENSITIVE_TYPES: ReadonlySet<IdentifierType> = new Set(['phone', 'email']);

/**
 * Identifiers that name a person. A customer known only by anonymous or device ids counts for
 * nothing against `maxCustomersPerIdentifier`: a login merging anonymous sessions is the normal case.
 */
export const PERSON_TYPES: ReadonlySet<IdentifierType> = new Set(
  IDENTIFIER_TYPES.filter((type) => type !== 'deviceId' && type !== 'anonymousId'),
);

/** Events whose properties `memberId` / `phone` link (config `identity.linkingEvents`). */
export const DEFAULT_LINKING_EVENTS = ['coupon_claimed', 'member_bound', 'order_completed'];

/** The openId app when neither the trait `openIdApp` nor `context.app.id` names one. */
export const DEFAULT_OPENID_APP = 'default';

/** Longest identifier value kept (as ingestion's ids); longer ones are not identifiers. */
const MAX_VALUE_LENGTH = 256;

export interface Identifier {
  type: IdentifierType;
  /** The normalised value (plaintext; the index stores sensitive ones as their blind index). */
  value: string;
}

/** One spelling per identifier; undefined when the value is no identifier of that type. */
export function normaliseIdentifier(type: IdentifierType, raw: unknown): string | undefined {
  if (typeof raw !== 'string' && !(typeof raw === 'number' && Number.isFinite(raw))) return undefined;
  const text = String(raw);
  let value: string | undefined;
  switch (type) {
    case 'phone':
      value = normalisePhone(text);
      break;
    case 'email': {
      const email = text.trim().toLowerCase();
      value = /^[^\s@]+@[^\s@]+$/.test(email) ? email : undefined;
      break;
    }
    default:
      // Ids are compared as sent: `M1001` and `m1001` may well be two cards.
      value = text.trim() === '' ? undefined : text;
  }
  return value !== undefined && value.length <= MAX_VALUE_LENGTH ? value : undefined;
}

function objectAt(value: unknown, ...path: string[]): Record<string, unknown> | undefined {
  let at: unknown = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = Object.prototype.hasOwnProperty.call(at, key) ? (at as Record<string, unknown>)[key] : undefined;
  }
  return typeof at === 'object' && at !== null && !Array.isArray(at)
    ? (at as Record<string, unknown>)
    : undefined;
}

function own(object: Record<string, unknown> | undefined, key: string): unknown {
  return object && Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

/**
 * The identifiers of a public event (track or identify), highest priority first, each once:
 * - `userId`, `anonymousId`: the top-level fields; `deviceId`: `context.device.id`;
 * - from the traits (identify `traits`, track `context.traits`): `memberId`, `phone`, `email`,
 *   `unionId`, `openId` (as `<app>:<openid>`, the app from the trait `openIdApp`, else
 *   `context.app.id`, else `default`);
 * - a track of a linking event (`linkingEvents`) also gives `properties.memberId` and
 *   `properties.phone`: the coupon claim that names the store card, the order that names the phone.
 * Values that do not normalise (a phone that is no number, an email without @) are left out.
 */
export function identifiersOf(event: IngestEvent, linkingEvents: ReadonlySet<string>): Identifier[] {
  const found: Identifier[] = [];
  const add = (type: IdentifierType, raw: unknown) => {
    const value = normaliseIdentifier(type, raw);
    if (value !== undefined && !found.some((i) => i.type === type && i.value === value))
      found.push({ type, value });
  };
  add('userId', event.userId);
  add('anonymousId', event.anonymousId);
  add('deviceId', own(objectAt(event.context, 'device'), 'id'));
  const traits =
    event.type === 'identify'
      ? event.traits
      : event.type === 'track'
        ? objectAt(event.context, 'traits')
        : undefined;
  if (traits) {
    for (const type of ['memberId', 'phone', 'email', 'unionId'] as const) add(type, own(traits, type));
    const openId = normaliseIdentifier('openId', own(traits, 'openId'));
    if (openId !== undefined) {
      const app =
        normaliseIdentifier('openId', own(traits, 'openIdApp')) ??
        normaliseIdentifier('openId', own(objectAt(event.context, 'app'), 'id')) ??
        DEFAULT_OPENID_APP;
      add('openId', `${app}:${openId}`);
    }
  }
  if (event.type === 'track' && linkingEvents.has(event.event)) {
    add('memberId', own(event.properties, 'memberId'));
    add('phone', own(event.properties, 'phone'));
  }
  return found.sort((a, b) => IDENTIFIER_TYPES.indexOf(a.type) - IDENTIFIER_TYPES.indexOf(b.type));
}

/** The prefix of a customer id made from an identifier (`member:M1001`). */
const ID_PREFIX: Record<Exclude<IdentifierType, 'userId' | 'anonymousId'>, string> = {
  memberId: 'member',
  phone: 'phone',
  email: 'email',
  unionId: 'union',
  openId: 'openid',
  deviceId: 'device',
};

/** Which identifier names a new customer, after userId and anonymousId. */
const NAMING_ORDER = ['memberId', 'phone', 'email', 'unionId', 'openId', 'deviceId'] as const;

/**
 * The id of a customer first seen through these identifiers: the userId; else
 * `anon:<anonymousId>` (as before identity stitching, so existing data keeps its ids); else
 * `<type>:<value>` of the first of memberId, phone, email, unionId, openId, deviceId
 * (`member:M1001`). Sensitive values (phone, email) appear as their blind index (`phone:3f9a…`),
 * never in clear: customer ids end up in key names and logs. Undefined when there are none.
 */
export function newCustomerId(
  identifiers: readonly Identifier[],
  blind: (identifier: Identifier) => string,
): string | undefined {
  const of = (type: IdentifierType) => identifiers.find((i) => i.type === type);
  const userId = of('userId');
  if (userId) return userId.value;
  const anonymous = of('anonymousId');
  if (anonymous) return `anon:${anonymous.value}`;
  for (const type of NAMING_ORDER) {
    const found = of(type);
    if (found)
      return `${ID_PREFIX[type]}:${SENSITIVE_TYPES.has(type) ? blind(found).slice(0, 32) : found.value}`;
  }
  return undefined;
}
