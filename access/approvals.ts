import { sha256Hex } from './key-store';
import { AccessStore, newRecordId } from './keys';

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** A request to publish one exact source of a journey, waiting for (or given) a second person's decision. */
export interface PublishApproval {
  /** `a_…` */
  id: string;
  journeyId: string;
  /** The source to publish, exactly as requested: approving publishes this text and no other. */
  source: string;
  /** SHA-256 (hex) of `source`, to compare with what the approver reviewed. */
  sourceSha256: string;
  format: 'yaml' | 'json';
  note?: string;
  requestedBy: string;
  /** The key the request came with: an approval needs another name and another key. */
  requestedByKeyId: string;
  requestedAt: string;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: string;
  /** The approver's note, or why it was rejected. */
  decisionNote?: string;
  /** The version the approval published. */
  version?: number;
}

/** Why an approval could not be decided: unknown (404), decided already or the requester's own (409). */
export class ApprovalError extends Error {
  constructor(
    readonly kind: 'not_found' | 'decided' | 'same_person',
    message: string,
  ) {
    super(message);
    this.name = 'ApprovalError';
  }
}

/**
 * Decides a pending approval atomically: exactly one decision wins, and the requester (by name or
 * by key) cannot approve their own request. KEYS[1] the approval; ARGV: status, by, at, note,
 * mayBeRequester, byKeyId.
 */
const DECIDE = `
local current = redis.call('HMGET', KEYS[1], 'status', 'requestedBy', 'requestedByKeyId')
if not current[1] then return 'not_found' end
if current[1] ~= 'pending' then return current[1] end
if ARGV[5] ~= '1' and (current[2] == ARGV[2] or current[3] == ARGV[6]) then return 'same_person' end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decidedBy', ARGV[2], 'decidedAt', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'decisionNote', ARGV[4]) end
return 'ok'
`;

/** Undoes an approval whose publish failed, so it can be decided again. KEYS[1]; ARGV: by. */
const REOPEN = `
if redis.call('HGET', KEYS[1], 'status') == 'approved' and redis.call('HGET', KEYS[1], 'decidedBy') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'status', 'pending')
  redis.call('HDEL', KEYS[1], 'decidedBy', 'decidedAt', 'decisionNote')
  return 1
end
return 0
`;

/** Four-eyes publishing: requests to publish a journey source, approved or rejected by someone else. */
export class PublishApprovals extends AccessStore {
  async request(input: {
    journeyId: string;
    source: string;
    format: 'yaml' | 'json';
    note?: string;
    requestedBy: string;
    requestedByKeyId: string;
  }): Promise<PublishApproval> {
    const now = this.now();
    const approval: PublishApproval = {
      id: newRecordId('a'),
      journeyId: input.journeyId,
      source: input.source,
      sourceSha256: sha256Hex(input.source),
      format: input.format,
      ...(input.note ? { note: input.note } : {}),
      requestedBy: input.requestedBy,
      requestedByKeyId: input.requestedByKeyId,
      requestedAt: now.toISOString(),
      status: 'pending',
    };
    await this.redis
      .multi()
      .hset(this.keys.approval(approval.id), approval as unknown as Record<string, string>)
      .zadd(this.keys.approvals(), now.getTime(), approval.id)
      .exec();
    return approval;
  }

  async get(id: string): Promise<PublishApproval | undefined> {
    const raw = await this.redis.hgetall(this.keys.approval(id));
    if (!raw.id) return undefined;
    const { version, ...rest } = raw;
    return { ...(rest as unknown as PublishApproval), ...(version ? { version: Number(version) } : {}) };
  }

  /** Newest first, optionally only those with `status`. */
  async list(options: { status?: ApprovalStatus; limit?: number } = {}): Promise<PublishApproval[]> {
    const limit = options.limit ?? 50;
    const found: PublishApproval[] = [];
    const ids = await this.redis.zrevrange(this.keys.approvals(), 0, -1);
    for (const id of ids) {
      const approval = await this.get(id);
      if (approval && (!options.status || approval.status === options.status)) found.push(approval);
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * Marks a pending approval approved by `by` (who must not be the requester, nor hold the key the
   * request came with), atomically, so two approvers cannot both publish it. The caller then
   * publishes; if that fails, `reopen`.
   */
  async approve(id: string, by: { name: string; keyId: string }, note?: string): Promise<PublishApproval> {
    await this.decide(id, 'approved', by, note, false);
    return (await this.get(id))!;
  }

  /** Rejects a pending approval (the requester may withdraw their own). */
  async reject(id: string, by: { name: string; keyId: string }, reason: string): Promise<PublishApproval> {
    await this.decide(id, 'rejected', by, reason, true);
    return (await this.get(id))!;
  }

  /** Back to pending after the approved publish failed (nothing was published). */
  async reopen(id: string, by: string): Promise<void> {
    await this.redis.eval(REOPEN, 1, this.keys.approval(id), by);
  }

  /** Records the version the approval published. */
  async published(id: string, version: number): Promise<void> {
    await this.redis.hset(this.keys.approval(id), 'version', String(version));
  }

  private async decide(
    id: string,
    status: 'approved' | 'rejected',
    by: { name: string; keyId: string },
    note: string | undefined,
    mayBeRequester: boolean,
  ): Promise<void> {
    const outcome = (await this.redis.eval(
      DECIDE,
      1,
      this.keys.approval(id),
      status,
      by.name,
      this.now().toISOString(),
      note ?? '',
      mayBeRequester ? '1' : '0',
      by.keyId,
    )) as string;
    if (outcome === 'ok') return;
    if (outcome === 'not_found') throw new ApprovalError('not_found', `no approval ${JSON.stringify(id)}`);
    if (outcome === 'same_person')
      throw new ApprovalError(
        'same_person',
        `${by.name} (key ${by.keyId}) made this request; another person, with a key of their own and journeys:publish, must approve it`,
      );
    throw new ApprovalError('decided', `approval ${id} is ${outcome} already; an approval is used once`);
  }
}
