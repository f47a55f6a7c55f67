import type { ProviderConfig } from '../channel-config';
import { OutboxProvider } from './outbox';
import type { Provider } from './provider';
import { WebhookProvider } from './webhook';

export function createProvider(config: ProviderConfig, outboxDir: string): Provider {
  switch (config.type) {
    case 'outbox':
      return new OutboxProvider(outboxDir);
    case 'webhook':
      return new WebhookProvider(config);
  }
}
