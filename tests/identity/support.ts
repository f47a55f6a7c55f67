import type { Redis } from 'ioredis';
import pino from 'pino';
import { SignedTokens } from '../../config/signed-tokens';
import { newKeyLine, parseKeyRing, TraitCipher } from '../../customers/encryption';
import type { IdentityResolver } from '../../customers/identity';
import { parseIdentityConfig } from '../../customers/identity-config';
import { cipherBlindIndex, cipherSealer } from '../../customers/identity-keys';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { TouchLog } from '../../customers/touches';
import type { IdentifyEvent, IngestEvent, TrackEvent } from '../../queues/events';
import { createIdentity } from '../../router/identity';
import { createRules, type Rules } from '../../rules';
import { parseRulesConfig } from '../../rules/config';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

export interface IdentityHarness {
  redis: Redis;
  keys: RedisKeys;
  prefix: string;
  cipher: TraitCipher;
  profiles: ProfileStore;
  touches: TouchLog;
  rules: Rules;
  identity: IdentityResolver;
}

/**
 * Identity on real Redis, without journeys: the resolver with its merge participants (profile,
 * consent, caps, touches), the profile store (sensitive traits encrypted) and the rules, all
 * under a prefix of their own. `config`: the `identity:` section.
 */
export function identityHarness(config: Record<string, unknown> = {}): IdentityHarness {
  const redis = testRedis();
  const prefix = uniquePrefix('id');
  const keys = new RedisKeys(prefix);
  const cipher = new TraitCipher(parseKeyRing(newKeyLine('test')), Buffer.from(`${prefix}-blind-index-key`));
  const profiles = new ProfileStore(redis, keys, { cipher });
  const identity = createIdentity({
    redis,
    keys,
    config: parseIdentityConfig(config),
    blind: cipherBlindIndex(cipher),
    sealer: cipherSealer(cipher),
    profiles,
    logger: pino({ level: 'silent' }),
  });
  const rules = createRules({
    redis,
    keys,
    config: parseRulesConfig({
      quietHours: false,
      frequencyCaps: { perChannel: { sms: { day: 5, week: 10 } } },
    }),
    tokens: new SignedTokens(Buffer.from(prefix)),
    publicUrl: 'https://touchpoint.test',
    canonicalCustomer: (id) => identity.canonical(id),
  });
  return { redis, keys, prefix, cipher, profiles, touches: new TouchLog(redis, keys), rules, identity };
}

export async function closeHarness(h: IdentityHarness): Promise<void> {
  await deleteKeys(h.redis, h.prefix);
  await h.redis.quit();
}

let seq = 0;
const times = () => ({ timestamp: new Date().toISOString(), receivedAt: new Date().toISOString() });

/** An identify as ingestion queues it. `who`: userId and/or anonymousId. */
export function identify(
  who: { userId?: string; anonymousId?: string },
  traits: Record<string, unknown>,
  extra: Partial<IdentifyEvent> = {},
): IdentifyEvent {
  return { type: 'identify', ...who, traits, messageId: `idf-${++seq}`, ...times(), ...extra };
}

/** A track as ingestion queues it. */
export function track(
  who: { userId?: string; anonymousId?: string; customerId?: string },
  event: string,
  properties: Record<string, unknown> = {},
  extra: Partial<TrackEvent> = {},
): TrackEvent {
  return { type: 'track', ...who, event, properties, messageId: `trk-${++seq}`, ...times(), ...extra };
}

export type { IngestEvent };
