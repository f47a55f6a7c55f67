import type { Role } from '../access/permissions';

/** Who did it. `system` for the engine itself (journey files seeded at start), `customer` for unsubscribe links and SMS replies. */
export interface AuditActor {
  name: string;
  /** The API key id, when an API key acted. */
  keyId?: string;
  role: Role | 'system' | 'customer';
  /** `X-Touchpoint-Actor`: the person a shared key acted for, as the caller says. */
  onBehalfOf?: string;
}

/** Where from. */
export interface AuditOrigin {
  ip?: string;
  userAgent?: string;
  /** `api`, `console`, `cli`, `startup`, `unsubscribe-link`, `sms-reply`… */
  via: string;
}

/** One change, or one read of unmasked personal data, as the caller describes it. */
export interface AuditEntryInput {
  actor: AuditActor;
  /** Dotted verb, e.g. `journey.publish`, `consent.change`, `key.rotate`, `run.remove`, `personal-data.read`. */
  action: string;
  /** What was acted on, e.g. `journey:welcome@3`, `customer:c1`, `key:k_abc`, `template:sms/welcome.zh-CN`. */
  target: string;
  reason?: string;
  /** Small, JSON-serialisable facts about the change; never unmasked personal data. */
  detail?: Record<string, unknown>;
  from: AuditOrigin;
}

/** An entry as stored: numbered and chained to the one before it. */
export interface AuditEntry extends AuditEntryInput {
  /** 1, 2, 3… with no gaps. */
  seq: number;
  /** ISO-8601 time the entry was appended. */
  at: string;
  /** `hash` of entry seq-1; 64 zeros for the first. */
  prevHash: string;
  /** SHA-256 (hex) of prevHash and the entry's canonical JSON (every field but `hash`). */
  hash: string;
}

export interface AuditQuery {
  /** Entries with seq > after (paging forward). */
  after?: number;
  /** `desc`: newest first, paging backward with `before`. Default `asc`. */
  order?: 'asc' | 'desc';
  /** With order `desc`: entries with seq < before (default: from the newest). */
  before?: number;
  limit?: number;
  action?: string;
  /** Actor name. */
  actor?: string;
  /** Exact target, or a prefix ending in `*` (`customer:c1`, `journey:welcome*`). */
  target?: string;
  /** ISO-8601 bounds on `at`. */
  since?: string;
  until?: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `after` (as `before` with order `desc`) for the next page; null when there is none. */
  next: number | null;
}

export interface AuditVerification {
  ok: boolean;
  /** Entries checked. */
  entries: number;
  /** seq and hash of the last entry (archive them: a later verify proves nothing was cut off after). */
  head: { seq: number; hash: string } | null;
  /** What is wrong, first problem first: edited, missing or reordered entries, head mismatch. */
  problems: { seq: number; problem: string }[];
}

/** The append-only, hash-chained log of changes and unmasked personal-data reads. */
export interface AuditLog {
  append(input: AuditEntryInput): Promise<AuditEntry>;
  list(query: AuditQuery): Promise<AuditPage>;
  verify(options?: { expectHead?: { seq: number; hash: string } }): Promise<AuditVerification>;
  /** Every entry with seq > after, in order, in pages (for JSONL export). */
  scan(after?: number, pageSize?: number): AsyncIterable<AuditEntry>;
}
