import type { Server } from 'node:http';
import { Queue, type Worker as BullWorker } from 'bullmq';
import IORedis from 'ioredis';
import type { Worker as TemporalWorker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { HttpNotifySender, HttpWebhookSender } from '../activities';
import { CustomerEventKeys } from '../audit/customer-event-keys';
import { CustomerEventLog } from '../audit/customer-events';
import { RetryClaims } from '../audit/retry-claims';
import { RunKeys } from '../audit/run-keys';
import { RunInspector } from '../audit/runs';
import { CustomerTimeline } from '../audit/timeline';
import { RedisAuditLog } from '../audit-log/redis-audit-log';
import { auditSeededJourneys, auditTemplateChanges } from '../audit-log/startup-changes';
import { integrationTargets, loadIntegrationsConfig } from '../config/integrations';
import { loadOrCreateKeys } from '../config/keys';
import { loadApprovalsConfig } from '../access/config';
import { createAccessServices } from '../access/services';
import type { Settings } from '../config/settings';
import { loadOrCreateSecret, SignedTokens } from '../config/signed-tokens';
import { CouponStore } from '../coupons/store';
import { JourneyStats } from '../customers/journey-stats';
import { RedisKeys } from '../customers/keys';
import { EnrolmentWorker, SegmentEnrolments } from '../bulk/enrolment';
import { ComputedTraits } from '../customers/computed-traits';
import { ComputedTraitsMerge } from '../customers/computed-traits-merge';
import { loadIdentityConfig } from '../customers/identity-config';
import { cipherBlindIndex, cipherSealer } from '../customers/identity-keys';
import { encryptionEnv, loadOrCreateCipher, verifyKeyRing } from '../customers/encryption';
import { ProfileStore } from '../customers/profiles';
import { loadProfilesConfig } from '../customers/profiles-config';
import { RfmModelStore } from '../customers/rfm';
import { RfmSchedule } from '../customers/rfm-schedule';
import { TouchLog } from '../customers/touches';
import { loadChannelConfig } from '../delivery/channel-config';
import { DeadLetters } from '../delivery/dead-letters';
import { DeliveryOutcomes } from '../delivery/outcomes';
import { closeDeliveryQueues, createDeliveryQueues } from '../delivery/queues';
import { LinkTracker, trackedChannelsFrom } from '../delivery/tracking';
import { createDeliveryWorkers } from '../delivery/worker';
import { loadTemplates } from '../messages/templates';
import { Metrics } from '../observability/metrics';
import { metricsAccess, serveMetrics } from '../observability/metrics-server';
import { openQueues } from '../observability/queues';
import { EVENTS_QUEUE, type IngestEvent } from '../queues/events';
import { JourneyLifecycle } from '../registry/lifecycle';
import { readJourneyFiles, seedJourneys } from '../registry/seed';
import { JourneyStore } from '../registry/store';
import { EntryAdmission } from '../router/admission';
import { JourneyCatalog } from '../router/journey-catalog';
import { JourneySchedules } from '../router/schedules';
import { createIdentity } from '../router/identity';
import { createRouterWorker } from '../router/worker';
import { createRules } from '../rules';
import { loadRulesConfig } from '../rules/config';
import { SegmentCatalog } from '../segmentation/catalog';
import { loadSegmentsConfig } from '../segmentation/config';
import { SegmentEngine } from '../segmentation/engine';
import { SegmentMergeParticipant } from '../segmentation/merge';
import { SegmentKeys } from '../segmentation/keys';
import { loadSegments } from '../segmentation/load';
import { SegmentSchedule } from '../segmentation/schedule';
import { createApp } from '../server/app';
import { createHealthCheck } from './health';
import { createJourneyWorker } from './journey-worker';
import type { Role } from './roles';
import { openServices } from './services';

/** How often the API's catalog looks for registry changes made by other processes. */
const CATALOG_POLL_MS = 5000;

export interface Touchpoint {
  /** The HTTP port actually bound (PORT=0 picks a free one), when the api role runs. */
  port?: number;
  /** The port of GET /metrics without the api role (TOUCHPOINT_METRICS_PORT; 0 picks a free one). */
  metricsPort?: number;
  stop(): Promise<void>;
}

/**
 * Starts the roles this process runs. Config is checked before any server starts, so a bad
 * journey or template stops start-up at once with every error listed.
 */
export async function startTouchpoint(
  settings: Settings,
  roles: Set<Role>,
  logger: Logger,
): Promise<Touchpoint> {
  const templates = loadTemplates(settings.templatesDir);
  // `webhooks:` and `notify:` targets of webhook / notify steps (docs/webhooks.md).
  const integrations = loadIntegrationsConfig(settings.configFile);
  // What every journey is checked against (files at start-up, the admin API's publishes). Target
  // names only for kinds the config lists (see integrationTargets).
  const journeyChecks = { templates, ...integrationTargets(integrations) };
  // A bad journey file stops start-up before any server starts; the good ones are seeded below.
  const journeyFiles = settings.seedJourneys ? readJourneyFiles(settings.journeysDir, journeyChecks) : [];
  const channels = loadChannelConfig(settings.configFile);
  const rulesConfig = loadRulesConfig(settings.configFile);
  // Identity stitching: linking events and the limits on linking (docs/identity.md).
  const identityConfig = loadIdentityConfig(settings.configFile);
  // Segment definitions (segments/*.yaml): a bad one stops start-up with its file, line and column.
  const segmentDefinitions = loadSegments(settings.segmentsDir);
  const segmentsConfig = loadSegmentsConfig(settings.configFile);
  // Orders, RFM, lifecycle and the traits encrypted at rest (docs/profiles.md).
  const profilesConfig = loadProfilesConfig(settings.configFile);
  // Four-eyes publishing (docs/access.md): config `approvals.publish` or TOUCHPOINT_PUBLISH_APPROVAL.
  const approvalsConfig = loadApprovalsConfig(settings.configFile, settings.publishApproval);
  const trackedChannels = trackedChannelsFrom(settings.trackLinks);
  const apiKeys = roles.has('api')
    ? loadOrCreateKeys({
        dataDir: settings.dataDir,
        writeKey: settings.writeKey,
        adminKey: settings.adminKey,
        log: (text) => logger.warn(text),
      })
    : undefined;
  // TOUCHPOINT_ENCRYPTION_KEYS / TOUCHPOINT_BLIND_INDEX_KEY, else keys generated into the data dir
  // (after every check above: a bad config writes nothing).
  const cipher = loadOrCreateCipher(settings.dataDir, encryptionEnv(process.env));
  logger.info(
    {
      journeyFiles: journeyFiles.map((f) => f.id),
      segments: segmentDefinitions.map((s) => s.id),
      roles: [...roles],
    },
    'configuration loaded',
  );

  const services = await openServices(settings, logger);
  const stops: (() => Promise<void>)[] = [() => services.close()];
  const stop = async () => {
    for (const step of stops.reverse())
      await step().catch((err) => logger.error({ err }, 'shutdown step failed'));
  };

  try {
    // BullMQ shares this connection for commands and duplicates it for its blocking reads.
    const { redis, redis: connection, temporal } = services;
    const keys = new RedisKeys(settings.keyPrefix);
    // Who changed what, hash-chained (audit-log/): the API's changes and reads, and start-up's own.
    const auditLog = new RedisAuditLog(redis, settings.keyPrefix);
    // Journeys live in the registry (versions, status); journeys/ files are published into it.
    const journeyStore = new JourneyStore(redis, keys, { check: journeyChecks });
    if (settings.seedJourneys) {
      const seeded = await seedJourneys(journeyStore, journeyFiles);
      logger.info({ seeded: seeded.map((o) => `${o.id}@${o.version} ${o.action}`) }, 'journey files seeded');
      await auditSeededJourneys(auditLog, seeded);
    }
    // Template files deployed since the last start: one `template.change` entry each.
    const templateChanges = await auditTemplateChanges({
      redis,
      keyPrefix: settings.keyPrefix,
      auditLog,
      templatesDir: settings.templatesDir,
    });
    if (templateChanges.length > 0)
      logger.info({ templates: templateChanges.map((e) => e.target) }, 'template changes audited');
    const catalog = await JourneyCatalog.fromStore(journeyStore);
    logger.info(
      { journeys: catalog.list().map((j) => `${j.id}@${j.version} ${catalog.status(j.id)}`) },
      'journeys loaded',
    );
    const prefix = settings.queuePrefix;
    // This process's metrics (docs/observability.md); every queue's depth is read at scrape.
    const metrics = new Metrics();
    const watchedQueues = openQueues(connection, prefix);
    metrics.watchQueues(watchedQueues);
    stops.push(() => Promise.all(watchedQueues.map((q) => q.close())).then(() => undefined));
    // A key whose bytes differ from the ones the data was encrypted with stops start-up here.
    await verifyKeyRing(redis, keys.encryptionKeyChecks(), cipher);
    const profiles = new ProfileStore(redis, keys, { cipher, sensitive: profilesConfig.sensitive });
    // Every event the router routes, per customer (their timeline); sensitive values sealed.
    const customerEvents = new CustomerEventLog(redis, new CustomerEventKeys(settings.keyPrefix), {
      cipher,
      sensitive: profilesConfig.sensitive,
    });
    const rfm = new RfmModelStore(redis, keys, profilesConfig.rfm);
    // Entry admission (router) and its release at each run's end (journey worker) share Redis sets.
    const admission = new EntryAdmission(redis, keys, {
      maxPerCustomer: rulesConfig.journeys?.maxPerCustomer,
      isOpen: (id) => catalog.isOpen(id),
    });
    // One customer per person: the router resolves every event first; merges move the data
    // (traits, consent, caps, touches, journeys; computed traits and segments register below).
    // Phone and email are indexed by the profiles' blind index and sealed with their cipher.
    const identity = createIdentity({
      redis,
      keys,
      config: identityConfig,
      blind: cipherBlindIndex(cipher),
      sealer: cipherSealer(cipher),
      profiles,
      logger,
      journeys: { temporal, admission, journeyIds: () => catalog.list().map((j) => j.id) },
    });
    // Runs, consent and sends of a merged-away customer id act on the customer it merged into.
    const canonicalCustomer = (id: string) => identity.canonical(id);
    // Signs the links sent to customers: unsubscribe links and tracked links.
    const secret = loadOrCreateSecret(settings.dataDir, settings.secret);
    const tokens = new SignedTokens(secret);
    const rules = createRules({
      redis,
      keys,
      config: rulesConfig,
      tokens,
      publicUrl: settings.publicUrl,
      canonicalCustomer,
    });
    const coupons = new CouponStore(redis, settings.keyPrefix);
    const queues = createDeliveryQueues(connection, prefix);
    stops.push(() => closeDeliveryQueues(queues));
    // Delivery outcomes come back as events on the `events` queue; links are tracked at send time.
    const touches = new TouchLog(redis, keys);
    const outcomeEvents = new Queue<IngestEvent>(EVENTS_QUEUE, { connection, prefix });
    stops.push(() => outcomeEvents.close());
    const outcomes = new DeliveryOutcomes({ touches, eventsQueue: outcomeEvents, logger });
    // Segment membership: updated by the router, re-evaluated on a schedule, read by the API.
    const segments = new SegmentEngine({
      redis,
      keys: new SegmentKeys(settings.keyPrefix),
      profiles,
      catalog: new SegmentCatalog(segmentDefinitions),
      eventsQueue: outcomeEvents,
      logger,
      timeZone: segmentsConfig.timezone ?? rulesConfig.timezone,
    });
    // Bulk enrolment (bulk/enrolment.ts) reads a defined segment's member set.
    const segmentKeys = new SegmentKeys(settings.keyPrefix);
    const segmentMemberSets = {
      membersKey: (id: string) => (segments.catalog.get(id) ? segmentKeys.members(id) : undefined),
    };
    const computedTraits = new ComputedTraits({ redis, keys, profiles, config: profilesConfig, rfm });
    // After identity's own merge participants: order traits from the merged orders, then segments.
    identity.merges
      .register(new ComputedTraitsMerge({ redis, keys, computed: computedTraits }))
      .register(new SegmentMergeParticipant(segments));
    const tracker = new LinkTracker(tokens, settings.publicUrl, trackedChannels);
    const bullWorkers: BullWorker[] = [];
    let journeyWorker: TemporalWorker | undefined;

    if (roles.has('delivery')) {
      bullWorkers.push(
        ...createDeliveryWorkers({
          connection,
          prefix,
          redis,
          keys,
          channels,
          outboxDir: settings.outboxDir,
          logger,
          outcomes,
          tracking: tracker,
          metrics,
        }),
      );
    }
    if (roles.has('router')) {
      bullWorkers.push(
        createRouterWorker({
          connection,
          prefix,
          redis,
          keys,
          temporal,
          taskQueue: settings.taskQueue,
          profiles,
          catalog,
          admission,
          logger,
          coupons,
          segments,
          computedTraits,
          identity,
          customerEvents,
          metrics,
        }),
      );
      // Scheduled entries: a job scheduler per open `entry.schedule` journey, ticks enrol profiles.
      const schedules = new JourneySchedules({
        connection,
        prefix,
        redis,
        keys,
        profiles,
        catalog,
        eventsQueue: outcomeEvents,
        logger,
      });
      stops.push(() => schedules.close());
      await schedules.start();
      // RFM scores, groups and lifecycle stages recomputed daily (profiles.rfm.schedule).
      const rfmSchedule = new RfmSchedule({
        connection,
        prefix,
        redis,
        keys,
        profiles,
        config: profilesConfig,
        rfm,
        segments,
        logger,
      });
      stops.push(() => rfmSchedule.close());
      await rfmSchedule.start();
      // Time-based segment conditions: every `segments.reevaluate` (default 15 minutes).
      const segmentSchedule = new SegmentSchedule({
        connection,
        prefix,
        engine: segments,
        customerKeys: keys,
        everyMs: segmentsConfig.reevaluate,
        pageSize: segmentsConfig.pageSize,
        logger,
      });
      stops.push(() => segmentSchedule.close());
      await segmentSchedule.start();
      // Bulk enrolments of a segment into a journey, each at its rate (POST /v1/journeys/:id/enrol).
      bullWorkers.push(
        new EnrolmentWorker({
          connection,
          prefix,
          redis,
          keyPrefix: settings.keyPrefix,
          segments: segmentMemberSets,
          catalog,
          eventsQueue: outcomeEvents,
          logger,
        }).start(),
      );
    }
    stops.push(() => Promise.all(bullWorkers.map((w) => w.close())).then(() => undefined));

    if (roles.has('journeys')) {
      const created = await createJourneyWorker({
        address: services.temporalAddress,
        namespace: settings.temporalNamespace,
        taskQueue: settings.taskQueue,
        deps: {
          profiles,
          touches,
          stats: new JourneyStats(redis, keys),
          coupons,
          templates,
          queues,
          channels,
          rules: rules.touch,
          onRunEnded: (journeyId, customerId) => admission.release(journeyId, customerId),
          canonicalCustomer,
          webhooks: new HttpWebhookSender(integrations.webhooks),
          notifier: new HttpNotifySender(integrations.notify),
        },
        logger,
        metrics,
      });
      journeyWorker = created.worker;
      const running = created.worker.run().catch((err) => {
        logger.fatal({ err }, 'Temporal worker stopped');
        process.exitCode = 1;
        process.kill(process.pid, 'SIGTERM');
      });
      stops.push(async () => {
        if (created.worker.getState() === 'RUNNING') created.worker.shutdown();
        await running;
        await created.connection.close();
      });
    }

    let port: number | undefined;
    if (roles.has('api')) {
      // Its own connection without an offline queue: during a Redis outage ingestion answers 503
      // at once instead of holding requests until the enqueue timeout.
      const producer = new IORedis({ ...services.redisOptions, enableOfflineQueue: false });
      const eventsQueue = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: producer, prefix });
      stops.push(async () => {
        await eventsQueue.close();
        await producer.quit();
      });
      const remoteQueues: Queue[] = [];
      if (!roles.has('router')) remoteQueues.push(eventsQueue);
      if (!roles.has('delivery')) remoteQueues.push(...Object.values(queues));
      const health = createHealthCheck({
        redis,
        temporal,
        namespace: settings.temporalNamespace,
        taskQueue: settings.taskQueue,
        journeyWorker,
        bullWorkers,
        remoteQueues,
        remoteJourneyWorkers: !roles.has('journeys'),
      });
      const stopPolling = catalog.poll(CATALOG_POLL_MS, (err) =>
        logger.warn({ err }, 'journey catalog refresh failed'),
      );
      stops.push(async () => stopPolling());
      const enrolments = new SegmentEnrolments({
        connection,
        prefix,
        redis,
        keyPrefix: settings.keyPrefix,
        segments: segmentMemberSets,
        logger,
      });
      stops.push(() => enrolments.close());
      const app = createApp({
        keys: apiKeys!,
        eventsQueue,
        health,
        journeys: catalog,
        registry: {
          store: journeyStore,
          lifecycle: new JourneyLifecycle({ store: journeyStore, temporal, logger }),
          stats: new JourneyStats(redis, keys),
          // This process's catalog (enrolment) follows its own changes at once, others' by polling.
          onChange: () => catalog.refresh(),
        },
        runs: new RunInspector(temporal, settings.temporalNamespace, services.temporalUiUrl, {
          journeyVersion: async (id, version) => (await journeyStore.version(id, version))?.journey,
          touches,
          coupons,
          profiles,
          retryClaims: new RetryClaims(redis, new RunKeys(settings.keyPrefix)),
        }),
        rules: {
          consent: rules.consent,
          profiles,
          links: rules.links,
          smsKeywords: rulesConfig.consent.smsKeywords,
        },
        // On the producer connection: during a Redis outage redeem answers 503 at once.
        coupons: new CouponStore(producer, settings.keyPrefix),
        deliveries: {
          deadLetters: new DeadLetters(redis, queues, touches, logger),
          touches,
          outcomes,
          tracker,
        },
        templates: {
          templates,
          profiles,
          defaultTimeZone: rulesConfig.timezone,
          sensitive: profilesConfig.sensitive,
          logger,
        },
        segments: { catalog: segments.catalog, members: segments.members },
        enrolments,
        customers: { identity, profiles, segmentsOf: (id) => segments.members.of(id) },
        timeline: new CustomerTimeline({
          temporal,
          events: customerEvents,
          touches,
          profiles,
          identity,
          consent: rules.consent,
          coupons,
          journeyVersion: async (id, version) => (await journeyStore.version(id, version))?.journey,
        }),
        auditLog,
        // API keys in Redis, console sessions (signed with a key derived from the secret), approvals.
        accessServices: createAccessServices({
          redis,
          keyPrefix: settings.keyPrefix,
          secret,
          publishApproval: approvalsConfig.publish,
        }),
        metrics,
        queues: watchedQueues,
        logger,
      });
      const server = await listen(app, settings.port);
      port = (server.address() as { port: number }).port;
      stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      logger.info(
        { port, temporalUi: services.temporalUiUrl },
        `Touchpoint API listening on http://localhost:${port}`,
      );
    }
    // Without the API, metrics get a port of their own when asked (docs/observability.md).
    let metricsPort: number | undefined;
    if (!roles.has('api') && settings.metricsPort !== undefined) {
      const access = metricsAccess(redis, settings);
      const server = await serveMetrics({ port: settings.metricsPort, access, metrics, logger });
      metricsPort = (server.address() as { port: number }).port;
      stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      logger.info({ metricsPort }, `metrics on http://localhost:${metricsPort}/metrics`);
    }
    logger.info({ roles: [...roles] }, 'touchpoint ready');
    return { port, metricsPort, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function listen(app: ReturnType<typeof createApp>, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}
