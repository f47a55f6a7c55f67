import type { Redis } from 'ioredis';
import { DecryptionError, type TraitCipher } from '../customers/encryption';
import { maskValue } from '../customers/masking';
import { DEFAULT_SENSITIVE_TRAITS } from '../customers/profiles';
import { ENROLLED_EVENT, type IngestEvent } from '../queues/events';
import type { CustomerEventKeys } from './customer-event-keys';

/** Events kept per customer: the newest, by the time they were received. */
export const EVENTS_KEPT = 500;
/** Past this many characters of JSON, an event's properties are cut down for display (see fitted). */
const PROPERTIES_MAX_CHARS = 4000;
/** A string property longer than this is cut when the properties are too large. */
const VALUE_MAX_CHARS = 200;

/**
 * Writes the event unless its messageId is logged already (a retried router job logs nothing
 * new), then keeps the newest EVENTS_KEPT: the oldest are dropped from the index and the records.
 *
 * KEYS: index, records. ARGV: score (ms), messageId, JSON, kept.
 */
const RECORD = `
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if over > 0 then
  local dropped = redis.call('ZRANGE', KEYS[1], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
  redis.call('HDEL', KEYS[2], unpack(dropped))
end
return 1`;

/** One event as the customer's log keeps it. */
export interface LoggedEvent {
  messageId: string;
  type: IngestEvent['type'];
  /** The track event's name; `journey_enrolled` for an enrolment; absent for an identify. */
  event?: string;
  /** The journey an enrolment was for. */
  journeyId?: string;
  /** ISO-8601: when it happened, as the sender says. */
  timestamp: string;
  /** ISO-8601: when Touchpoint received it (the log's order). */
  receivedAt: string;
  /** The sending library (`context.library.name`), when it says. */
  source?: string;
  /** `context.channel` (Segment: `server`, `browser`, `mobile`), when it says. */
  channel?: string;
  /** Queued by Touchpoint itself (delivery outcomes, segment changes, enrolments), not the customer's doing. */
  internal?: true;
  /**
   * Track properties, identify traits or enrolment properties, for display. Sensitive values
   * (config `profiles.sensitive`) are stored masked; with a cipher their values are in `sealed`.
   */
  properties: Record<string, unknown>;
  /** Sensitive top-level values, encrypted (JSON under the profiles' cipher), by property name. */
  sealed?: Record<string, string>;
  /** The properties were too large and were cut down. */
  truncated?: true;
}

export interface CustomerEventLogOptions {
  /** The profiles' cipher: sensitive values are kept encrypted so a reveal can show them. */
  cipher?: TraitCipher;
  /** Sensitive trait names (config `profiles.sensitive`); default phone, email, idNumber. */
  sensitive?: readonly string[];
}

/** What the router needs of the log (router/route-event.ts). */
export interface CustomerEventRecorder {
  record(customerId: string, event: IngestEvent): Promise<void>;
}

/**
 * The events the router routed for each customer (the customer timeline's "events received"):
 * capped, newest EVENTS_KEPT per customer, each once per messageId. Personal data is never kept in
 * clear: sensitive values are masked, and sealed with the profiles' cipher when there is one.
 */
export class CustomerEventLog implements CustomerEventRecorder {
  private readonly sensitive: ReadonlySet<string>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: CustomerEventKeys,
    private readonly options: CustomerEventLogOptions = {},
  ) {
    this.sensitive = new Set(options.sensitive ?? DEFAULT_SENSITIVE_TRAITS);
  }

  async record(customerId: string, event: IngestEvent): Promise<void> {
    const logged = this.toLogged(event);
    const received = Date.parse(logged.receivedAt);
    await this.redis.eval(
      RECORD,
      2,
      this.keys.index(customerId),
      this.keys.records(customerId),
      Number.isNaN(received) ? Date.now() : received,
      logged.messageId,
      JSON.stringify(logged),
      EVENTS_KEPT,
    );
  }

  /**
   * The customer's logged events, newest first, received within [since, until] (ms, inclusive).
   * `reveal` opens the sealed values; else they stay masked.
   */
  async list(
    customerId: string,
    { since, until, limit = EVENTS_KEPT, reveal = false }: EventListOptions = {},
  ): Promise<LoggedEvent[]> {
    const ids = await this.redis.zrevrangebyscore(
      this.keys.index(customerId),
      until ?? '+inf',
      since ?? '-inf',
      'LIMIT',
      0,
      limit,
    );
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.records(customerId), ...ids);
    return raw.flatMap((json) => {
      if (json === null) return []; // trimmed between the two reads
      const event = JSON.parse(json) as LoggedEvent;
      return [reveal ? this.open(event) : event];
    });
  }

  private toLogged(event: IngestEvent): LoggedEvent {
    const context = event.context ?? {};
    const library = context.library as { name?: unknown } | undefined;
    const properties =
      event.type === 'identify' ? event.traits : event.type === 'track' ? event.properties : event.properties;
    const { shown, sealed } = this.protect(properties ?? {});
    const { fitted, truncated } = fit(shown);
    return {
      messageId: event.messageId,
      type: event.type,
      ...(event.type === 'track' && { event: event.event }),
      ...(event.type === 'enrol' && { event: ENROLLED_EVENT, journeyId: event.journeyId }),
      timestamp: event.timestamp,
      receivedAt: event.receivedAt ?? event.timestamp,
      ...(typeof library?.name === 'string' && { source: library.name }),
      ...(typeof context.channel === 'string' && { channel: context.channel }),
      ...(event.customerId !== undefined && { internal: true as const }),
      properties: fitted,
      ...(Object.keys(sealed).length > 0 && { sealed }),
      ...(truncated && { truncated: true as const }),
    };
  }

  /** Sensitive top-level values masked (and sealed, with a cipher); the rest as given. */
  private protect(properties: Record<string, unknown>): {
    shown: Record<string, unknown>;
    sealed: Record<string, string>;
  } {
    const shown: Record<string, unknown> = {};
    const sealed: Record<string, string> = {};
    for (const [name, value] of Object.entries(properties)) {
      let kept = value;
      if (this.sensitive.has(name) && value !== null && value !== undefined) {
        kept = maskValue(name, value);
        if (this.options.cipher)
          sealed[name] = this.options.cipher.encrypt(JSON.stringify(value), sealContext(name));
      }
      Object.defineProperty(shown, name, { value: kept, enumerable: true, writable: true });
    }
    return { shown, sealed };
  }

  /** The event with its sealed values opened (those that no longer decrypt stay masked). */
  private open(event: LoggedEvent): LoggedEvent {
    if (!event.sealed || !this.options.cipher) return event;
    const properties = { ...event.properties };
    for (const [name, stored] of Object.entries(event.sealed)) {
      try {
        const value: unknown = JSON.parse(this.options.cipher.decrypt(stored, sealContext(name)));
        Object.defineProperty(properties, name, { value, enumerable: true, writable: true });
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
      }
    }
    return { ...event, properties };
  }
}

export interface EventListOptions {
  /** Received at or after (ms). */
  since?: number;
  /** Received at or before (ms). */
  until?: number;
  limit?: number;
  reveal?: boolean;
}

/** Bound to the property name and to this log, so a sealed value cannot pass for a profile trait. */
function sealContext(name: string): string {
  return `event:${name}`;
}

/**
 * Properties small enough for display: as they are up to PROPERTIES_MAX_CHARS of JSON, else long
 * strings cut and nested values dropped, then whole properties dropped once past the limit.
 */
function fit(properties: Record<string, unknown>): { fitted: Record<string, unknown>; truncated: boolean } {
  if (JSON.stringify(properties).length <= PROPERTIES_MAX_CHARS)
    return { fitted: properties, truncated: false };
  const fitted: Record<string, unknown> = {};
  let size = 2;
  for (const [name, value] of Object.entries(properties)) {
    const kept =
      typeof value === 'string' && value.length > VALUE_MAX_CHARS
        ? `${value.slice(0, VALUE_MAX_CHARS)}…`
        : typeof value === 'object' && value !== null
          ? '[…]'
          : value;
    const added = JSON.stringify(name).length + JSON.stringify(kept ?? null).length + 2;
    if (size + added > PROPERTIES_MAX_CHARS) break;
    size += added;
    Object.defineProperty(fitted, name, { value: kept, enumerable: true, writable: true });
  }
  return { fitted, truncated: true };
}
