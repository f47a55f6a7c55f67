/** Touchpoint's own Redis keys, in one place so their layout is easy to see and to change. */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  /** Hash: trait name → JSON value. */
  profile(customerId: string): string {
    return `${this.prefix}:profile:${customerId}`;
  }

  /**
   * String: the trait values an identify found before it merged (JSON list), kept a week, so that a
   * retried identify job reports the same changed traits instead of none.
   */
  identifyMerged(messageId: string): string {
    return `${this.prefix}:identify-merged:${messageId}`;
  }

  /** Set: the customer's tags (`tag` / `untag` steps); journeys see them as the `tags` trait. */
  profileTags(customerId: string): string {
    return `${this.prefix}:profile-tags:${customerId}`;
  }

  /** String: a `notify` step's alert with this idempotency key is being sent / was sent (JSON). */
  notified(idempotencyKey: string): string {
    return `${this.prefix}:notified:${idempotencyKey}`;
  }

  /** Sorted set of touch idempotency keys by time: the customer's touch history. */
  customerTouches(customerId: string): string {
    return `${this.prefix}:customer:${customerId}:touches`;
  }

  /** Hash: one touch (what, to whom, status), keyed by its idempotency key. */
  touch(idempotencyKey: string): string {
    return `${this.prefix}:touch:${idempotencyKey}`;
  }

  /** String: delivery state of one message (`sending` | `sent`): the at-most-once guard. */
  delivery(idempotencyKey: string): string {
    return `${this.prefix}:delivery:${idempotencyKey}`;
  }

  /** String: the idempotency key of the message a channel's gateway knows by this id (receipts). */
  providerMessage(channel: string, providerMessageId: string): string {
    return `${this.prefix}:provider-message:${channel}:${providerMessageId}`;
  }

  /** String with a short TTL: one delivery attempt of this message is under way. */
  deliveryLease(idempotencyKey: string): string {
    return `${this.prefix}:delivery-lease:${idempotencyKey}`;
  }

  /** Hash: counters of one journey version (entered, converted, step:<id>:sent...). */
  journeyStats(journeyId: string, version: number): string {
    return `${this.prefix}:stats:${journeyId}:v${version}`;
  }

  /** Set: customers in the journey right now (admitted, run not ended): its entry limit. */
  journeyActive(journeyId: string): string {
    return `${this.prefix}:entry:active:${journeyId}`;
  }

  /** Hash: customerId → `<entry ms> <messageId>` of the customer's latest entry (re-entry rule). */
  journeyEntries(journeyId: string): string {
    return `${this.prefix}:entry:last:${journeyId}`;
  }

  /** Set: the journeys (not capExempt) the customer is in right now: the per-customer cap. */
  customerJourneys(customerId: string): string {
    return `${this.prefix}:customer:${customerId}:journeys`;
  }

  /** String: marks that a counter was already bumped for a key. */
  counted(key: string): string {
    return `${this.prefix}:counted:${key}`;
  }

  /** String: an ingested message the router has fully processed. */
  processedEvent(messageId: string): string {
    return `${this.prefix}:processed:${messageId}`;
  }

  /** Hash: `<channel>:<topic>` → the customer's latest consent record (JSON), see rules/consent.ts. */
  consent(customerId: string): string {
    return `${this.prefix}:consent:${customerId}`;
  }

  /** List: every consent change of the customer, oldest first (append-only). */
  consentHistory(customerId: string): string {
    return `${this.prefix}:consent-history:${customerId}`;
  }

  /** Set: ids of customers whose `phone` trait is this (normalised) number. */
  customersByPhone(phone: string): string {
    return `${this.prefix}:phone:${phone}`;
  }

  /**
   * Set: ids of customers whose `phone` trait is the number with this blind index (an HMAC, see
   * customers/encryption.ts): the phone index once encryption is on, no number in the key name.
   */
  customersByBlindPhone(blindIndex: string): string {
    return `${this.prefix}:phone-bi:${blindIndex}`;
  }

  /**
   * Hash: the customer's counted orders, order key (`id:<orderId>`, else `msg:<messageId>`) →
   * `<amount>|<ISO time>|<message tag>|<changed mask>|<categories JSON>`: the same order reported twice counts
   * once, and merging two customers recomputes their order traits exactly.
   */
  customerOrders(customerId: string): string {
    return `${this.prefix}:orders:${customerId}`;
  }

  /** Hash: category → number of the customer's orders in it (preferredCategories). */
  customerCategories(customerId: string): string {
    return `${this.prefix}:order-categories:${customerId}`;
  }

  /** String: the RFM model of the last recompute (JSON: when, population, per-dimension histograms). */
  rfmModel(): string {
    return `${this.prefix}:rfm:model`;
  }

  /**
   * Hash: encryption key id → a check value of the key's bytes (an HMAC, not the key), so a process
   * started with different bytes under a known id refuses to start instead of writing values the
   * others cannot read.
   */
  encryptionKeyChecks(): string {
    return `${this.prefix}:profiles:key-checks`;
  }

  /** String: where `touchpoint profiles reencrypt` is in its SCAN (JSON), so a rerun resumes there. */
  reencryptProgress(): string {
    return `${this.prefix}:profiles:reencrypt`;
  }

  /** String counter: a customer's marketing touches in one cap period (`all` or a channel; `d:…`/`w:…`). */
  capCounter(customerId: string, scope: string, period: string): string {
    return `${this.prefix}:cap:${customerId}:${scope}:${period}`;
  }

  /** String: the touch with this idempotency key already counted against the frequency caps. */
  capCounted(idempotencyKey: string): string {
    return `${this.prefix}:cap-counted:${idempotencyKey}`;
  }

  /** String counter: the journey registry's revision, bumped on every change (catalogs reload on it). */
  registryRevision(): string {
    return `${this.prefix}:registry:revision`;
  }

  /** Set: the ids of every journey in the registry (drafts included). */
  registryJourneys(): string {
    return `${this.prefix}:registry:journeys`;
  }

  /** Hash: one journey's lifecycle state: `status`, `latest` (version, 0 = none), `updatedAt`, `draftSha`. */
  registryJourney(journeyId: string): string {
    return `${this.prefix}:registry:journey:${journeyId}`;
  }

  /** Hash: version number → the published Journey (JSON), immutable once written. */
  registryVersions(journeyId: string): string {
    return `${this.prefix}:registry:journey:${journeyId}:versions`;
  }

  /** Hash: version number → its release record (source text, format, who/when/note; JSON). */
  registryReleases(journeyId: string): string {
    return `${this.prefix}:registry:journey:${journeyId}:releases`;
  }

  /** String: the journey's working draft (JSON: source, format, who/when, issues). */
  registryDraft(journeyId: string): string {
    return `${this.prefix}:registry:journey:${journeyId}:draft`;
  }

  /** List: the journey's lifecycle log, oldest first (JSON entries; append-only). */
  registryHistory(journeyId: string): string {
    return `${this.prefix}:registry:journey:${journeyId}:history`;
  }

  /**
   * Identity graph (customers/identity.ts). Every identity key starts with this; the resolve
   * script builds its keys from it (they depend on what it reads), so the layout below is the
   * one place both agree on: `id:<type>:<value>` (hash: `c` the customer holding the identifier,
   * `at`), `meta:<customer>` (hash: createdAt, origin, persons, mergedInto, mergedAt),
   * `ids:<customer>` (hash: identifier → JSON), `aliases` (hash: merged-away id → winner),
   * `aliases-of:<customer>` (set), `merges:<customer>` and `conflicts:<customer>` (lists, JSON),
   * `pending:<customer>` (set: merges decided whose data has not moved yet), `conflicts` (list,
   * latest first, capped), `stats` (hash of counters). The kind comes before the customer id, as
   * ids are free-form and may contain `:`.
   */
  identityBase(): string {
    return `${this.prefix}:identity:`;
  }

  /** Hash: one identifier (`<type>:<value>`, sensitive values as their blind index): `c` its customer, `at`. */
  identityIndex(identifier: string): string {
    return `${this.identityBase()}id:${identifier}`;
  }

  /** Hash: a customer's identity record: `createdAt` (ms), `origin` (identifier type), `persons`, `mergedInto`, `mergedAt`. */
  identityMeta(customerId: string): string {
    return `${this.identityBase()}meta:${customerId}`;
  }

  /** Hash: the customer's identifiers, `<type>:<value>` → JSON `{ at, sealed? }`. */
  identityIdentifiers(customerId: string): string {
    return `${this.identityBase()}ids:${customerId}`;
  }

  /** Hash: merged-away customer id → the customer it lives on as (always the final winner). */
  identityAliases(): string {
    return `${this.identityBase()}aliases`;
  }

  /** Set: the customer ids merged into this customer. */
  identityAliasesOf(customerId: string): string {
    return `${this.identityBase()}aliases-of:${customerId}`;
  }

  /** List: the merges the customer took part in (as winner or loser), oldest first (JSON). */
  identityMerges(customerId: string): string {
    return `${this.identityBase()}merges:${customerId}`;
  }

  /** List: identity conflicts (refused links and merges) touching the customer, oldest first (JSON, capped). */
  identityConflicts(customerId: string): string {
    return `${this.identityBase()}conflicts:${customerId}`;
  }

  /** Set: merges into this customer decided but whose data has not been moved yet (JSON records). */
  identityPending(customerId: string): string {
    return `${this.identityBase()}pending:${customerId}`;
  }

  /** List: the latest identity conflicts of the installation, newest first (JSON, capped). */
  identityConflictLog(): string {
    return `${this.identityBase()}conflicts`;
  }

  /** Hash: identity counters: `customers`, `merges`, `conflicts`, `conflicts:<kind>`. */
  identityStats(): string {
    return `${this.identityBase()}stats`;
  }

  /** Hash: merge participant name → when it finished moving the merge's data. */
  identityMergeProgress(mergeId: string): string {
    return `${this.identityBase()}merge-progress:${mergeId}`;
  }

  /** String with a TTL: one worker is moving the merge's data (the others wait for it). */
  identityMergeLease(mergeId: string): string {
    return `${this.identityBase()}merge-lease:${mergeId}`;
  }
}
