import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { IngestEvent } from '../queues/events';
import type { CustomerResolver } from '../router/customer-pipeline';
import type { IdentityConfig } from './identity-config';
import { indexedIdentifier, type BlindIndex, type IdentifierSealer } from './identity-keys';
import { RESOLVE } from './identity-script';
import {
  IDENTIFIER_TYPES,
  identifiersOf,
  newCustomerId,
  normaliseIdentifier,
  PERSON_TYPES,
  SENSITIVE_TYPES,
  type Identifier,
  type IdentifierType,
} from './identifiers';
import type { RedisKeys } from './keys';
import { CustomerMerges, parseMergeRecord, type MergeRecord } from './merge';

/**
 * Identity stitching (docs/identity.md): one customer per person across channels.
 *
 * A customer is known by identifiers (customers/identifiers.ts). Each identifier belongs to at
 * most one customer (the index `identifier → customer`); each customer lists its identifiers.
 * For a public event (track, identify), one atomic script (customers/identity-script.ts):
 * 1. finds the customer of each of the event's identifiers (following aliases); an unheld userId
 *    stands for a customer named after it: a userId is always a customer of its own;
 * 2. refuses, lowest priority first, identifiers that would break a limit: merging more than
 *    `maxCustomersPerIdentifier` customers known by a personal identifier (a shared store phone),
 *    or more than `maxIdentifiersPerType` of one type on one customer. A refused identifier stays
 *    with the customer it has; the conflict is recorded (admin API) and counted;
 * 3. no customer: a new one (its id: customers/identifiers.ts newCustomerId); one: that one;
 *    several: they merge into the winner (named after a userId, else the earliest created) and
 *    the others become its aliases;
 * 4. links the identifiers nobody held to the customer.
 * Then the merges' data moves (customers/merge.ts). Internal events (delivery outcomes,
 * enrolments, schedule ticks, segment changes: `customerId` set) and enrolments only follow
 * aliases and never change the graph.
 *
 * Idempotent per message: a retried job finds its identifiers linked and its customers merged,
 * and conflicts are recorded once per (message, identifier).
 */
export interface IdentityDeps {
  redis: Redis;
  keys: RedisKeys;
  config: IdentityConfig;
  /** Blind index of phone and email (customers/identity-keys.ts; the profiles' cipher in production). */
  blind: BlindIndex;
  /** Keeps sensitive identifiers readable (encrypted) for the admin API; without it only their blind index. */
  sealer?: IdentifierSealer;
  logger: Logger;
  /** Where merge participants register; one is made when not given. */
  merges?: CustomerMerges;
}

/** What resolving one event did (the router needs only `customerId`; tests and benchmarks the rest). */
export interface Resolution {
  customerId: string;
  /** A customer was created for this event. */
  created: boolean;
  /** Customers merged into `customerId` by this event. */
  merged: string[];
  /** Identifiers newly linked. */
  linked: number;
  /** Kinds of the conflicts (refused identifiers) of this event. */
  conflicts: string[];
}

/** One identifier of a customer as the admin API shows it. */
export interface CustomerIdentifier {
  type: IdentifierType;
  /** The value (sensitive ones: only when sealed, for the caller to mask). */
  value?: string;
  /** The blind index of a sensitive identifier whose value is not kept. */
  blindIndex?: string;
  linkedAt?: string;
}

export interface CustomerIdentity {
  id: string;
  /** When the identity graph first saw the customer (ISO); absent for a profile it has not seen. */
  createdAt?: string;
  /** The identifier type the customer was named after. */
  origin?: string;
  identifiers: CustomerIdentifier[];
  /** Ids merged into this customer. */
  aliases: string[];
}

export interface IdentityConflict {
  at: string;
  messageId: string;
  kind: 'customersPerIdentifier' | 'identifiersPerType';
  limit: number;
  identifier: CustomerIdentifier;
  /** The customer the event resolved to. */
  customer: string;
  /** The customer the identifier stays with (none: it was a new link refused). */
  holder?: string;
  /** The customers the event's identifiers pointed at. */
  customers: string[];
}

export interface MergeHistoryEntry {
  id: string;
  at: string;
  messageId: string;
  winner: string;
  loser: string;
  loserAliases: string[];
  /** The identifiers that linked them. */
  via: CustomerIdentifier[];
  /** Whether the data has been moved (false: pending, finished by the next event). */
  completed: boolean;
}

/** How long a conflict's dedupe marker lives: as long as a retried job can come back. */
const CONFLICT_MARKER_TTL_SECONDS = 7 * 24 * 3600;
/** Conflicts kept per customer and in the installation's log. */
const CONFLICTS_KEPT = 100;

const RESOLVE_COMMAND = 'touchpointIdentityResolve';
type ResolveCommand = (...args: (string | number)[]) => Promise<string>;

export class IdentityResolver implements CustomerResolver {
  readonly merges: CustomerMerges;
  private readonly linking: ReadonlySet<string>;
  private readonly limits: string;

  constructor(private readonly deps: IdentityDeps) {
    this.merges = deps.merges ?? new CustomerMerges(deps.redis, deps.keys, deps.logger);
    this.linking = new Set(deps.config.linkingEvents);
    this.limits = JSON.stringify(deps.config.maxIdentifiersPerType);
    // EVALSHA with a fallback to EVAL: the script is sent once per connection, not per event.
    if (!(RESOLVE_COMMAND in deps.redis))
      deps.redis.defineCommand(RESOLVE_COMMAND, { lua: RESOLVE, numberOfKeys: 0 });
  }

  /** The canonical customer of an ingested event (CustomerResolver). */
  async resolve(event: IngestEvent): Promise<string> {
    return (await this.resolveDetailed(event)).customerId;
  }

  async resolveDetailed(event: IngestEvent): Promise<Resolution> {
    const internal = event.customerId ?? (event.type === 'enrol' ? event.userId : undefined);
    if (internal !== undefined) return this.unchanged(await this.canonical(internal));
    const identifiers = identifiersOf(event, this.linking);
    const fallback = event.userId ?? `anon:${event.anonymousId}`;
    if (identifiers.length === 0) return this.unchanged(await this.canonical(fallback));
    const blind = (i: Identifier) => this.deps.blind.hmac(i.type, i.value);
    const names = NAMING_RANK;
    const args = identifiers.map((i) => ({
      t: i.type,
      f: indexedIdentifier(i, this.deps.blind),
      s: SENSITIVE_TYPES.has(i.type) && this.deps.sealer ? this.deps.sealer.seal(i.value) : '',
      p: PERSON_TYPES.has(i.type) ? 1 : 0,
      n: newCustomerId([i], blind)!,
      r: names.indexOf(i.type),
      u: i.type === 'userId' && i.value === event.userId ? 1 : 0,
    }));
    const { keys, redis } = this.deps;
    const raw = await (redis as unknown as Record<string, ResolveCommand>)[RESOLVE_COMMAND]!(
      keys.identityBase(),
      keys.counted(''),
      Date.now(),
      event.messageId,
      JSON.stringify(args),
      this.deps.config.maxCustomersPerIdentifier,
      this.limits,
      CONFLICT_MARKER_TTL_SECONDS,
      CONFLICTS_KEPT,
    );
    const out = JSON.parse(raw) as {
      customer: string | false;
      created: boolean;
      merged: string[] | Record<string, never>;
      linked: number;
      conflicts: string[] | Record<string, never>;
      pending: string[] | Record<string, never>;
    };
    if (out.customer === false) return this.unchanged(await this.canonical(fallback));
    const list = (v: string[] | Record<string, never>): string[] => (Array.isArray(v) ? v : []);
    const resolution: Resolution = {
      customerId: out.customer,
      created: out.created,
      merged: list(out.merged),
      linked: out.linked,
      conflicts: list(out.conflicts),
    };
    if (resolution.conflicts.length > 0)
      this.deps.logger.warn(
        { messageId: event.messageId, customerId: out.customer, conflicts: resolution.conflicts },
        'identity conflict: identifier refused',
      );
    const pending = list(out.pending);
    if (pending.length > 0) await this.merges.complete(pending, (id) => this.canonical(id));
    return resolution;
  }

  private unchanged(customerId: string): Resolution {
    return { customerId, created: false, merged: [], linked: 0, conflicts: [] };
  }

  /** The customer an id lives on as: the winner it was merged into, else itself. */
  async canonical(customerId: string): Promise<string> {
    return (await this.deps.redis.hget(this.deps.keys.identityAliases(), customerId)) ?? customerId;
  }

  /** The ids merged into the customer (their runs are still the customer's), sorted. */
  async aliasesOf(customerId: string): Promise<string[]> {
    return (await this.deps.redis.smembers(this.deps.keys.identityAliasesOf(customerId))).sort();
  }

  /** The customer holding an identifier (raw value, normalised here), canonical; undefined: none. */
  async lookup(type: IdentifierType, raw: string): Promise<string | undefined> {
    const value = normaliseIdentifier(type, raw);
    if (value === undefined) return undefined;
    const holder = await this.deps.redis.hget(
      this.deps.keys.identityIndex(indexedIdentifier({ type, value }, this.deps.blind)),
      'c',
    );
    return holder === null ? undefined : this.canonical(holder);
  }

  /** The customer's identity (undefined when the graph has never seen it). */
  async customer(customerId: string): Promise<CustomerIdentity | undefined> {
    const { redis, keys } = this.deps;
    const [meta, ids, aliases] = await Promise.all([
      redis.hgetall(keys.identityMeta(customerId)),
      redis.hgetall(keys.identityIdentifiers(customerId)),
      this.aliasesOf(customerId),
    ]);
    if (!meta.createdAt) return undefined;
    const identifiers = Object.entries(ids)
      .map(([field, json]) => {
        const entry = JSON.parse(json) as { at?: number; s?: string };
        return this.showIdentifier(field, entry.s, entry.at);
      })
      .sort(
        (a, b) =>
          IDENTIFIER_TYPES.indexOf(a.type) - IDENTIFIER_TYPES.indexOf(b.type) ||
          (a.linkedAt ?? '').localeCompare(b.linkedAt ?? ''),
      );
    return {
      id: customerId,
      createdAt: new Date(Number(meta.createdAt)).toISOString(),
      ...(meta.origin ? { origin: meta.origin } : {}),
      identifiers,
      aliases,
    };
  }

  /**
   * The customer's merges (as winner or loser, and those of the ids merged into it) and the
   * identity conflicts touching any of them, oldest first.
   */
  async history(customerId: string): Promise<{ merges: MergeHistoryEntry[]; conflicts: IdentityConflict[] }> {
    const { redis, keys } = this.deps;
    const ids = [customerId, ...(await this.aliasesOf(customerId))];
    const lists = await Promise.all(
      ids.flatMap((id) => [
        redis.lrange(keys.identityMerges(id), 0, -1),
        redis.lrange(keys.identityConflicts(id), 0, -1),
      ]),
    );
    const merges = [...new Set(lists.filter((_, i) => i % 2 === 0).flat())];
    const conflicts = [...new Set(lists.filter((_, i) => i % 2 === 1).flat())];
    const records = merges.map((raw) => ({ raw, record: parseMergeRecord(raw) }));
    const pending = new Set<string>();
    for (const winner of new Set(await Promise.all(records.map((r) => this.canonical(r.record.winner))))) {
      for (const raw of await redis.smembers(keys.identityPending(winner))) pending.add(raw);
    }
    return {
      merges: records
        .map(({ raw, record }) => this.showMerge(record, !pending.has(raw)))
        .sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id)),
      conflicts: conflicts.map((raw) => this.showConflict(raw)).sort((a, b) => a.at.localeCompare(b.at)),
    };
  }

  /** The installation's identity counters (`customers`, `merges`, `conflicts`, `conflicts:<kind>`). */
  async stats(): Promise<Record<string, number>> {
    const raw = await this.deps.redis.hgetall(this.deps.keys.identityStats());
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }

  /** The latest conflicts of the installation, newest first. */
  async recentConflicts(limit = 50): Promise<IdentityConflict[]> {
    const raw = await this.deps.redis.lrange(this.deps.keys.identityConflictLog(), 0, limit - 1);
    return raw.map((r) => this.showConflict(r));
  }

  private showMerge(record: MergeRecord, completed: boolean): MergeHistoryEntry {
    return {
      id: record.id,
      at: new Date(record.at).toISOString(),
      messageId: record.messageId,
      winner: record.winner,
      loser: record.loser,
      loserAliases: record.loserAliases,
      via: record.via.map((v) => this.showIdentifier(v.f, v.s)),
      completed,
    };
  }

  private showConflict(raw: string): IdentityConflict {
    const c = JSON.parse(raw) as {
      at: number;
      messageId: string;
      kind: IdentityConflict['kind'];
      limit: number;
      identifier: { f: string; s?: string };
      customer: string;
      holder: string | false;
      customers: string[] | Record<string, never>;
    };
    return {
      at: new Date(c.at).toISOString(),
      messageId: c.messageId,
      kind: c.kind,
      limit: c.limit,
      identifier: this.showIdentifier(c.identifier.f, c.identifier.s),
      customer: c.customer,
      ...(c.holder ? { holder: c.holder } : {}),
      customers: Array.isArray(c.customers) ? c.customers : [],
    };
  }

  /** An indexed identifier (`<type>:<value>`) as shown: the value, or the blind index when not sealed. */
  private showIdentifier(field: string, sealed?: string, at?: number): CustomerIdentifier {
    const colon = field.indexOf(':');
    const type = field.slice(0, colon) as IdentifierType;
    const stored = field.slice(colon + 1);
    const linkedAt = at === undefined ? {} : { linkedAt: new Date(at).toISOString() };
    if (!SENSITIVE_TYPES.has(type)) return { type, value: stored, ...linkedAt };
    if (sealed && this.deps.sealer) {
      try {
        return { type, value: this.deps.sealer.open(sealed), ...linkedAt };
      } catch (err) {
        // A key rotated away: the identifier still works (its blind index), only its text is lost.
        this.deps.logger.warn({ err: (err as Error).message, type }, 'sealed identifier unreadable');
      }
    }
    return { type, blindIndex: stored, ...linkedAt };
  }
}

/** The order in which identifiers name a new customer (customers/identifiers.ts newCustomerId). */
const NAMING_RANK: readonly IdentifierType[] = [
  'userId',
  'anonymousId',
  'memberId',
  'phone',
  'email',
  'unionId',
  'openId',
  'deviceId',
];
