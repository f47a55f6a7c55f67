import type { Redis } from 'ioredis';
import { ComputedTraits } from '../../customers/computed-traits';
import { newKeyLine, parseKeyRing, TraitCipher } from '../../customers/encryption';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { parseProfilesConfig, type ProfilesConfig } from '../../customers/profiles-config';
import { RfmModelStore } from '../../customers/rfm';
import type { JourneyEvent } from '../../language/types';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

export const DAY = 86_400_000;

/** A fresh cipher: one key `id` (random bytes) and a random blind index key. */
export function testCipher(...ids: string[]): TraitCipher {
  return new TraitCipher(
    parseKeyRing((ids.length ? ids : ['k1']).map((id) => newKeyLine(id)).join(',')),
    Buffer.alloc(32, 7),
  );
}

/** Profiles on the test Redis under a unique prefix: store (encrypted), computed traits, clock. */
export async function profilesHarness(
  section: Record<string, unknown> = {},
  clock = { now: Date.parse('2025-06-01T00:00:00Z') },
) {
  const redis: Redis = testRedis();
  const prefix = uniquePrefix('prof');
  const keys = new RedisKeys(prefix);
  const config: ProfilesConfig = parseProfilesConfig(section);
  const cipher = testCipher();
  const profiles = new ProfileStore(redis, keys, { cipher, sensitive: config.sensitive });
  const rfm = new RfmModelStore(redis, keys, config.rfm, 0);
  const computed = new ComputedTraits({ redis, keys, profiles, config, rfm, now: () => clock.now });
  let seq = 0;
  const event = (
    name: string,
    properties: Record<string, unknown> = {},
    extra: Partial<JourneyEvent> = {},
  ): JourneyEvent => ({
    messageId: `m-${++seq}`,
    event: name,
    properties,
    timestamp: new Date(clock.now).toISOString(),
    ...extra,
  });
  return {
    redis,
    prefix,
    keys,
    config,
    cipher,
    profiles,
    rfm,
    computed,
    clock,
    event,
    async close() {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}
