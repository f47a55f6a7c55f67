import type { Redis } from 'ioredis';
import type { RedisKeys } from '../customers/keys';
import type { DeliveryMessage } from './message';
import type { Provider } from './providers/provider';

/** How long a delivery marker outlives the send: longer than any retry or replay could come. */
const MARKER_TTL_SECONDS = 90 * 24 * 3600;

export type DeliveryResult = 'sent' | 'already-sent';

/**
 * Sends a message at most once per idempotency key, whatever happens around it: the same job
 * added twice, a retried activity re-adding it after the first job was cleaned up, a worker
 * killed mid-send. A marker goes `sending` before the provider is called and `sent` after; a
 * marker found at `sending` means an earlier attempt died in between, and the provider is asked
 * whether that attempt got out before anything is sent again.
 */
export async function deliverOnce(
  redis: Redis,
  keys: RedisKeys,
  provider: Provider,
  message: DeliveryMessage,
): Promise<DeliveryResult> {
  const markerKey = keys.delivery(message.idempotencyKey);
  const marker = await redis.get(markerKey);
  if (marker === 'sent') return 'already-sent';
  if (marker === 'sending' && provider.wasDelivered && (await provider.wasDelivered(message))) {
    await markSent(redis, keys, message, markerKey);
    return 'already-sent';
  }
  await redis.set(markerKey, 'sending', 'EX', MARKER_TTL_SECONDS);
  await provider.send(message);
  await markSent(redis, keys, message, markerKey);
  return 'sent';
}

async function markSent(
  redis: Redis,
  keys: RedisKeys,
  message: DeliveryMessage,
  markerKey: string,
): Promise<void> {
  await redis
    .multi()
    .set(markerKey, 'sent', 'EX', MARKER_TTL_SECONDS)
    .hset(keys.touch(message.idempotencyKey), 'status', 'sent', 'sentAt', new Date().toISOString())
    .hdel(keys.touch(message.idempotencyKey), 'error') // from an earlier, failed run of the job
    .exec();
}
