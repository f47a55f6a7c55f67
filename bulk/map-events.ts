import { identifiersOf, hasIdentifier, subjectOf } from './identifiers';
import {
  lineMessageId,
  naturalMessageId,
  type BatchMessage,
  type InputRow,
  type MappingContext,
} from './message';
import { Fields } from './row';
import { instant, json, RowError, show } from './values';

/** Event columns besides the identifiers, by accepted names (column keys). */
export const EVENT_COLUMNS = {
  type: ['type'],
  event: ['event', 'eventname'],
  messageId: ['messageid'],
  timestamp: ['timestamp', 'time', 'occurredat'],
  properties: ['properties'],
  traits: ['traits'],
  context: ['context'],
} as const;

/** `properties.<name>` / `traits.<name>` columns (CSV), one level deep. */
const DOTTED = /^\s*(properties|traits)\.(.+?)\s*$/i;

/**
 * A generic event row (a Segment-style export) → a `track` or an `identify`:
 * `type` (track | identify; default track when there is an `event`, identify when only traits),
 * `event`, `userId` / `anonymousId`, `messageId`, `timestamp`, `properties` / `traits` / `context`
 * (JSON objects; in CSV as JSON text, or one column per key as `properties.<key>`), the other
 * identifiers as traits (identify) or `context.traits` (track), any other column into properties
 * (track) or traits (identify).
 *
 * messageId `import:events:<the row's messageId>`, else `import:events:<file key>:<line>`.
 */
export function mapEvent(row: InputRow, ctx: MappingContext): BatchMessage {
  const dotted: Record<'properties' | 'traits', Record<string, unknown>> = { properties: {}, traits: {} };
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row.fields)) {
    const m = DOTTED.exec(name);
    if (!m) plain[name] = value;
    else if (value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === ''))
      setKey(dotted[m[1]!.toLowerCase() as 'properties' | 'traits'], m[2]!, value);
  }
  const fields = new Fields(plain);
  const ids = identifiersOf(fields);
  if (!hasIdentifier(ids))
    throw new RowError(
      'no identifier: one of userId, anonymousId, memberId, phone, email, unionId, openId is required',
    );
  const event = fields.text(EVENT_COLUMNS.event);
  const given = fields.text(EVENT_COLUMNS.type)?.toLowerCase();
  const objectOf = (name: keyof typeof EVENT_COLUMNS) => {
    const field = fields.take(EVENT_COLUMNS[name]);
    return field ? (json(field.name, field.value, 'object') as Record<string, unknown>) : undefined;
  };
  const properties = { ...objectOf('properties'), ...dotted.properties };
  const traits = { ...objectOf('traits'), ...dotted.traits };
  const context = objectOf('context');
  const type =
    given ?? (event !== undefined ? 'track' : Object.keys(traits).length > 0 ? 'identify' : undefined);
  if (type !== 'track' && type !== 'identify')
    throw new RowError(
      type === undefined
        ? 'type: is required (track or identify)'
        : `type: ${show(type)} is not supported: track or identify`,
    );
  if (type === 'track' && event === undefined) throw new RowError('event: is required for a track');
  const messageId = fields.text(EVENT_COLUMNS.messageId);
  const time = fields.take(EVENT_COLUMNS.timestamp);
  const timestamp = time ? instant(time.name, time.value, ctx.timeZone) : undefined;
  const rest = Object.fromEntries(fields.rest());

  const base = {
    messageId:
      messageId !== undefined
        ? naturalMessageId('events', messageId)
        : lineMessageId('events', ctx, row.line),
    ...subjectOf(ids, ctx.pseudonymKey),
    ...(timestamp !== undefined && { timestamp }),
  };
  if (type === 'identify') {
    return {
      type,
      ...base,
      traits: { ...rest, ...traits, ...ids.traits },
      ...(context && { context }),
    };
  }
  const sentTraits = context?.traits;
  const contextTraits = {
    ...(typeof sentTraits === 'object' && sentTraits !== null && !Array.isArray(sentTraits)
      ? sentTraits
      : {}),
    ...ids.traits,
  };
  const withTraits = Object.keys(ids.traits).length > 0 ? { ...context, traits: contextTraits } : context;
  return {
    type,
    ...base,
    event: event!,
    properties: { ...rest, ...properties },
    ...(withTraits && { context: withTraits }),
  };
}

/** `target[key] = value` for a key from the file, never onto the prototype. */
function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
