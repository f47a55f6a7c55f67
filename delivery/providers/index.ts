import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../customers/keys';
import type { ProviderConfig } from '../channel-config';
import { MiniProgramProvider } from './miniprogram';
import { OutboxProvider } from './outbox';
import type { Provider } from './provider';
import { SmsGatewayProvider } from './sms-gateway';
import { SmtpProvider } from './smtp';
import { WebhookProvider } from './webhook';
import { WeComProvider } from './wecom';

export interface ProviderDeps {
  outboxDir: string;
  /** For state shared by every worker: the WeCom / WeChat access tokens. */
  redis: Redis;
  keys: RedisKeys;
}

export function createProvider(config: ProviderConfig, deps: ProviderDeps): Provider {
  // Access tokens live next to the delivery markers: `<prefix>:delivery:access-token:<app>`.
  const tokenKey = (name: string) => deps.keys.delivery(`access-token:${name}`);
  switch (config.type) {
    case 'outbox':
      return new OutboxProvider(deps.outboxDir);
    case 'webhook':
      return new WebhookProvider(config);
    case 'sms-gateway':
      return new SmsGatewayProvider(config);
    case 'smtp':
      return new SmtpProvider(config);
    case 'wecom':
      return new WeComProvider(config, deps.redis, tokenKey);
    case 'miniprogram':
      return new MiniProgramProvider(config, deps.redis, tokenKey);
  }
}
