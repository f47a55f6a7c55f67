import { identifiersOf, hasIdentifier, subjectOf } from './identifiers';
import {
  contentHash,
  naturalMessageId,
  type BatchMessage,
  type InputRow,
  type MappingContext,
} from './message';
import { Fields } from './row';
import { amount, calendarDate, instant, RowError } from './values';

/** Member columns besides the identifiers, by accepted names (column keys). */
export const MEMBER_COLUMNS = {
  name: ['name', 'fullname', 'membername'],
  firstName: ['firstname', 'givenname'],
  lastName: ['lastname', 'surname', 'familyname'],
  gender: ['gender', 'sex'],
  birthday: ['birthday', 'birthdate', 'dateofbirth', 'dob'],
  city: ['city'],
  province: ['province', 'state', 'region'],
  country: ['country'],
  locale: ['locale', 'language'],
  timezone: ['timezone', 'tz'],
  memberLevel: ['memberlevel', 'level', 'tier', 'membertier'],
  points: ['points', 'memberpoints', 'pointsbalance'],
  store: ['store', 'storeid', 'homestore', 'storecode'],
  registeredAt: ['registeredat', 'createdat', 'joinedat', 'signupat', 'registrationdate', 'joindate'],
  updatedAt: ['updatedat', 'modifiedat', 'lastupdated'],
} as const;

/**
 * A member row → an `identify`: the identifiers (userId / anonymousId on the message, the others
 * as traits), known columns as typed traits, any other column as a string trait under its own name.
 * Empty cells set nothing (an export's blank column does not erase what a customer told us).
 *
 * messageId `import:members:<first identifier>:<hash of the row's content>`: re-sending the same row
 * (a resumed import) is a repeat, while next week's export with a changed row is a new message.
 */
export function mapMember(row: InputRow, ctx: MappingContext): BatchMessage {
  const fields = new Fields(row.fields);
  const ids = identifiersOf(fields);
  if (!hasIdentifier(ids) || !ids.natural)
    throw new RowError('no identifier: one of memberId, userId, phone, email, unionId, openId is required');
  const traits: Record<string, unknown> = { ...ids.traits };
  const str = (name: keyof typeof MEMBER_COLUMNS) => {
    const value = fields.text(MEMBER_COLUMNS[name]);
    if (value !== undefined) traits[name] = value;
  };
  for (const name of [
    'name',
    'firstName',
    'lastName',
    'gender',
    'city',
    'province',
    'country',
    'locale',
    'timezone',
    'memberLevel',
    'store',
  ] as const)
    str(name);
  const birthday = fields.take(MEMBER_COLUMNS.birthday);
  if (birthday) traits.birthday = calendarDate(birthday.name, birthday.value);
  const points = fields.take(MEMBER_COLUMNS.points);
  if (points) traits.points = amount(points.name, points.value);
  const registered = fields.take(MEMBER_COLUMNS.registeredAt);
  if (registered) traits.registeredAt = instant(registered.name, registered.value, ctx.timeZone);
  const updated = fields.take(MEMBER_COLUMNS.updatedAt);
  const timestamp = updated ? instant(updated.name, updated.value, ctx.timeZone) : undefined;
  for (const [name, value] of fields.rest()) traits[name] = value;

  const [type, value] = ids.natural;
  return {
    type: 'identify',
    messageId: naturalMessageId(
      'members',
      `${type}:${value}:${contentHash([ids.userId, ids.anonymousId, traits, timestamp])}`,
    ),
    ...subjectOf(ids, ctx.pseudonymKey),
    ...(timestamp !== undefined && { timestamp }),
    traits,
  };
}
