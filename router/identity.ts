import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { IdentityResolver } from '../customers/identity';
import type { IdentityConfig } from '../customers/identity-config';
import type { BlindIndex, IdentifierSealer } from '../customers/identity-keys';
import type { RedisKeys } from '../customers/keys';
import {
  capsParticipant,
  consentParticipant,
  profileParticipant,
  touchesParticipant,
} from '../customers/merge-participants';
import type { ProfileStore } from '../customers/profiles';
import type { EntryAdmission } from './admission';
import { journeysParticipant } from './journey-merge';

export interface IdentitySetup {
  redis: Redis;
  keys: RedisKeys;
  config: IdentityConfig;
  blind: BlindIndex;
  sealer?: IdentifierSealer;
  profiles: ProfileStore;
  logger: Logger;
  /** With these, a merge stops the loser's run of a journey both are in (router/journey-merge.ts). */
  journeys?: {
    temporal: Client;
    admission: Pick<EntryAdmission, 'activeAmong'>;
    journeyIds: () => Iterable<string>;
  };
}

/**
 * The identity resolver the router calls first for every event, with the merge participants of
 * the data this part of Touchpoint keeps: profile traits and tags, consent, frequency-cap
 * counters, the touch index, then journeys. Computed traits and segments register theirs after
 * (`identity.merges.register(...)`), so they see the moved traits.
 */
export function createIdentity(setup: IdentitySetup): IdentityResolver {
  const { redis, keys, logger } = setup;
  const identity = new IdentityResolver({
    redis,
    keys,
    config: setup.config,
    blind: setup.blind,
    sealer: setup.sealer,
    logger,
  });
  identity.merges
    .register(profileParticipant(setup.profiles))
    .register(consentParticipant(redis, keys))
    .register(capsParticipant(redis, keys))
    .register(touchesParticipant(redis, keys));
  if (setup.journeys) {
    identity.merges.register(
      journeysParticipant({ ...setup.journeys, aliasesOf: (id) => identity.aliasesOf(id), logger }),
    );
  }
  return identity;
}
