import type { ProviderConfig } from '../../../delivery/channel-config';
import type { DeliveryMessage } from '../../../delivery/message';
import type { Channel } from '../../../language/types';
import { DeliveryHarness } from '../harness';
import { sleep } from '../support';

/** The real delivery workers, `channel` on the provider under test (quick retries), on the test Redis. */
export async function startDeliveryHarness(
  channel: Channel,
  provider: ProviderConfig,
): Promise<DeliveryHarness> {
  const harness = await DeliveryHarness.start('prov');
  harness.useProvider(channel, provider);
  harness.startWorkers();
  return harness;
}

/**
 * `message` queued once and its job waited for; returned with the error its touch records, after
 * a pause of several backoff delays, so that a retry would have come by then.
 */
export async function queueOnce(harness: DeliveryHarness, message: DeliveryMessage) {
  await harness.enqueue(message);
  const { job, state } = await harness.finished(message);
  const touchError = await harness.redis.hget(harness.keys.touch(message.idempotencyKey), 'error');
  await sleep(200);
  return { job, state, touchError };
}

/**
 * The at-most-once scenario every provider is put through: `message` queued twice (the second
 * time as `requeued`, as a retried activity would), its job waited for, then removed (as after
 * the retention period) and the message queued again. Returns both finished jobs, after a pause
 * that leaves room for a duplicate send.
 */
export async function queueTwiceThenAgain(
  harness: DeliveryHarness,
  message: DeliveryMessage,
  requeued: DeliveryMessage = message,
) {
  await harness.enqueue(message);
  await harness.enqueue(requeued);
  const first = await harness.finished(message);
  await harness.removeJob(message);
  await harness.enqueue(message);
  const again = await harness.finished(message);
  await sleep(200); // room for a duplicate, if any
  return { first, again };
}
