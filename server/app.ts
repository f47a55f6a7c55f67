import express from 'express';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { ApiKeys } from '../config/keys';
import type { CouponStore } from '../coupons/store';
import type { IngestEvent } from '../queues/events';
import { errorHandler, notFound } from './errors';
import { adminRouter, type JourneyLookup, type JourneyRegistryApi, type RunLookup } from './routes/admin';
import { couponsRouter } from './routes/coupons';
import { customersRouter, type CustomersApi } from './routes/customers';
import { deliveriesRouter, type DeliveryApi } from './routes/deliveries';
import { enrolmentsRouter, enrolRouter, type EnrolRouterOptions } from './routes/enrol';
import { healthHandler, type HealthCheck } from './routes/health';
import { ingestRouter } from './routes/ingest';
import { receiptsRouter } from './routes/receipts';
import { rulesRouter, type RulesRouterDeps } from './routes/rules';
import { segmentsRouter, type SegmentsApi } from './routes/segments';
import { templatesRouter, type TemplatesApi } from './routes/templates';
import { trackingRouter } from './routes/tracking';

export type { HealthCheck, JourneyLookup, JourneyRegistryApi, RunLookup };

export interface AppDeps {
  keys: ApiKeys;
  /** The BullMQ queue named EVENTS_QUEUE, on the installation's queue prefix. */
  eventsQueue: Queue<IngestEvent>;
  health: HealthCheck;
  journeys: JourneyLookup;
  runs: RunLookup;
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
  logger: Logger;
  /** Largest request body, in bytes or as '500kb'. Default 500kb (Segment's batch limit). */
  bodyLimit?: number | string;
  /** How long ingestion waits for Redis before answering 503. Default 10 s. */
  enqueueTimeoutMs?: number;
  /** How long /healthz waits for `health()` before reporting down. Default 3 s. */
  healthTimeoutMs?: number;
}

/** The HTTP API. It owns no connections: the caller creates and closes the queue and servers. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', healthHandler(deps.health, deps.healthTimeoutMs ?? 3000, deps.logger));
  app.use(
    '/v1',
    ingestRouter({
      keys: deps.keys,
      eventsQueue: deps.eventsQueue,
      bodyLimit: deps.bodyLimit,
      enqueueTimeoutMs: deps.enqueueTimeoutMs ?? 10_000,
    }),
  );
  app.use(
    '/v1/journeys',
    enrolRouter({
      keys: deps.keys,
      eventsQueue: deps.eventsQueue,
      journeys: deps.journeys,
      enqueueTimeoutMs: deps.enqueueTimeoutMs ?? 10_000,
      enrolments: deps.enrolments,
    }),
  );
  app.use('/v1/journeys', adminRouter(deps));
  if (deps.coupons) app.use('/v1', couponsRouter({ ...deps, coupons: deps.coupons }));
  if (deps.templates) app.use('/v1/templates', templatesRouter({ ...deps, templates: deps.templates }));
  if (deps.rules) app.use(rulesRouter(deps.keys, deps.rules));
  if (deps.customers) app.use('/v1/customers', customersRouter({ ...deps, customers: deps.customers }));
  if (deps.enrolments)
    app.use('/v1/enrolments', enrolmentsRouter({ keys: deps.keys, enrolments: deps.enrolments }));
  if (deps.segments) app.use('/v1/segments', segmentsRouter({ keys: deps.keys, segments: deps.segments }));
  if (deps.deliveries) app.use('/v1/deliveries', deliveriesRouter({ ...deps, deliveries: deps.deliveries }));
  if (deps.deliveries) app.use('/v1/receipts', receiptsRouter({ ...deps, deliveries: deps.deliveries }));
  if (deps.deliveries) app.use(trackingRouter({ ...deps, deliveries: deps.deliveries }));

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
