import http from 'node:http';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import pino from 'pino';
import request from 'supertest';
import { HttpWebhookSender } from '../../activities';
import { createAccessServices } from '../../access/services';
import type { Role } from '../../access/permissions';
import { RetryClaims } from '../../audit/retry-claims';
import { RunKeys } from '../../audit/run-keys';
import { RunInspector } from '../../audit/runs';
import { JourneyLifecycle } from '../../registry/lifecycle';
import { JourneyStore } from '../../registry/store';
import { EntryAdmission } from '../../router/admission';
import { JourneyCatalog } from '../../router/journey-catalog';
import { routeEvent, type RouterDeps } from '../../router/route-event';
import { journeyWorkflowId, stateQuery } from '../../workflows/definitions';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { eventually, startEngine } from '../support/engine';
import { deleteKeys, uniquePrefix } from '../support/redis';
import { createDevServerEnv } from '../support/temporal';

export { eventually };

/** The Temporal Web UI address the inspector links runs to. */
export const TEMPORAL_UI = 'http://temporal-ui.test:8233';

/**
 * A local stand-in for an SMS provider and an outside system: it answers every request 200,
 * except requests for the customers in `refusing` (503). It records what it was sent.
 */
export class LocalProvider {
  readonly refusing = new Set<string>();
  readonly calls: { path: string; at: number; status: number }[] = [];
  private server?: http.Server;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      req.resume();
      const customer = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      const status = this.refusing.has(customer) ? 503 : 200;
      this.calls.push({ path: req.url ?? '', at: Date.now(), status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { ok: true } : { error: 'unavailable' }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  callsTo(customerId: string) {
    return this.calls.filter((c) => c.path.endsWith(`/${encodeURIComponent(customerId)}`));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * The engine on a Temporal dev server (real visibility), a registry-backed catalog the tests
 * publish into, and the API app with a RunInspector over all of it. The SMS channel's provider
 * is reached through `provider`: before a send goes to the delivery queue, the provider is asked
 * for the customer; a 5xx answer fails the send activity for good (as a provider refusing the
 * message would), so the run fails.
 */
export async function startRunsWorld() {
  const provider = await new LocalProvider().start();
  const env: TestWorkflowEnvironment = await createDevServerEnv();
  const engine = await startEngine({
    client: env.client,
    nativeConnection: env.nativeConnection,
    journeys: [],
    // `name` is sensitive too, so masking shows in the rendered messages.
    profiles: { sensitive: ['phone', 'email', 'idNumber', 'name'] },
    webhooks: new HttpWebhookSender(),
    wrapActivities: (real) => ({
      ...real,
      sendMessage: async (req) => {
        const answer = await fetch(`${provider.url}/sms/${encodeURIComponent(req.customerId)}`, {
          method: 'POST',
        });
        if (answer.status >= 500) {
          throw ApplicationFailure.nonRetryable(`SMS provider answered ${answer.status}`, 'ProviderRefused');
        }
        return real.sendMessage(req);
      },
    }),
  });
  const store = new JourneyStore(engine.redis, engine.keys);
  const catalog = await JourneyCatalog.fromStore(store);
  const router: RouterDeps = {
    temporal: env.client,
    taskQueue: engine.taskQueue,
    profiles: engine.profiles,
    catalog,
    admission: new EntryAdmission(engine.redis, engine.keys, { isOpen: (id) => catalog.isOpen(id) }),
    logger: pino({ level: 'silent' }),
  };
  const prefix = uniquePrefix('audit');
  const accessServices = createAccessServices({
    redis: engine.redis,
    keyPrefix: prefix,
    secret: Buffer.from(`${prefix}-secret`),
  });
  const inspector = new RunInspector(env.client, 'default', TEMPORAL_UI, {
    journeyVersion: async (id, version) => (await store.version(id, version))?.journey,
    touches: engine.touches,
    coupons: engine.coupons,
    profiles: engine.profiles,
    retryClaims: new RetryClaims(engine.redis, new RunKeys(prefix)),
  });
  const app: TestApp = await startTestApp({
    journeys: catalog,
    runs: inspector,
    accessServices,
    registry: {
      store,
      lifecycle: new JourneyLifecycle({ store, temporal: env.client }),
      onChange: () => catalog.refresh(),
    },
  });
  const roleKeys = new Map<Role, string>();
  /** An API key of the role (created once in the app's key store); admin: the bootstrap key. */
  async function keyOf(role: Role): Promise<string> {
    if (role === 'admin') return KEYS.adminKey;
    let key = roleKeys.get(role);
    if (!key) {
      key = (await accessServices.keyStore.create({ name: `${role}-bot`, role, createdBy: 'test' })).secret;
      roleKeys.set(role, key);
    }
    return key;
  }

  let seq = 0;
  const handle = (journeyId: string, customerId: string) =>
    env.client.workflow.getHandle(journeyWorkflowId(journeyId, customerId));
  const world = {
    env,
    engine,
    provider,
    store,
    catalog,
    app,
    inspector,
    async publish(source: string) {
      const published = await store.publish(source, { by: 'test' });
      if (!published.ok) throw new Error(`publish failed: ${JSON.stringify(published.issues)}`);
      await catalog.refresh();
      return published;
    },
    /** Sets the customer's traits, then enrols them (an `enrol` event routed as the router worker does). */
    async enrol(journeyId: string, customerId: string, traits: Record<string, unknown> = {}) {
      await engine.profiles.merge(customerId, traits);
      const now = new Date().toISOString();
      const result = await routeEvent(router, {
        type: 'enrol',
        journeyId,
        userId: customerId,
        messageId: `${prefix}-enrol-${++seq}`,
        timestamp: now,
        receivedAt: now,
      });
      if (!result.entered.includes(journeyId))
        throw new Error(`${customerId} did not enter: ${JSON.stringify(result)}`);
    },
    /** A track call routed as the router worker does. */
    track(customerId: string, event: string, properties: Record<string, unknown> = {}) {
      const now = new Date().toISOString();
      return routeEvent(router, {
        type: 'track',
        userId: customerId,
        event,
        properties,
        messageId: `${prefix}-track-${++seq}`,
        timestamp: now,
        receivedAt: now,
      });
    },
    handle,
    state: (journeyId: string, customerId: string) => handle(journeyId, customerId).query(stateQuery),
    /** Polls the run's description until `check` accepts it. */
    until<T>(
      journeyId: string,
      customerId: string,
      check: (d: WorkflowExecutionDescription) => T | undefined,
      what: string,
    ): Promise<T> {
      return eventually(async () => check(await handle(journeyId, customerId).describe()), 30_000, what);
    },
    keyOf,
    async get(path: string, role: Role = 'admin') {
      return request(app.app)
        .get(path)
        .set('Authorization', bearer(await keyOf(role)));
    },
    async post(path: string, body: unknown, role: Role = 'admin', actor?: string) {
      const req = request(app.app)
        .post(path)
        .set('Authorization', bearer(await keyOf(role)));
      if (actor) req.set('X-Touchpoint-Actor', actor);
      return req.send(body as object);
    },
    async stop() {
      await app?.close();
      await deleteKeys(engine.redis, prefix);
      await engine?.stop();
      await env?.teardown();
      await provider.stop();
    },
  };
  return world;
}

export type RunsWorld = Awaited<ReturnType<typeof startRunsWorld>>;
