import { Queue } from 'bullmq';
import pino, { type Logger } from 'pino';
import { RedisAuditLog } from '../../../audit-log/redis-audit-log';
import { SignedTokens } from '../../../config/signed-tokens';
import { DeadLetters } from '../../../delivery/dead-letters';
import type { DeliveryMessage } from '../../../delivery/message';
import { DeliveryOutcomes } from '../../../delivery/outcomes';
import { LinkTracker } from '../../../delivery/tracking';
import { EVENTS_QUEUE, type IngestEvent, type TrackEvent } from '../../../queues/events';
import { createApp } from '../../../server/app';
import { deleteKeys } from '../../support/redis';
import { DeliveryHarness } from '../harness';
import { reply, startHttpServer, type TestHttpServer } from '../support';

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
export class Harness extends DeliveryHarness {
  readonly events = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: this.redis, prefix: this.bullPrefix });
  readonly logs: string[] = [];
  override readonly logger: Logger = pino(
    { level: 'info' },
    { write: (line: string) => void this.logs.push(line) },
  );
  readonly tokens = new SignedTokens(Buffer.from('outcomes-test-secret'));
  readonly tracker = new LinkTracker(this.tokens, PUBLIC_URL);
  readonly outcomes = new DeliveryOutcomes({
    touches: this.touches,
    eventsQueue: this.events,
    logger: this.logger,
  });
  readonly deadLetters = new DeadLetters(this.redis, this.queues, this.touches, this.logger);
  readonly auditLog = new RedisAuditLog(this.redis, this.keyPrefix);
  readonly app = createApp({
    keys: KEYS,
    eventsQueue: this.events,
    health: async () => ({ redis: true }),
    journeys: { list: () => [], get: () => undefined },
    runs: { describe: async () => null },
    auditLog: this.auditLog,
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

  static override async start(): Promise<Harness> {
    const h = await new Harness('out').withOutbox();
    h.webhook = await startHttpServer((res) => {
      const status = h.webhook.requests.length <= h.failFirst ? 503 : h.status;
      reply(res, status, status === 200 ? h.okBody : 'gateway says no');
    });
    h.useProvider('sms', { type: 'webhook', url: h.webhook.url, timeoutMs: 2000 });
    return h;
  }

  /** The workers, telling outcomes and tracking links as the app's do. */
  override startWorkers(): void {
    super.startWorkers({ outcomes: this.outcomes, tracking: this.tracker });
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
    await this.stopWorkers();
    await this.events.obliterate({ force: true }).catch(() => undefined);
    await this.events.close();
    await this.webhook.close();
    for (const prefix of [this.bullPrefix, this.keyPrefix]) await deleteKeys(this.redis, prefix);
    await this.close();
  }
}
