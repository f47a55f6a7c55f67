import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../customers/keys';
import type { DeliveryMessage } from './message';
import type { Provider } from './providers/provider';

/** How long a delivery marker outlives the send: longer than any retry or replay could come. */
const MARKER_TTL_SECONDS = 90 * 24 * 3600;

/** Longer than any provider call may take; a lease left by a killed worker expires by itself. */
const LEASE_MS = 2 * 60_000;

export type DeliveryResult = 'sent' | 'already-sent';

/** Another attempt of the same message is sending right now; retry later. */
export class DeliveryInProgressError extends Error {
  override readonly name = 'DeliveryInProgressError';
}

/**
 * Sends a message at most once per idempotency key, whatever happens around it: the same job
 * added twice, a retried activity re-adding it after the first job was cleaned up, a stalled job
 * run twice at once, a worker killed mid-send.
 * - a lease (SET NX with a TTL) lets one attempt at a time through;
 * - the marker goes `sending` before the provider is called and `sent` after, so a marker found
 *   at `sending` means an earlier attempt died in between: the provider is asked whether that
 *   attempt got out before anything is sent again.
 */
export async function deliverOnce(
  redis: Redis,
  keys: RedisKeys,
  provider: Provider,
  message: DeliveryMessage,
): Promise<DeliveryResult> {
  const markerKey = keys.delivery(message.idempotencyKey);
  if ((await redis.get(markerKey)) === 'sent') return 'already-sent';

  const leaseKey = keys.deliveryLease(message.idempotencyKey);
  const token = randomUUID();
  if ((await redis.set(leaseKey, token, 'PX', LEASE_MS, 'NX')) !== 'OK') {
    throw new DeliveryInProgressError(`message ${message.idempotencyKey} is being sent by another attempt`);
  }
  try {
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
  } finally {
    // Only our own lease: after a very slow send it may have expired and passed to another attempt.
    await redis.eval(RELEASE_LEASE, 1, leaseKey, token);
  }
}

const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

async function markSent(
  redis: Redis,
  keys: RedisKeys,
  message: DeliveryMessage,
  markerKey: string,
): Promise<void> {
  const results = await redis
    .multi()
    .set(markerKey, 'sent', 'EX', MARKER_TTL_SECONDS)
    .hset(keys.touch(message.idempotencyKey), 'status', 'sent', 'sentAt', new Date().toISOString())
    .hdel(keys.touch(message.idempotencyKey), 'error') // from an earlier, failed run of the job
    .exec();
  // MULTI reports a failed command in its results, not by throwing.
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error('delivery marker transaction aborted');
}
