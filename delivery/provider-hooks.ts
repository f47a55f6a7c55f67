import type { DeliveryMessage } from './message';
import type { DeliveryOutcomes } from './outcomes';
import type { Provider, SentMessage } from './providers/provider';
import type { LinkTracker } from './tracking';

export interface DeliveryHooks {
  tracking?: LinkTracker;
  outcomes?: DeliveryOutcomes;
}

/**
 * The provider as the delivery worker calls it, with Touchpoint's hooks around the send: just
 * before it, the message's links are tracked (delivery/tracking.ts); just after it, the gateway's
 * message id, when the provider returns one, is remembered so that receipts can name it.
 */
export function withDeliveryHooks(provider: Provider, hooks: DeliveryHooks): Provider {
  if (!hooks.tracking && !hooks.outcomes) return provider;
  return {
    name: provider.name,
    async send(message: DeliveryMessage): Promise<SentMessage | void> {
      const sent = await provider.send(hooks.tracking ? hooks.tracking.rewrite(message) : message);
      if (sent && sent.providerMessageId)
        await hooks.outcomes?.linkProviderMessage(message, sent.providerMessageId);
      return sent;
    },
    ...(provider.wasDelivered && {
      wasDelivered: (message: DeliveryMessage) => provider.wasDelivered!(message),
    }),
  };
}
