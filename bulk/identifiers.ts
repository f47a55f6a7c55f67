import { createHmac } from 'node:crypto';
import type { Fields } from './row';

/**
 * The customer identifiers a row may carry (issue 5's identity: userId, anonymousId, memberId,
 * phone, email, unionId, openId), by their accepted column names (column keys: lower case,
 * letters and digits only).
 */
export const IDENTIFIER_COLUMNS = {
  userId: ['userid', 'uid'],
  anonymousId: ['anonymousid', 'anonid'],
  memberId: ['memberid', 'memberno', 'membercode', 'membercard', 'membercardno', 'cardno', 'membershipid'],
  phone: ['phone', 'mobile', 'phonenumber', 'mobilephone', 'mobilenumber', 'cellphone', 'tel'],
  email: ['email', 'emailaddress', 'mail'],
  unionId: ['unionid', 'wechatunionid'],
  openId: ['openid', 'wechatopenid'],
  openIdApp: ['openidapp', 'appid', 'wechatappid'],
} as const;

export interface RowIdentifiers {
  userId?: string;
  anonymousId?: string;
  /** memberId, phone, email, unionId, openId (+ openIdApp): traits the identity resolver reads. */
  traits: Record<string, string>;
}

/** The row's identifiers; `natural` is the first of them for a natural key, in the contract's order. */
export function identifiersOf(fields: Fields): RowIdentifiers & { natural?: [string, string] } {
  const userId = fields.text(IDENTIFIER_COLUMNS.userId);
  const anonymousId = fields.text(IDENTIFIER_COLUMNS.anonymousId);
  const traits: Record<string, string> = {};
  for (const name of ['memberId', 'phone', 'email', 'unionId', 'openId', 'openIdApp'] as const) {
    const value = fields.text(IDENTIFIER_COLUMNS[name]);
    if (value !== undefined) traits[name] = value;
  }
  // The order of the contract's "first identifier": a customer's id when it has no userId.
  const natural = (
    [
      ['userId', userId],
      ['memberId', traits.memberId],
      ['phone', traits.phone],
      ['email', traits.email],
      ['unionId', traits.unionId],
      ['openId', traits.openId],
      ['anonymousId', anonymousId],
    ] as const
  ).find(([, value]) => value !== undefined) as [string, string] | undefined;
  return {
    ...(userId !== undefined && { userId }),
    ...(anonymousId !== undefined && { anonymousId }),
    traits,
    ...(natural && { natural }),
  };
}

/** Whether the row names a customer at all. */
export function hasIdentifier(ids: RowIdentifiers): boolean {
  return (
    ids.userId !== undefined ||
    ids.anonymousId !== undefined ||
    Object.keys(ids.traits).some((k) => k !== 'openIdApp')
  );
}

/** As customers/identifiers.ts names customers by them (`member:M1001`). */
const PREFIX = {
  memberId: 'member',
  phone: 'phone',
  email: 'email',
  unionId: 'union',
  openId: 'openid',
} as const;

/** Identifiers kept out of ids in clear (personal data); a keyed hash stands for them. */
const SENSITIVE = new Set(['phone', 'email']);

/**
 * Who the message is about, on the message itself. The ingestion API requires a userId or an
 * anonymousId (Segment's rule); a row naming its customer only by memberId, phone, email, unionId
 * or openId (an offline store's export) gets the anonymousId `<type>:<value>` of the first of
 * them, e.g. `member:M1001` (customer `anon:member:M1001`): the same for every file that names the member, so members and
 * their orders land on one customer, and harmless to identity stitching (an anonymousId is no
 * person identifier; the memberId itself is sent as a trait and links as usual). Phone and email
 * appear as an HMAC keyed with the write key, never in clear: anonymous ids end up in customer
 * ids, key names and logs.
 */
export function subjectOf(
  ids: RowIdentifiers,
  pseudonymKey: string,
):
  | { userId: string }
  | { anonymousId: string }
  | { userId: string; anonymousId: string }
  | Record<string, never> {
  if (ids.userId !== undefined || ids.anonymousId !== undefined)
    return {
      ...(ids.userId !== undefined && { userId: ids.userId }),
      ...(ids.anonymousId !== undefined && { anonymousId: ids.anonymousId }),
    } as { userId: string; anonymousId: string };
  for (const type of ['memberId', 'phone', 'email', 'unionId', 'openId'] as const) {
    const value = ids.traits[type];
    if (value === undefined) continue;
    const shown = SENSITIVE.has(type)
      ? createHmac('sha256', pseudonymKey).update(`${type}:${value}`).digest('hex').slice(0, 32)
      : type === 'openId'
        ? `${ids.traits.openIdApp ?? 'default'}:${value}`
        : value;
    return { anonymousId: `${PREFIX[type]}:${shown}`.slice(0, 256) };
  }
  return {};
}
