import express from 'express';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit-log/types';
import type { CustomerTimeline } from '../audit/timeline';
import type { AccessServices } from '../access/services';
import type { BootstrapKeySet } from '../config/keys';
import type { CouponStore } from '../coupons/store';
import { ingestObserver } from '../observability/ingest';
import { Metrics } from '../observability/metrics';
import type { IngestEvent } from '../queues/events';
import { Access, BootstrapKeys } from './auth';
import { errorHandler, notFound } from './errors';
import { adminRouter, type JourneyLookup, type JourneyRegistryApi } from './routes/admin';
import { approvalsRouter, publishRequester } from './routes/approvals';
import { auditLogRouter } from './routes/audit-log';
import { consoleRouter } from './routes/console';
import { couponsRouter } from './routes/coupons';
import { customersRouter, type CustomersApi } from './routes/customers';
import { deliveriesRouter, type DeliveryApi } from './routes/deliveries';
import { enrolmentsRouter, enrolRouter, type EnrolRouterOptions } from './routes/enrol';
import { healthHandler, type HealthCheck } from './routes/health';
import { ingestRouter } from './routes/ingest';
import { keysRouter } from './routes/keys';
import { metricsRouter } from './routes/metrics';
import { openapiRouter } from './routes/openapi';
import { queuesDashboardRouter } from './routes/queues-dashboard';
import { receiptsRouter } from './routes/receipts';
import { rulesRouter, type RulesRouterDeps } from './routes/rules';
import { runsRouter, type RunLookup, type RunsApi } from './routes/runs';
import { segmentsRouter, type SegmentsApi } from './routes/segments';
import { sessionRouter } from './routes/session';
import { templatesRouter, type TemplatesApi } from './routes/templates';
import { timelineRouter } from './routes/timeline';
import { trackingRouter } from './routes/tracking';

export type { HealthCheck, JourneyLookup, JourneyRegistryApi, RunLookup, RunsApi };

export interface AppDeps {
  /** The bootstrap write and admin keys: as keys (env, tests) or their SHA-256 (data/keys.json). */
  keys: BootstrapKeySet;
  /**
   * API keys in Redis, console sessions and four-eyes publishing (access/); without it only the
   * bootstrap keys authenticate and /v1/keys, /v1/session, /v1/approvals answer 404.
   */
  accessServices?: AccessServices;
  /** The BullMQ queue named EVENTS_QUEUE, on the installation's queue prefix. */
  eventsQueue: Queue<IngestEvent>;
  health: HealthCheck;
  journeys: JourneyLookup;
  /** Runs in Temporal (audit/runs.ts RunInspector); given `describe` only, the other runs routes answer 404. */
  runs: RunsApi;
  /** The journey registry (drafts, versions, lifecycle, diff); without it journeys are read-only. */
  registry?: JourneyRegistryApi;
  /** Coupon redemption and stats (routes/coupons.ts); without it those routes answer 404. */
  coupons?: CouponStore;
  /** Consent API, unsubscribe links, SMS replies (routes/rules.ts); without it they answer 404. */
  rules?: RulesRouterDeps;
  /** Dead letters, touch audit, receipts, tracked links (routes/deliveries.ts); else they answer 404. */
  deliveries?: DeliveryApi;
  /** Template listing and preview (routes/templates.ts); without it those routes answer 404. */
  templates?: TemplatesApi;
  /** Segments, their sizes and members (routes/segments.ts); without it those routes answer 404. */
  segments?: SegmentsApi;
  /** Bulk enrolment of a segment into a journey (bulk/enrolment.ts); without it those requests answer 404. */
  enrolments?: EnrolRouterOptions['enrolments'];
  /** Customers by id or identifier, merges (routes/customers.ts); without it those routes answer 404. */
  customers?: CustomersApi;
  /** Customer timelines across journeys (audit/timeline.ts); without it that route answers 404. */
  timeline?: Pick<CustomerTimeline, 'build'>;
  /** The append-only, hash-chained log of changes and personal-data reads (audit-log/). */
  auditLog: AuditLog;
  logger: Logger;
  /** Largest request body, in bytes or as '500kb'. Default 500kb (Segment's batch limit). */
  bodyLimit?: number | string;
  /** How long ingestion waits for Redis before answering 503. Default 10 s. */
  enqueueTimeoutMs?: number;
  /** How long /healthz waits for `health()` before reporting down. Default 3 s. */
  healthTimeoutMs?: number;
  /** The process's metrics (GET /metrics); default: a registry of the app's own over `queues`. */
  metrics?: Metrics;
  /** Queues shown by the dashboard at /admin/queues; default: the events queue. */
  queues?: readonly Queue[];
}

/** The HTTP API. It owns no connections: the caller creates and closes the queue and servers. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const accessServices = deps.accessServices;
  const access = new Access(
    [new BootstrapKeys(deps.keys), ...(accessServices ? [accessServices.keyStore] : [])],
    accessServices?.sessions,
  );
  const requestPublish =
    accessServices?.publishApproval === 'required' && deps.registry
      ? publishRequester({
          registry: deps.registry,
          approvals: accessServices.approvals,
          auditLog: deps.auditLog,
        })
      : undefined;

  app.get('/healthz', healthHandler(deps.health, deps.healthTimeoutMs ?? 3000, deps.logger));
  app.use(consoleRouter());
  const queues = deps.queues ?? [deps.eventsQueue];
  const metrics = deps.metrics ?? new Metrics({ defaultMetrics: false }).watchQueues(queues);
  app.use(metricsRouter({ access, metrics }));
  app.use(openapiRouter());
  app.use(queuesDashboardRouter({ access, queues }));
  app.use(
    '/v1',
    ingestRouter({
      access,
      eventsQueue: deps.eventsQueue,
      bodyLimit: deps.bodyLimit,
      enqueueTimeoutMs: deps.enqueueTimeoutMs ?? 10_000,
      onAccepted: ingestObserver(metrics, deps.logger),
    }),
  );
  app.use(
    '/v1/journeys',
    enrolRouter({
      access,
      auditLog: deps.auditLog,
      eventsQueue: deps.eventsQueue,
      journeys: deps.journeys,
      enqueueTimeoutMs: deps.enqueueTimeoutMs ?? 10_000,
      enrolments: deps.enrolments,
    }),
  );
  app.use('/v1/journeys', runsRouter({ ...deps, access }));
  app.use('/v1/journeys', adminRouter({ ...deps, access, requestPublish }));
  if (deps.coupons) app.use('/v1', couponsRouter({ ...deps, access, coupons: deps.coupons }));
  if (deps.templates)
    app.use('/v1/templates', templatesRouter({ ...deps, access, templates: deps.templates }));
  if (deps.rules) app.use(rulesRouter(access, deps.rules, deps.auditLog));
  if (deps.customers)
    app.use('/v1/customers', customersRouter({ ...deps, access, customers: deps.customers }));
  if (deps.timeline)
    app.use('/v1/customers', timelineRouter({ access, timeline: deps.timeline, auditLog: deps.auditLog }));
  if (deps.enrolments) app.use('/v1/enrolments', enrolmentsRouter({ access, enrolments: deps.enrolments }));
  if (deps.segments) app.use('/v1/segments', segmentsRouter({ access, segments: deps.segments }));
  if (deps.deliveries)
    app.use('/v1/deliveries', deliveriesRouter({ ...deps, access, deliveries: deps.deliveries }));
  if (deps.deliveries)
    app.use('/v1/receipts', receiptsRouter({ ...deps, access, deliveries: deps.deliveries }));
  if (deps.deliveries) app.use(trackingRouter({ ...deps, deliveries: deps.deliveries }));
  app.use('/v1/audit', auditLogRouter({ access, auditLog: deps.auditLog }));
  if (accessServices) {
    const { keyStore, sessions, approvals } = accessServices;
    app.use('/v1/keys', keysRouter({ access, keyStore, auditLog: deps.auditLog }));
    app.use('/v1/session', sessionRouter({ access, sessions }));
    if (deps.registry)
      app.use(
        '/v1/approvals',
        approvalsRouter({ access, approvals, registry: deps.registry, auditLog: deps.auditLog }),
      );
  }

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
