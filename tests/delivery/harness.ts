import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { RedisKeys } from '../../customers/keys';
import { TouchLog } from '../../customers/touches';
import { loadChannelConfig, type ChannelConfig, type ProviderConfig } from '../../delivery/channel-config';
import { deliveryJobId, type DeliveryMessage } from '../../delivery/message';
import {
  closeDeliveryQueues,
  createDeliveryQueues,
  enqueueDelivery,
  type DeliveryQueues,
} from '../../delivery/queues';
import { createDeliveryWorkers, type DeliveryWorkerDeps } from '../../delivery/worker';
import type { Channel } from '../../language/types';
import { eventually } from '../support/eventually';
import { testRedis, uniquePrefix } from '../support/redis';
import { tempDir, type TempDir } from './support';

/**
 * The real delivery queues and workers on the test Redis, under prefixes of their own, with an
 * outbox in a temp dir: one setup for the worker, deliver-once, provider and outcome suites.
 * Every channel starts on the default config (the outbox); useProvider points one elsewhere.
 */
export class DeliveryHarness {
  readonly redis: Redis = testRedis();
  readonly keyPrefix: string;
  readonly keys: RedisKeys;
  readonly touches: TouchLog;
  readonly bullPrefix: string;
  readonly queues: DeliveryQueues;
  readonly channels: Record<Channel, ChannelConfig> = loadChannelConfig();
  readonly logger: Logger = pino({ level: 'silent' });
  outbox!: TempDir;
  workers: Worker<DeliveryMessage>[] = [];

  /** `name` starts the key prefixes, so a leftover key tells which suite wrote it. */
  protected constructor(name: string) {
    this.keyPrefix = uniquePrefix(name);
    this.keys = new RedisKeys(this.keyPrefix);
    this.touches = new TouchLog(this.redis, this.keys);
    this.bullPrefix = uniquePrefix(`${name}-bull`);
    this.queues = createDeliveryQueues(this.redis, this.bullPrefix);
  }

  /** A harness with its outbox made; no workers until startWorkers. */
  static async start(name: string): Promise<DeliveryHarness> {
    return new DeliveryHarness(name).withOutbox();
  }

  protected async withOutbox(): Promise<this> {
    this.outbox = await tempDir();
    return this;
  }

  /** Puts `channel` on `provider`, with quick retries (3 attempts, 20 ms apart) unless overridden. */
  useProvider(
    channel: Channel,
    provider: ProviderConfig,
    overrides: Partial<ChannelConfig> = {},
  ): ChannelConfig {
    this.channels[channel] = {
      ...this.channels[channel],
      provider,
      attempts: 3,
      backoffMs: 20,
      ...overrides,
    };
    return this.channels[channel];
  }

  startWorkers(extra: Partial<DeliveryWorkerDeps> = {}): void {
    this.workers = createDeliveryWorkers({
      connection: this.redis,
      prefix: this.bullPrefix,
      redis: this.redis,
      keys: this.keys,
      channels: this.channels,
      outboxDir: this.outbox.dir,
      logger: this.logger,
      ...extra,
    });
  }

  async stopWorkers(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers = [];
  }

  /** Queues the message on its channel, as the send activity does. */
  enqueue(message: DeliveryMessage): Promise<void> {
    return enqueueDelivery(this.queues[message.channel], message, this.channels[message.channel]);
  }

  /** Records the touch as the send activity does, then queues the message. */
  async send(message: DeliveryMessage): Promise<void> {
    await this.touches.recordOnce(
      message.idempotencyKey,
      {
        journeyId: message.journeyId,
        journeyVersion: message.journeyVersion,
        customerId: message.customerId,
        stepId: message.stepId,
        channel: message.channel,
        template: message.template,
        status: 'queued',
        at: message.queuedAt,
        message: JSON.stringify(message),
      },
      `step:${message.stepId}:sent`,
    );
    await this.enqueue(message);
  }

  /** Waits until the message's job is completed or failed (or `wanted`); returns the state and the job. */
  finished(
    message: DeliveryMessage,
    wanted?: 'completed' | 'failed',
  ): Promise<{ state: string; job: Job<DeliveryMessage> }> {
    const queue = this.queues[message.channel];
    const jobId = deliveryJobId(message.idempotencyKey);
    return eventually(
      async () => {
        // State first, then the job: a job read before it finished would be stale.
        const state = await queue.getJobState(jobId);
        if (state !== 'completed' && state !== 'failed') return undefined;
        if (wanted && state !== wanted) return undefined;
        return { state, job: (await queue.getJob(jobId))! };
      },
      10_000,
      `job of ${message.idempotencyKey} to finish`,
    );
  }

  /** Removes the message's job, as its retention period would, so the same key can be queued again. */
  async removeJob(message: DeliveryMessage): Promise<void> {
    await (await this.queues[message.channel].getJob(deliveryJobId(message.idempotencyKey)))!.remove();
  }

  async close(): Promise<void> {
    await this.stopWorkers();
    await closeDeliveryQueues(this.queues);
    await this.redis.quit();
    await this.outbox.remove();
  }
}
