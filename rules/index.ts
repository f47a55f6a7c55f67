import type { Redis } from 'ioredis';
import type { SignedTokens } from '../config/signed-tokens';
import type { RedisKeys } from '../customers/keys';
import type { RulesConfig } from './config';
import { ConsentStore } from './consent';
import { FrequencyCaps } from './frequency-caps';
import { TouchRules } from './touch-rules';
import { UnsubscribeLinks } from './unsubscribe';

export interface Rules {
  config: RulesConfig;
  consent: ConsentStore;
  caps: FrequencyCaps;
  links: UnsubscribeLinks;
  /** What the send activity asks (activities/send-message.ts). */
  touch: TouchRules;
}

/** The rules' stores on one Redis connection, for the send activity and the API alike. */
export function createRules(options: {
  redis: Redis;
  keys: RedisKeys;
  config: RulesConfig;
  tokens: SignedTokens;
  /** Settings.publicUrl: where unsubscribe links point. */
  publicUrl: string;
  /** The customer an id lives on as after merges (identity stitching); consent follows it. */
  canonicalCustomer?: (customerId: string) => Promise<string>;
}): Rules {
  const { redis, keys, config } = options;
  const consent = new ConsentStore(redis, keys, config.consent, options.canonicalCustomer);
  const caps = new FrequencyCaps(redis, keys, config.frequencyCaps);
  const links = new UnsubscribeLinks(options.tokens, options.publicUrl);
  return { config, consent, caps, links, touch: new TouchRules(config, consent, caps, links) };
}
