import { Queue, Worker as BullWorker } from 'bullmq';
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
import { CustomerEventKeys } from '../../audit/customer-event-keys';
import { CustomerEventLog } from '../../audit/customer-events';
import { projectRoot } from '../../config/settings';
import { SignedTokens } from '../../config/signed-tokens';
import { CouponStore } from '../../coupons/store';
import { JourneyStats } from '../../customers/journey-stats';
import { RedisKeys } from '../../customers/keys';
import { ComputedTraits } from '../../customers/computed-traits';
import { ComputedTraitsMerge } from '../../customers/computed-traits-merge';
import type { IdentityResolver } from '../../customers/identity';
import { parseIdentityConfig } from '../../customers/identity-config';
import { cipherBlindIndex, cipherSealer } from '../../customers/identity-keys';
import { newKeyLine, parseKeyRing, TraitCipher } from '../../customers/encryption';
import { ProfileStore } from '../../customers/profiles';
import { parseProfilesConfig } from '../../customers/profiles-config';
import { RfmModelStore } from '../../customers/rfm';
import { TouchLog } from '../../customers/touches';
import { loadChannelConfig } from '../../delivery/channel-config';
import type { OutboxLine } from '../../delivery/providers/outbox';
import { closeDeliveryQueues, createDeliveryQueues } from '../../delivery/queues';
import { createDeliveryWorkers } from '../../delivery/worker';
import { loadJourneys } from '../../language/load';
import { loadTemplates } from '../../messages/templates';
import type { Journey } from '../../language/types';
import { EVENTS_QUEUE, type IngestEvent } from '../../queues/events';
import { EntryAdmission } from '../../router/admission';
import { createIdentity } from '../../router/identity';
import { JourneyCatalog } from '../../router/journey-catalog';
import { routeEvent } from '../../router/route-event';
import { createRouterWorker } from '../../router/worker';
import { SegmentCatalog } from '../../segmentation/catalog';
import type { Segment } from '../../segmentation/definition';
import { SegmentEngine } from '../../segmentation/engine';
import { SegmentKeys } from '../../segmentation/keys';
import { SegmentMergeParticipant } from '../../segmentation/merge';
import { loadSegments } from '../../segmentation/load';
import { journeySinks } from '../../observability/journey-sinks';
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
  /**
   * Segments (segmentation/): the router keeps their membership, and the `segment_entered` /
   * `segment_exited` events it queues are routed by a real router worker on an `events` queue of
   * the engine's own. `true`: the shipped segments/ files; or the definitions to use.
   */
  segments?: true | Segment[];
  /**
   * Computed traits, RFM and lifecycle from track events (customers/computed-traits.ts): `true`
   * for the defaults, or a config `profiles:` section. Off by default. Sensitive traits are
   * always stored encrypted (a fresh key ring per engine), as in production.
   */
  profiles?: true | Record<string, unknown>;
  /**
   * Identity stitching (customers/identity.ts): `true` for the defaults, or a config `identity:`
   * section. Off by default: suites that identify several customers with one phone expect them
   * to stay apart.
   */
  identity?: true | Record<string, unknown>;
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
  const profilesConfig = parseProfilesConfig(options.profiles === true ? {} : options.profiles);
  const cipher = new TraitCipher(parseKeyRing(newKeyLine('test')), Buffer.from(`${prefix}-blind-index`));
  const profiles = new ProfileStore(redis, keys, { cipher, sensitive: profilesConfig.sensitive });
  const computedTraits = options.profiles
    ? new ComputedTraits({
        redis,
        keys,
        profiles,
        config: profilesConfig,
        rfm: new RfmModelStore(redis, keys, profilesConfig.rfm),
        now: options.now,
      })
    : undefined;
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
  // The router logs every event it routes per customer (their timeline), as in production.
  const customerEvents = new CustomerEventLog(redis, new CustomerEventKeys(prefix), {
    cipher,
    sensitive: profilesConfig.sensitive,
  });
  const rulesConfig = parseRulesConfig(options.rules ?? { quietHours: false });
  const admission = new EntryAdmission(redis, keys, {
    maxPerCustomer: rulesConfig.journeys?.maxPerCustomer,
    isOpen: (id) => catalog.isOpen(id),
  });
  const identity: IdentityResolver | undefined = options.identity
    ? createIdentity({
        redis,
        keys,
        config: parseIdentityConfig(options.identity === true ? {} : options.identity),
        blind: cipherBlindIndex(cipher),
        sealer: cipherSealer(cipher),
        profiles,
        logger,
        journeys: { temporal: options.client, admission, journeyIds: () => catalog.list().map((j) => j.id) },
      })
    : undefined;
  const canonicalCustomer = identity && ((id: string) => identity.canonical(id));
  const rules = createRules({
    redis,
    keys,
    config: rulesConfig,
    tokens: new SignedTokens(Buffer.from(prefix)),
    publicUrl: 'https://touchpoint.test',
    canonicalCustomer,
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
    canonicalCustomer,
  });
  const worker = await Worker.create({
    connection: options.nativeConnection,
    namespace: options.namespace ?? 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: options.wrapActivities ? options.wrapActivities(real) : real,
    // The workflows report each step to this sink (counted and logged in production).
    sinks: journeySinks(),
  });
  const running = worker.run();
  // With segments, their events go through a real `events` queue and router worker.
  const eventsQueue = options.segments
    ? new Queue<IngestEvent>(EVENTS_QUEUE, { connection: redis, prefix: bullPrefix })
    : undefined;
  const segments = eventsQueue
    ? new SegmentEngine({
        redis,
        keys: new SegmentKeys(prefix),
        profiles,
        catalog: new SegmentCatalog(
          options.segments === true ? loadSegments(path.join(projectRoot, 'segments')) : options.segments!,
        ),
        eventsQueue,
        logger,
        timeZone: rulesConfig.timezone,
        now: options.now,
      })
    : undefined;
  // Merges move computed traits, then segment membership, after identity's own participants.
  if (identity && computedTraits)
    identity.merges.register(new ComputedTraitsMerge({ redis, keys, computed: computedTraits }));
  if (identity && segments) identity.merges.register(new SegmentMergeParticipant(segments));
  const routerDeps = {
    temporal: options.client,
    taskQueue,
    profiles,
    catalog,
    admission,
    logger,
    now: options.now,
    segments,
    computedTraits,
    identity,
    customerEvents,
  };
  const routerWorker = eventsQueue
    ? createRouterWorker({ ...routerDeps, connection: redis, prefix: bullPrefix, redis, keys })
    : undefined;

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
    cipher,
    /** The coupons the journeys issue. */
    coupons,
    /** The router's per-customer event log (audit/customer-events.ts). */
    customerEvents,
    /** The identity resolver (with `options.identity`). */
    identity,
    /** The segment engine (with `options.segments`) and the `events` queue its events go to. */
    segments,
    eventsQueue,
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
      await routerWorker?.close();
      await eventsQueue?.close();
      worker.shutdown();
      await running;
      await Promise.all(deliveryWorkers.map((w) => w.close()));
      await closeDeliveryQueues(queues);
      await redis.quit();
    },
  };
}
