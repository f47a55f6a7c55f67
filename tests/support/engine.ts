import { Worker as BullWorker } from 'bullmq';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import {
  createActivities,
  RecordingNotifySender,
  RecordingWebhookSender,
  type NotifySender,
  type WebhookSender,
} from '../../activities';
import type { JourneyActivities } from '../../activities/types';
import { projectRoot } from '../../config/settings';
import { SignedTokens } from '../../config/signed-tokens';
import { CouponStore } from '../../coupons/store';
import { JourneyStats } from '../../customers/journey-stats';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { TouchLog } from '../../customers/touches';
import { loadChannelConfig } from '../../delivery/channel-config';
import type { OutboxLine } from '../../delivery/providers/outbox';
import { closeDeliveryQueues, createDeliveryQueues } from '../../delivery/queues';
import { createDeliveryWorkers } from '../../delivery/worker';
import { loadJourneys } from '../../language/load';
import { loadTemplates } from '../../messages/templates';
import type { Journey } from '../../language/types';
import type { IngestEvent } from '../../queues/events';
import { EntryAdmission } from '../../router/admission';
import { JourneyCatalog } from '../../router/journey-catalog';
import { routeEvent } from '../../router/route-event';
import { createRules } from '../../rules';
import { parseRulesConfig } from '../../rules/config';
import { outboxLines } from './outbox';
import { testRedis, uniquePrefix } from './redis';
import { workflowBundle } from './workflow-bundle';

// The journey, rule and end-to-end suites take their wait from here, next to the engine.
export { eventually } from './eventually';

/** A customer the shipped dormant-reactivation journey reaches on every channel it uses. */
export const DORMANT_CUSTOMER = {
  name: '王芳',
  phone: '+8613800138000',
  email: 'wang@example.com',
  wecomExternalUserId: 'wm-1',
};

export interface EngineOptions {
  client: Client;
  nativeConnection: NativeConnection;
  namespace?: string;
  journeysDir?: string;
  /** Wraps the real activities, e.g. to inject a crash after a real send. */
  wrapActivities?: (real: JourneyActivities) => JourneyActivities;
  /**
   * The config file's `rules` section (rules/config.ts). Default: quiet hours off, so that
   * journey tests do not depend on the time of day they run at; consent opt-out, no caps.
   */
  rules?: unknown;
  /** The journeys to run instead of those in `journeysDir` (a fixed catalog, all published). */
  journeys?: Journey[];
  /** The router's clock for admission (end dates, cool-downs); default Date.now. */
  now?: () => number;
  /** `webhook` steps' sender; default: a RecordingWebhookSender accepting any target (sends nothing). */
  webhooks?: WebhookSender;
  /** `notify` steps' sender; default: a RecordingNotifySender accepting any target (sends nothing). */
  notifier?: NotifySender;
}

/**
 * The engine in-process on real Redis and the given Temporal server: journeys and templates
 * from the repo, the router, a journey worker with the real activities, and delivery workers
 * writing to a temporary outbox. Everything is namespaced so tests can run side by side.
 */
export async function startEngine(options: EngineOptions) {
  const logger = pino({ level: 'silent' });
  const redis = testRedis();
  const prefix = uniquePrefix('eng');
  const keys = new RedisKeys(prefix);
  const bullPrefix = `${prefix}-bull`;
  const outboxDir = await mkdtemp(path.join(tmpdir(), 'tp-outbox-'));
  const templates = loadTemplates(path.join(projectRoot, 'templates'));
  const catalog = new JourneyCatalog(
    options.journeys ??
      loadJourneys(options.journeysDir ?? path.join(projectRoot, 'journeys'), { templates }),
  );
  const profiles = new ProfileStore(redis, keys);
  const touches = new TouchLog(redis, keys);
  const stats = new JourneyStats(redis, keys);
  const channels = loadChannelConfig();
  const queues = createDeliveryQueues(redis, bullPrefix);
  const deliveryWorkers: BullWorker[] = createDeliveryWorkers({
    connection: redis,
    prefix: bullPrefix,
    redis,
    keys,
    channels,
    outboxDir,
    logger,
  });
  const taskQueue = uniquePrefix('tq');
  const coupons = new CouponStore(redis, prefix);
  const rulesConfig = parseRulesConfig(options.rules ?? { quietHours: false });
  const admission = new EntryAdmission(redis, keys, {
    maxPerCustomer: rulesConfig.journeys?.maxPerCustomer,
    isOpen: (id) => catalog.isOpen(id),
  });
  const rules = createRules({
    redis,
    keys,
    config: rulesConfig,
    tokens: new SignedTokens(Buffer.from(prefix)),
    publicUrl: 'https://touchpoint.test',
  });
  const webhooks = options.webhooks ?? new RecordingWebhookSender();
  const notifier = options.notifier ?? new RecordingNotifySender();
  const real = createActivities({
    webhooks,
    notifier,
    profiles,
    touches,
    stats,
    coupons,
    templates,
    queues,
    channels,
    rules: rules.touch,
    onRunEnded: (journeyId, customerId) => admission.release(journeyId, customerId),
  });
  const worker = await Worker.create({
    connection: options.nativeConnection,
    namespace: options.namespace ?? 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: options.wrapActivities ? options.wrapActivities(real) : real,
  });
  const running = worker.run();
  const routerDeps = {
    temporal: options.client,
    taskQueue,
    profiles,
    catalog,
    admission,
    logger,
    now: options.now,
  };

  let seq = 0;
  const nextId = () => `m-${prefix}-${++seq}`;
  const times = () => ({ timestamp: new Date().toISOString(), receivedAt: new Date().toISOString() });
  return {
    catalog,
    profiles,
    touches,
    stats,
    rules,
    outboxDir,
    taskQueue,
    keys,
    webhooks,
    notifier,
    admission,
    redis,
    /**
     * Routes a track call as the router worker would; returns its message id with the result.
     * `repeat`: as the worker routes a retried job (its first attempt may have done part of it).
     */
    track: async (
      userId: string,
      event: string,
      properties: Record<string, unknown> = {},
      messageId = nextId(),
      repeat = false,
    ) => ({
      messageId,
      ...(await routeEvent(
        routerDeps,
        { type: 'track', userId, event, properties, messageId, ...times() },
        { repeat },
      )),
    }),
    /** Routes an identify call as the router worker would. */
    identify: (userId: string, traits: Record<string, unknown>) =>
      routeEvent(routerDeps, { type: 'identify', userId, traits, messageId: nextId(), ...times() }),
    /** Routes any queued event (e.g. a job the API or a schedule tick queued) as the router worker would. */
    route: (event: IngestEvent, repeat = false) => routeEvent(routerDeps, event, { repeat }),
    /** Routes an `enrol` event (API / schedule enrolment) as the router worker would. */
    enrol: (journeyId: string, userId: string, messageId = nextId(), properties?: Record<string, unknown>) =>
      routeEvent(routerDeps, { type: 'enrol', journeyId, userId, messageId, properties, ...times() }),
    /** Lines of one channel's outbox (empty when none yet). */
    outbox: (channel: string): Promise<OutboxLine[]> => outboxLines(outboxDir, channel),
    async stop() {
      worker.shutdown();
      await running;
      await Promise.all(deliveryWorkers.map((w) => w.close()));
      await closeDeliveryQueues(queues);
      await redis.quit();
    },
  };
}
