import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import IORedis, { type Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { createActivities, RecordingNotifySender, RecordingWebhookSender } from '../activities';
import { loadIntegrationsConfig, type IntegrationsConfig } from '../config/integrations';
import { loadSettings } from '../config/settings';
import { SignedTokens } from '../config/signed-tokens';
import { CouponStore } from '../coupons/store';
import { JourneyStats } from '../customers/journey-stats';
import { RedisKeys } from '../customers/keys';
import { ProfileStore } from '../customers/profiles';
import { TouchLog } from '../customers/touches';
import { loadChannelConfig } from '../delivery/channel-config';
import { closeDeliveryQueues, createDeliveryQueues } from '../delivery/queues';
import type { Journey } from '../language/types';
import { loadTemplates, type TemplateStore } from '../messages/templates';
import { journeySinks } from '../observability/journey-sinks';
import type { IngestEvent } from '../queues/events';
import { EntryAdmission } from '../router/admission';
import { JourneyCatalog } from '../router/journey-catalog';
import { routeEvent, type RouterDeps } from '../router/route-event';
import { createRules } from '../rules';
import { loadRulesConfig, parseRulesConfig, type RulesConfig } from '../rules/config';
import { redisOptionsFromUrl, startRedisServer, type RedisServer } from '../runtime/redis-server';
import { findTestServer } from '../runtime/temporal-binaries';
import { startTimeSkippingServer } from '../runtime/time-skipping-server';
import { journeyWorkflowId, stateQuery, type JourneyResult, type RunState } from '../workflows/definitions';
import { resolveScenario, type ResolvedScenario, type Scenario } from './scenario';
import { buildTimeline, formatTime, type CollectedRun, type RoutedEvent } from './timeline';
import type { SimulationResult } from './types';

export { parseScenario, resolveScenario, ScenarioError, type Scenario } from './scenario';
export type { SimulationResult, TimelineEntry, SimulatedRun, TimelineKind } from './types';

export interface SimulatorOptions {
  /** Redis to run on, under a unique key prefix per run. Default: REDIS_URL, else an embedded redis-server in a temp dir. */
  redisUrl?: string;
  /** The time-skipping test server executable. Default: found by runtime/temporal-binaries.ts. */
  testServerPath?: string;
  /** Templates (default: loaded from TOUCHPOINT_TEMPLATES_DIR, i.e. `templates/`). */
  templates?: TemplateStore;
  templatesDir?: string;
  /** The config file for rules, webhook and notify targets (default: TOUCHPOINT_CONFIG, if set). */
  configFile?: string;
  /** The config's `rules` section, instead of the file's (e.g. `{ quietHours: false }`). */
  rules?: unknown;
  /** A prebuilt workflow bundle (test suites share one); else the workflows are bundled once at start. */
  workflowBundle?: { code: string };
  logger?: Logger;
}

/**
 * Runs journeys against scenarios on the REAL engine: the journey workflow on the Temporal
 * time-skipping test server, the real activities (templates, rules, coupons, profiles) on Redis,
 * and the real router (admission included) for every scenario event. Nothing leaves the process:
 * messages stay on delivery queues nobody consumes, webhooks and alerts go to recording senders.
 *
 * One simulator serves many runs, one at a time (each run moves the server's clock): every run
 * has its own key prefix, queues and task queue, its clock offset (scenario start − server time)
 * passed to the workflow and the activities, and its leftovers terminated and deleted after.
 */
export class Simulator {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly env: TestWorkflowEnvironment,
    private readonly redis: Redis,
    private readonly redisServer: { server: RedisServer; dir: string } | undefined,
    private readonly bundle: { code: string },
    private readonly templates: TemplateStore,
    private readonly rulesConfig: RulesConfig,
    private readonly integrations: IntegrationsConfig | undefined,
    private readonly logger: Logger,
  ) {}

  static async start(opts: SimulatorOptions = {}): Promise<Simulator> {
    const logger = opts.logger ?? pino({ level: 'silent' });
    const settings = loadSettings();
    const configFile = opts.configFile ?? settings.configFile;
    // Config first: a bad file fails before any server starts.
    const templates = opts.templates ?? loadTemplates(opts.templatesDir ?? settings.templatesDir);
    const rulesConfig = opts.rules !== undefined ? parseRulesConfig(opts.rules) : loadRulesConfig(configFile);
    const integrations = configFile ? loadIntegrationsConfig(configFile) : undefined;

    const stops: (() => Promise<void>)[] = [];
    try {
      let redisUrl = opts.redisUrl ?? settings.redisUrl;
      let redisServer: { server: RedisServer; dir: string } | undefined;
      if (!redisUrl) {
        const dir = await mkdtemp(path.join(tmpdir(), 'touchpoint-sim-'));
        stops.push(() => rm(dir, { recursive: true, force: true }));
        const server = await startRedisServer({ dataDir: dir, logger, detached: false });
        stops.push(() => server.stop());
        redisServer = { server, dir };
        redisUrl = server.url;
      }
      const redis = new IORedis({ ...redisOptionsFromUrl(redisUrl), maxRetriesPerRequest: null });
      stops.push(async () => void (await redis.quit()));
      await redis.ping();

      const testServer =
        opts.testServerPath ?? (await findTestServer({ logger, allowSdkDownload: false })).path!;
      const bundling = opts.workflowBundle
        ? Promise.resolve(opts.workflowBundle)
        : bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietBundler });
      bundling.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      const env = await startTimeSkippingServer(testServer);
      stops.push(() => env.teardown());
      const bundle = await bundling;
      return new Simulator(env, redis, redisServer, bundle, templates, rulesConfig, integrations, logger);
    } catch (err) {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      throw err;
    }
  }

  /** Simulates one customer's scenario through the journey; runs queue up behind each other. */
  run(journey: Journey, scenario: Scenario): Promise<SimulationResult> {
    if (this.closed) return Promise.reject(new Error('the simulator is closed'));
    let resolved: ResolvedScenario;
    try {
      resolved = resolveScenario(scenario, undefined, this.rulesConfig.timezone);
    } catch (err) {
      return Promise.reject(err);
    }
    const next = this.queue.then(() => this.runOne(journey, resolved));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.env.teardown().catch((err) => this.logger.warn({ err }, 'test server teardown failed'));
    await this.redis.quit().catch(() => undefined);
    if (this.redisServer) {
      await this.redisServer.server.stop().catch(() => undefined);
      await rm(this.redisServer.dir, { recursive: true, force: true });
    }
  }

  private async runOne(journey: Journey, sc: ResolvedScenario): Promise<SimulationResult> {
    const { env, redis } = this;
    const { scenario } = sc;
    const customerId = scenario.customer.id;
    const prefix = `sim-${randomUUID().slice(0, 12)}`;
    const bullPrefix = `${prefix}-bull`;
    const keys = new RedisKeys(prefix);
    const taskQueue = `${prefix}-journeys`;
    // The scenario's clock: scenario time = server time + offset, for the workflow (its input),
    // the activities (their deps) and the router (`now`, set to each event's time as it routes it).
    let scenarioNow = sc.startMs;
    const profiles = new ProfileStore(redis, keys);
    const touches = new TouchLog(redis, keys);
    const stats = new JourneyStats(redis, keys);
    const coupons = new CouponStore(redis, prefix, { now: () => new Date(scenarioNow) });
    const queues = createDeliveryQueues(redis, bullPrefix);
    const rules = createRules({
      redis,
      keys,
      config: this.rulesConfig,
      tokens: new SignedTokens(randomBytes(32)),
      publicUrl: loadSettings().publicUrl,
    });
    const admission = new EntryAdmission(redis, keys, {
      maxPerCustomer: this.rulesConfig.journeys?.maxPerCustomer,
    });
    const answers = scenario.webhooks ?? {};
    const webhooks = new RecordingWebhookSender({
      ...(this.integrations ? { targets: this.integrations.webhooks } : {}),
      respond: (call) => answers[call.target ?? call.url] ?? answers[call.url] ?? 200,
    });
    const notifier = new RecordingNotifySender(
      this.integrations ? { targets: this.integrations.notify } : {},
    );
    const workflowId = journeyWorkflowId(journey.id, customerId);

    const cleanUp = async () => {
      await closeDeliveryQueues(queues);
      await deleteKeys(redis, prefix);
      await deleteKeys(redis, bullPrefix);
    };
    const offset = sc.startMs - (await env.currentTimeMs());
    let worker: Worker;
    try {
      worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        workflowBundle: this.bundle,
        activities: createActivities({
          profiles,
          touches,
          stats,
          coupons,
          templates: this.templates,
          queues,
          channels: loadChannelConfig(),
          rules: rules.touch,
          webhooks,
          notifier,
          clockOffsetMs: offset,
          onRunEnded: (journeyId, customer) => admission.release(journeyId, customer),
        }),
        // The workflows report each step to this sink; a simulation counts nothing.
        sinks: journeySinks(),
      });
    } catch (err) {
      await cleanUp().catch(() => undefined);
      throw err;
    }
    const working = worker.run();
    const routerDeps: RouterDeps = {
      temporal: env.client,
      taskQueue,
      profiles,
      catalog: new JourneyCatalog([journey]),
      admission,
      logger: this.logger,
      coupons,
      now: () => scenarioNow,
      clockOffsetMs: offset,
    };
    const routed: RoutedEvent[] = [];
    const chains: { firstRunId: string; entryEvent: string }[] = [];
    let seq = 0;

    try {
      if (scenario.customer.traits) await profiles.merge(customerId, scenario.customer.traits);
      const steps: Planned[] = [];
      if (scenario.enrol) {
        steps.push({
          atMs: sc.startMs,
          ingest: (base) => ({ ...base, type: 'enrol', journeyId: journey.id, userId: customerId }),
          label: { event: 'journey_enrolled' },
        });
      }
      for (const event of sc.events) {
        if ('traits' in event) {
          steps.push({
            atMs: event.atMs,
            ingest: (base) => ({ ...base, type: 'identify', userId: customerId, traits: event.traits }),
            label: { event: 'identify', traits: event.traits },
          });
        } else if ('enrol' in event) {
          steps.push({
            atMs: event.atMs,
            ingest: (base) => ({
              ...base,
              type: 'enrol',
              journeyId: journey.id,
              userId: customerId,
              ...(event.properties ? { properties: event.properties } : {}),
            }),
            label: {
              event: 'journey_enrolled',
              ...(event.properties ? { properties: event.properties } : {}),
            },
          });
        } else {
          steps.push({
            atMs: event.atMs,
            ingest: (base) => ({
              ...base,
              type: 'track',
              userId: customerId,
              event: event.event,
              properties: event.properties ?? {},
            }),
            label: { event: event.event, properties: event.properties ?? {} },
          });
        }
        if (event.messageId) steps.at(-1)!.messageId = event.messageId;
      }

      for (const step of steps) {
        await this.advanceTo(step.atMs, offset);
        scenarioNow = step.atMs;
        const time = new Date(step.atMs).toISOString();
        const messageId = step.messageId ?? `${prefix}-${++seq}`;
        const result = await routeEvent(
          routerDeps,
          step.ingest({ messageId, timestamp: time, receivedAt: time }),
        );
        routed.push({ atMs: step.atMs, messageId, ...step.label, result });
        if (result.entered.includes(journey.id)) {
          const latest = await env.client.workflow.getHandle(workflowId).describe();
          if (!chains.some((c) => c.firstRunId === latest.runId))
            chains.push({ firstRunId: latest.runId, entryEvent: step.label.event });
        }
      }
      await this.advanceTo(sc.untilMs, offset);
      scenarioNow = sc.untilMs;

      const runs: CollectedRun[] = [];
      for (const chain of chains) runs.push(await this.collect(workflowId, chain, offset));
      const { timeline, runs: summaries } = await buildTimeline({
        journey,
        timeZone: sc.timeZone,
        events: routed,
        runs,
        touch: (key) => touches.get(key),
      });
      const last = runs.at(-1);
      return {
        journey: journey.id,
        version: journey.version,
        customer: customerId,
        timeZone: sc.timeZone,
        start: formatTime(sc.startMs, sc.timeZone),
        until: formatTime(sc.untilMs, sc.timeZone),
        timeline,
        outcome: last ? last.state.status : 'none',
        runs: summaries,
      };
    } finally {
      await this.cleanUp(workflowId, worker, working, cleanUp);
    }
  }

  /** Skips the server's clock forward to this scenario time (never back: real time may have passed). */
  private async advanceTo(scenarioMs: number, offset: number): Promise<void> {
    const target = scenarioMs - offset;
    const now = await this.env.currentTimeMs();
    if (target > now) await this.env.sleep(target - now);
  }

  /** A run's final state: its query (running or closed), else its result. */
  private async collect(
    workflowId: string,
    chain: { firstRunId: string; entryEvent: string },
    offset: number,
  ): Promise<CollectedRun> {
    const { client } = this.env;
    const first = client.workflow.getHandle(workflowId, undefined, { firstExecutionRunId: chain.firstRunId });
    const base = { entryEvent: chain.entryEvent, runKey: `${workflowId}/${chain.firstRunId}` };
    // The chain's latest run: the workflow's latest run when it belongs to the chain (still running,
    // or the last one to end), else the chain's first (it ended before a re-entry).
    let described = await client.workflow.getHandle(workflowId, chain.firstRunId).describe();
    if (described.status.name === 'CONTINUED_AS_NEW') {
      described = await client.workflow.getHandle(workflowId).describe();
    }
    const handle = client.workflow.getHandle(workflowId, described.runId);
    const endedAtMs = described.closeTime ? described.closeTime.getTime() + offset : undefined;
    try {
      const state: RunState = await handle.query(stateQuery);
      return { ...base, state, ...(endedAtMs !== undefined ? { endedAtMs } : {}) };
    } catch (err) {
      if (described.status.name === 'RUNNING') throw err;
      // A run that failed or was terminated answers no query: what its result (if any) says.
      const result: JourneyResult | undefined =
        described.status.name === 'COMPLETED' ? await first.result() : undefined;
      const status = result?.status ?? 'exited';
      return {
        ...base,
        ...(endedAtMs !== undefined ? { endedAtMs } : {}),
        state: {
          journeyId: '',
          journeyVersion: 0,
          customerId: '',
          status,
          currentStep: null,
          enteredAt: new Date(described.startTime.getTime() + offset).toISOString(),
          wakeAt: null,
          path: result?.path ?? [],
          ...(result ? {} : { exitReason: `workflow ${described.status.name.toLowerCase()}` }),
        },
      };
    }
  }

  private async cleanUp(
    workflowId: string,
    worker: Worker,
    working: Promise<void>,
    more: () => Promise<void>,
  ): Promise<void> {
    try {
      const latest = this.env.client.workflow.getHandle(workflowId);
      if ((await latest.describe()).status.name === 'RUNNING') await latest.terminate('simulation ended');
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError))
        this.logger.warn({ err }, 'could not end the simulated run');
    }
    worker.shutdown();
    await working.catch((err) => this.logger.warn({ err }, 'simulation worker failed'));
    await more().catch((err) => this.logger.warn({ err }, 'simulation clean-up failed'));
  }
}

type Base = { messageId: string; timestamp: string; receivedAt: string };

/** A scenario event, ready to route at its time. */
interface Planned {
  atMs: number;
  ingest: (base: Base) => IngestEvent;
  label: Omit<RoutedEvent, 'atMs' | 'result' | 'messageId'>;
  messageId?: string;
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  for await (const found of redis.scanStream({ match: `${prefix}:*`, count: 500 })) {
    const keys = found as string[];
    if (keys.length > 0) await redis.del(...keys);
  }
}

const noop = () => undefined;
const quietBundler = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
