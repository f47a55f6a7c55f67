import type { Redis } from 'ioredis';
import type { RedisKeys } from '../customers/keys';
import type { Channel } from '../language/types';

export type ConsentStatus = 'granted' | 'revoked';

/** The topic a send step asks for when it names none. */
export const DEFAULT_TOPIC = 'marketing';
/** A record for every topic of a channel (an SMS "TD" reply cannot say which topic it means). */
export const ALL_TOPICS = '*';

export interface ConsentRecord {
  channel: Channel;
  /** A topic slug, or `*` for every topic on the channel. */
  topic: string;
  status: ConsentStatus;
  /** Who recorded it: `api`, `sms-reply`, `unsubscribe-link`, `import`, ... */
  source: string;
  /** ISO-8601 (UTC): when the customer gave or withdrew consent. */
  at: string;
}

export interface ConsentPolicy {
  /** For a customer with no record: `granted` = opt-out model, `denied` = opt-in model. */
  default: 'granted' | 'denied';
}

export interface ConsentDecision {
  allowed: boolean;
  /** The record that decided; absent when the default policy did. */
  record?: ConsentRecord;
}

/**
 * Appends the change to the history, then makes it the current state unless the current record
 * is newer (`at` compared as UTC ISO strings, which sort as times): an import of an old grant
 * must not undo a later opt-out.
 */
const RECORD = `
redis.call('RPUSH', KEYS[2], ARGV[2])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and cjson.decode(current).at > ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/**
 * Consent per customer, channel and topic, in Redis: a hash of the latest record per
 * `<channel>:<topic>` (what sends check) and an append-only list of every change (the audit trail:
 * who, how and when). A send is checked against the latest of its exact topic and the channel's
 * `*` record, so a "TD" reply stops every SMS topic while a later explicit grant of one topic
 * brings back just that topic.
 */
export class ConsentStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    readonly policy: ConsentPolicy,
    /**
     * The customer an id lives on as (identity stitching): an unsubscribe link or an API call
     * naming a customer merged into another records and checks the merged customer's consent.
     */
    private readonly canonical: (customerId: string) => Promise<string> = async (id) => id,
  ) {}

  /** Records a change; `at` defaults to now and is never later than now (see docs/rules.md). */
  async record(
    customerId: string,
    change: Omit<ConsentRecord, 'at'> & { at?: string | Date },
  ): Promise<ConsentRecord> {
    customerId = await this.canonical(customerId);
    const now = Date.now();
    const given = change.at === undefined ? now : new Date(change.at).getTime();
    if (Number.isNaN(given)) throw new Error(`invalid consent time: ${String(change.at)}`);
    // A time in the future would outrank every later change, opt-outs included: cap it at now.
    const at = new Date(Math.min(given, now));
    const record: ConsentRecord = {
      channel: change.channel,
      topic: change.topic,
      status: change.status,
      source: change.source,
      at: at.toISOString(),
    };
    await this.redis.eval(
      RECORD,
      2,
      this.keys.consent(customerId),
      this.keys.consentHistory(customerId),
      field(record.channel, record.topic),
      JSON.stringify(record),
      record.at,
    );
    return record;
  }

  /** Whether a touch on `channel` about `topic` may reach the customer now. */
  async check(customerId: string, channel: Channel, topic: string = DEFAULT_TOPIC): Promise<ConsentDecision> {
    const [exact, all] = await this.redis.hmget(
      this.keys.consent(await this.canonical(customerId)),
      field(channel, topic),
      field(channel, ALL_TOPICS),
    );
    const records = [exact, all].flatMap((raw) => (raw ? [JSON.parse(raw) as ConsentRecord] : []));
    if (records.length === 0) return { allowed: this.policy.default === 'granted' };
    // The customer's latest word wins; at the same instant, a revocation wins.
    const latest = records.reduce((a, b) =>
      b.at > a.at || (b.at === a.at && b.status === 'revoked') ? b : a,
    );
    return { allowed: latest.status === 'granted', record: latest };
  }

  /** The current record of every channel and topic the customer has one for. */
  async current(customerId: string): Promise<ConsentRecord[]> {
    const raw = await this.redis.hvals(this.keys.consent(await this.canonical(customerId)));
    return raw
      .map((r) => JSON.parse(r) as ConsentRecord)
      .sort((a, b) => a.channel.localeCompare(b.channel) || a.topic.localeCompare(b.topic));
  }

  /** Every change, oldest first (the latest `limit`). */
  async history(customerId: string, limit = 1000): Promise<ConsentRecord[]> {
    const raw = await this.redis.lrange(
      this.keys.consentHistory(await this.canonical(customerId)),
      -limit,
      -1,
    );
    return raw.map((r) => JSON.parse(r) as ConsentRecord);
  }
}

function field(channel: string, topic: string): string {
  return `${channel}:${topic}`;
}
