import type { Queue } from 'bullmq';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
} from 'prom-client';
import { QueueStates } from './queue-states';

/**
 * Where activity latencies fall: local activities (Redis counters, profile reads) take
 * milliseconds, sends tens of them, webhooks and notify calls up to their timeouts.
 */
const ACTIVITY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsOptions {
  /** prom-client's process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

/**
 * The Prometheus metrics of one process, on a registry of its own (so tests and several apps in
 * one process never share counters). Counters are bumped where things happen (ingest, router,
 * activities, workflow steps through a sink, delivery workers); queue gauges are read from
 * BullMQ when Prometheus scrapes. docs/observability.md lists each with its labels.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Events the API accepted (202), by Segment type: track, identify, ... */
  readonly eventsReceived = this.counter({
    name: 'touchpoint_events_received_total',
    help: 'Events accepted by the ingestion API, by type',
    labelNames: ['type'] as const,
  });

  /** Router jobs by what routing did: entered, signalled, refused, unmatched, duplicate, failed. */
  readonly eventsRouted = this.counter({
    name: 'touchpoint_events_routed_total',
    help: 'Events taken off the events queue by the router, by outcome',
    labelNames: ['outcome'] as const,
  });

  readonly queueJobs = this.gauge({
    name: 'touchpoint_queue_jobs',
    help: 'Jobs on each BullMQ queue by state, read at scrape',
    labelNames: ['queue', 'state'] as const,
    collect: async () => this.collectQueues(),
  });

  readonly queueLag = this.gauge({
    name: 'touchpoint_queue_lag_seconds',
    help: 'Age of the oldest job waiting on each BullMQ queue (0 when none waits), read at scrape',
    labelNames: ['queue'] as const,
    collect: async () => this.collectQueues(),
  });

  /** Scrapes whose queue read failed (Redis down or slow): the queue series are absent from them. */
  readonly queueReadErrors = this.counter({
    name: 'touchpoint_queue_read_errors_total',
    help: 'Scrapes that could not read the BullMQ queues',
  });

  readonly journeyEntries = this.counter({
    name: 'touchpoint_journey_entries_total',
    help: 'Runs started, by journey and version (once per run)',
    labelNames: ['journey', 'version'] as const,
  });

  readonly journeySteps = this.counter({
    name: 'touchpoint_journey_steps_total',
    help: 'Journey steps finished, by journey, step, step type and outcome',
    labelNames: ['journey', 'step', 'type', 'outcome'] as const,
  });

  readonly journeyConversions = this.counter({
    name: 'touchpoint_journey_conversions_total',
    help: 'Runs that reached a goal (converted), by journey (once per run)',
    labelNames: ['journey'] as const,
  });

  /** Delivery worker attempts: sent, already_sent, retry, failed (refused for good), dead_letter. */
  readonly deliveries = this.counter({
    name: 'touchpoint_deliveries_total',
    help: 'Delivery attempts by channel and outcome',
    labelNames: ['channel', 'outcome'] as const,
  });

  readonly activityDuration = new Histogram({
    name: 'touchpoint_activity_duration_seconds',
    help: 'Temporal activity executions (local ones included) by activity and outcome',
    labelNames: ['activity', 'outcome'] as const,
    buckets: ACTIVITY_BUCKETS,
    registers: [this.registry],
  });

  private readonly queues = new QueueStates(() => this.queueReadErrors.inc());
  /** The read of the scrape in progress (registry.metrics() called directly reads afresh). */
  private queueRead: ReturnType<QueueStates['read']> | undefined;

  constructor({ defaultMetrics = true }: MetricsOptions = {}) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  // Every metric goes on this instance's registry, never prom-client's global one.
  private counter<T extends string>(config: Omit<CounterConfiguration<T>, 'registers'>): Counter<T> {
    return new Counter({ ...config, registers: [this.registry] });
  }

  private gauge<T extends string>(config: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T> {
    return new Gauge({ ...config, registers: [this.registry] });
  }

  /** Queues whose depth and lag the gauges report (added once; the caller closes them). */
  watchQueues(queues: readonly Queue[]): this {
    this.queues.watch(queues);
    return this;
  }

  /** The exposition text for a scrape, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    // Both queue gauges' collect() share this scrape's one read of the queues.
    const read = this.queues.read();
    this.queueRead = read;
    try {
      return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    } finally {
      if (this.queueRead === read) this.queueRead = undefined;
    }
  }

  /**
   * Both queue gauges from one read of BullMQ per scrape. A failed read leaves them empty and
   * counts an error, so the scrape still answers with everything else.
   */
  private async collectQueues(): Promise<void> {
    this.queueJobs.reset();
    this.queueLag.reset();
    const states = await (this.queueRead ?? this.queues.read());
    if (!states) return;
    for (const { queue, counts, lagSeconds } of states) {
      for (const [state, count] of Object.entries(counts)) this.queueJobs.set({ queue, state }, count);
      this.queueLag.set({ queue }, lagSeconds);
    }
  }
}
