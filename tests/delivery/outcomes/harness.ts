import { Queue, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { SignedTokens } from '../../../config/signed-tokens';
import { RedisKeys } from '../../../customers/keys';
import { TouchLog } from '../../../customers/touches';
import { loadChannelConfig, type ChannelConfig } from '../../../delivery/channel-config';
import { DeadLetters } from '../../../delivery/dead-letters';
import { deliveryJobId, type DeliveryMessage } from '../../../delivery/message';
import { DeliveryOutcomes } from '../../../delivery/outcomes';
import { closeDeliveryQueues, createDeliveryQueues, enqueueDelivery } from '../../../delivery/queues';
import { LinkTracker } from '../../../delivery/tracking';
import { createDeliveryWorkers } from '../../../delivery/worker';
import type { Channel } from '../../../language/types';
import { EVENTS_QUEUE, type IngestEvent, type TrackEvent } from '../../../queues/events';
import { createApp } from '../../../server/app';
import { testRedis, uniquePrefix } from '../../support/redis';
import { eventually, reply, startHttpServer, tempDir, type TestHttpServer } from '../support';

export const KEYS = { writeKey: 'outcomes-write-key', adminKey: 'outcomes-admin-key' };
export const PUBLIC_URL = 'https://tp.example.com';
export const admin = `Bearer ${KEYS.adminKey}`;
export const write = `Bearer ${KEYS.writeKey}`;

/**
 * Everything the delivery side runs, for real, on the test Redis under prefixes of its own: the
 * delivery queues and workers (sms to a local webhook whose answer the test sets, the other
 * channels to an outbox in a temp dir), the `events` queue the outcomes go to (no router
 * consumes it, so every outcome event stays there to be counted) and the HTTP app.
 */
export class Harness {
  readonly redis: Redis = testRedis();
  readonly keyPrefix = uniquePrefix('out');
  readonly keys = new RedisKeys(this.keyPrefix);
  readonly touches = new TouchLog(this.redis, this.keys);
  readonly bullPrefix = uniquePrefix('out-bull');
  readonly queues = createDeliveryQueues(this.redis, this.bullPrefix);
  readonly events = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: this.redis, prefix: this.bullPrefix });
  readonly logs: string[] = [];
  readonly logger = pino({ level: 'info' }, { write: (line: string) => void this.logs.push(line) });
  readonly tokens = new SignedTokens(Buffer.from('outcomes-test-secret'));
  readonly tracker = new LinkTracker(this.tokens, PUBLIC_URL);
  readonly outcomes = new DeliveryOutcomes({
    touches: this.touches,
    eventsQueue: this.events,
    logger: this.logger,
  });
  readonly deadLetters = new DeadLetters(this.redis, this.queues, this.touches, this.logger);
  readonly app = createApp({
    keys: KEYS,
    eventsQueue: this.events,
    health: async () => ({ redis: true }),
    journeys: { list: () => [], get: () => undefined },
    runs: { describe: async () => null },
    logger: this.logger,
    deliveries: {
      deadLetters: this.deadLetters,
      touches: this.touches,
      outcomes: this.outcomes,
      tracker: this.tracker,
    },
  });
  /** The sms gateway: answers with `status` (200 unless a test changes it). */
  status = 200;
  /** What the gateway answers with a 200. */
  okBody = '';
  /** The gateway's first `failFirst` requests are answered 503. */
  failFirst = 0;
  webhook!: TestHttpServer;
  outbox!: Awaited<ReturnType<typeof tempDir>>;
  channels!: Record<Channel, ChannelConfig>;
  workers: Worker[] = [];

  static async start(): Promise<Harness> {
    const h = new Harness();
    h.webhook = await startHttpServer((res) => {
      const status = h.webhook.requests.length <= h.failFirst ? 503 : h.status;
      reply(res, status, status === 200 ? h.okBody : 'gateway says no');
    });
    h.outbox = await tempDir();
    h.channels = loadChannelConfig();
    h.channels.sms = {
      ...h.channels.sms,
      provider: { type: 'webhook', url: h.webhook.url, timeoutMs: 2000 },
      attempts: 3,
      backoffMs: 20,
    };
    return h;
  }

  startWorkers(): void {
    this.workers = createDeliveryWorkers({
      connection: this.redis,
      prefix: this.bullPrefix,
      redis: this.redis,
      keys: this.keys,
      channels: this.channels,
      outboxDir: this.outbox.dir,
      logger: this.logger,
      outcomes: this.outcomes,
      tracking: this.tracker,
    });
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
    await enqueueDelivery(this.queues[message.channel], message, this.channels[message.channel]);
  }

  /** Waits until the message's job is completed or failed; returns the state and the job. */
  async finished(message: DeliveryMessage, wanted?: 'completed' | 'failed') {
    const queue = this.queues[message.channel];
    const jobId = deliveryJobId(message.idempotencyKey);
    return eventually(async () => {
      const state = await queue.getJobState(jobId);
      if (state !== 'completed' && state !== 'failed') return undefined;
      if (wanted && state !== wanted) return undefined;
      return { state, job: (await queue.getJob(jobId))! };
    }, `job of ${message.idempotencyKey} to finish`);
  }

  async touch(message: DeliveryMessage): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.touch(message.idempotencyKey));
  }

  /** Every outcome event queued so far, oldest first. */
  async outcomeEvents(): Promise<TrackEvent[]> {
    const jobs = await this.events.getJobs(['waiting', 'delayed', 'completed', 'failed'], 0, -1, true);
    return jobs.filter((j) => j !== undefined).map((j) => j.data as TrackEvent);
  }

  async eventsFor(message: DeliveryMessage, name?: string): Promise<TrackEvent[]> {
    return (await this.outcomeEvents()).filter(
      (e) => e.properties.idempotencyKey === message.idempotencyKey && (!name || e.event === name),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await closeDeliveryQueues(this.queues);
    await this.events.obliterate({ force: true }).catch(() => undefined);
    await this.events.close();
    await this.webhook.close();
    await this.outbox.remove();
    for (const prefix of [this.bullPrefix, this.keyPrefix]) {
      for await (const found of this.redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
        if ((found as string[]).length > 0) await this.redis.del(...(found as string[]));
      }
    }
    await this.redis.quit();
  }
}
