import type { Channel } from '../language/types';

/**
 * Which trait holds a customer's address on each channel. Push and webhook fall back to the
 * customer id: push providers address devices by an alias set to the user id, and a webhook
 * receiver identifies the customer by id.
 */
const ADDRESS_TRAITS: Record<Channel, string[]> = {
  sms: ['phone'],
  email: ['email'],
  wecom: ['wecomExternalUserId', 'wecomUserId'],
  miniprogram: ['openId', 'wechatOpenId'],
  push: ['pushToken'],
  webhook: [],
};

export function addressFor(
  channel: Channel,
  customerId: string,
  traits: Record<string, unknown>,
): string | undefined {
  for (const trait of ADDRESS_TRAITS[channel]) {
    const value = Object.prototype.hasOwnProperty.call(traits, trait) ? traits[trait] : undefined;
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    if (typeof value === 'number') return String(value);
  }
  return channel === 'push' || channel === 'webhook' ? customerId : undefined;
}
