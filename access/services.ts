import type { Redis } from 'ioredis';
import { PublishApprovals } from './approvals';
import type { PublishApprovalMode } from './config';
import { KeyStore } from './key-store';
import { ConsoleSessions } from './sessions';

/** What the API needs for keys beyond the bootstrap ones, console sessions and four-eyes publishing. */
export interface AccessServices {
  keyStore: KeyStore;
  sessions: ConsoleSessions;
  approvals: PublishApprovals;
  publishApproval: PublishApprovalMode;
}

/** All three on one Redis connection under the installation's key prefix. */
export function createAccessServices(options: {
  redis: Redis;
  keyPrefix: string;
  /** The installation secret (config/signed-tokens.ts); sessions sign with a key derived from it. */
  secret: Buffer;
  publishApproval?: PublishApprovalMode;
}): AccessServices {
  const { redis, keyPrefix, secret } = options;
  return {
    keyStore: new KeyStore(redis, keyPrefix),
    sessions: new ConsoleSessions(redis, keyPrefix, secret),
    approvals: new PublishApprovals(redis, keyPrefix),
    publishApproval: options.publishApproval ?? 'none',
  };
}
