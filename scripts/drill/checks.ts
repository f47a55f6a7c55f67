import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RunView } from '../../audit/runs';
import type { RedisKeys } from '../../customers/keys';
import type { Journey, SendStep } from '../../language/types';
import { eventJobId, type IngestEvent } from '../../queues/events';
import type { Delivery, DeliveryLog } from './deliveries';
import type { Receiver } from './receiver';
import { ADMIN_KEY } from './servers';
import type { Customer } from './traffic';

/*
 * The check after each phase, over every customer so far:
 *  - every accepted event was processed (the router's processed marker is in Redis) and no
 *    event or delivery job failed;
 *  - every customer with an entry event has a run (admin API), and the run closed as
 *    completed or converted within the time allowed (else it is stuck);
 *  - every touch the run made was delivered exactly once: one outbox line, or one
 *    Idempotency-Key at the webhook receiver (more requests with that key are "redelivered,
 *    deduped by key", counted apart); nothing was delivered that the run did not send;
 *  - customers who did not order got every send of their journey, and the run completed;
 *    customers who ordered converted, unless the order reached the router too late for the
 *    run's timeout (told apart with the order job's finish time and the run's timeout time).
 */

/** An order routed this long before the run's timeout must have converted it. */
const ORDER_MARGIN_MS = 1_000;
const CONCURRENCY = 8;

export interface CheckDeps {
  apiUrl: string;
  redis: Redis;
  keys: RedisKeys;
  eventsQueue: Queue<IngestEvent>;
  deliveryQueues: Queue[];
  deliveries: DeliveryLog;
  receiver: Receiver;
  journeys: Map<string, Journey>;
  /** The drill's own Temporal client, to count runs per workflow id. */
  temporal: Client;
}

export interface CheckReport {
  name: string;
  customers: number;
  seconds: number;
  events: {
    accepted: number;
    processed: number;
    notAccepted: number;
    /** Jobs started more than once (stalled by a kill, or failed and retried); final check only. */
    routedAgain?: number;
    entriesRoutedAgain?: number;
  };
  queues: { events: QueueCounts; delivery: QueueCounts };
  runs: {
    expected: number;
    completed: number;
    converted: number;
    stuck: number;
    missing: number;
    bystandersWithoutRun: number;
    /** Customers with more than one run of a journey (final check only). */
    enteredTwice?: number;
  };
  touches: TouchCounts & { redeliveredDedupedByKey: number; webhookRefused: number };
  orders: { sent: number; converted: number; lateForTimeout: number; lost: number };
  problems: string[];
  /** Slow but not faulty: customers whose script changed course (see Customer.note). */
  notes: string[];
}

/** Touches of one customer, or of all of them, by what became of them. */
interface TouchCounts {
  due: number;
  delivered: number;
  missing: number;
  duplicate: number;
  undue: number;
  skipped: number;
}

interface Verdict {
  touches: TouchCounts;
  problems: string[];
  /** A run exists but has not closed. */
  stuck: boolean;
}

interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export class Checker {
  /** Runs seen closed: they no longer change, so they are fetched once. */
  private readonly closed = new Map<string, RunView>();
  /** The last answer about each run (null: 404, no run), for reporting stuck and missing ones. */
  private readonly lastSeen = new Map<string, RunView | null>();
  private readonly processed = new Set<string>();
  /** Bystanders found with no run in any journey after their event was routed. */
  private readonly noRun = new Set<string>();

  constructor(private readonly deps: CheckDeps) {}

  /**
   * Waits (at most `timeoutMs`) until everything due for these customers has happened, then
   * judges. `drained`: traffic has stopped, so the queues must also be empty.
   */
  async check(
    name: string,
    customers: Customer[],
    { timeoutMs, drained = false }: { timeoutMs: number; drained?: boolean },
  ): Promise<CheckReport> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    await until(deadline, () => customers.every((c) => c.done));
    const accepted = customers.flatMap((c) => c.events.filter((e) => e.acceptedAt !== undefined));
    await until(deadline, () => this.allProcessed(accepted.map((e) => e.messageId)));
    const inJourney = customers.filter((c) => c.journeyId && c.events.some((e) => e.role === 'entry'));
    await until(deadline, () => this.allClosed(inJourney, deadline));
    await until(deadline, async () => {
      await this.deps.deliveries.refresh();
      if (drained && !(await this.queuesEmpty())) return false;
      return inJourney.every((c) => this.judge(c).touches.missing === 0);
    });
    // Late duplicates (a retried job, a resent message) come after the due ones: wait a little.
    await sleep(drained ? 3_000 : 1_000);
    await this.deps.deliveries.refresh();
    return this.report(name, customers, accepted.length, started, drained);
  }

  private async report(
    name: string,
    customers: Customer[],
    accepted: number,
    started: number,
    drained: boolean,
  ): Promise<CheckReport> {
    const problems: string[] = [];
    const report: CheckReport = {
      name,
      customers: customers.length,
      seconds: 0,
      events: {
        accepted,
        processed: 0,
        notAccepted: customers.flatMap((c) => c.events).filter((e) => e.acceptedAt === undefined).length,
      },
      queues: {
        events: await this.counts([this.deps.eventsQueue]),
        delivery: await this.counts(this.deps.deliveryQueues),
      },
      runs: { expected: 0, completed: 0, converted: 0, stuck: 0, missing: 0, bystandersWithoutRun: 0 },
      touches: {
        due: 0,
        delivered: 0,
        missing: 0,
        duplicate: 0,
        undue: 0,
        skipped: 0,
        redeliveredDedupedByKey: this.deps.receiver.redelivered(),
        webhookRefused: this.deps.receiver.refused,
      },
      orders: { sent: 0, converted: 0, lateForTimeout: 0, lost: 0 },
      problems,
      notes: [],
    };

    for (const c of customers) {
      if (c.gaveUp) problems.push(`${c.id}: traffic gave up: ${c.gaveUp}`);
      if (c.note) report.notes.push(`${c.id}: ${c.note}`);
      for (const e of c.events) {
        if (e.acceptedAt === undefined) continue;
        if (this.processed.has(e.messageId)) report.events.processed++;
        else problems.push(`${c.id}: accepted ${e.role} event ${e.messageId} was never processed`);
      }
      if (!c.events.some((e) => e.role === 'entry' && e.acceptedAt !== undefined)) continue;
      if (!c.journeyId) {
        const verdict = await this.untouched(c);
        if (verdict === 'untouched') report.runs.bystandersWithoutRun++;
        else if (verdict === 'touched')
          problems.push(`${c.id}: bystander (matches no entry) got a run or a message`);
        else problems.push(`${c.id}: the admin API never answered about the bystander's runs`);
        continue;
      }
      report.runs.expected++;
      const verdict = this.judge(c);
      problems.push(...verdict.problems.map((p) => `${c.id} (${c.journeyId}): ${p}`));
      for (const [key, n] of Object.entries(verdict.touches))
        report.touches[key as keyof Verdict['touches']] += n;
      const run = this.closed.get(c.id);
      if (!run) {
        if (verdict.stuck) report.runs.stuck++;
        else report.runs.missing++;
        continue;
      }
      if (run.state?.status === 'converted') report.runs.converted++;
      else report.runs.completed++;
      if (c.orders) await this.judgeOrder(c, run, report);
    }

    if (drained) await this.countRepeats(customers, report);
    const { events, delivery } = report.queues;
    if (events.failed > 0) problems.push(`${events.failed} failed job(s) on the events queue`);
    if (delivery.failed > 0) problems.push(`${delivery.failed} failed delivery job(s)`);
    if (drained && events.waiting + events.active + events.delayed > 0)
      problems.push(`events queue not drained: ${JSON.stringify(events)}`);
    if (drained && delivery.waiting + delivery.active + delivery.delayed > 0)
      problems.push(`delivery queues not drained: ${JSON.stringify(delivery)}`);
    if (this.deps.receiver.malformed > 0)
      problems.push(`${this.deps.receiver.malformed} webhook request(s) without a matching Idempotency-Key`);
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    return report;
  }

  /** Touches of one customer against their run: what was due, delivered, doubled, missing. */
  private judge(c: Customer): Verdict {
    const journey = this.deps.journeys.get(c.journeyId!)!;
    const run = this.closed.get(c.id);
    const seen = this.lastSeen.get(c.id);
    const delivered = this.deps.deliveries.forCustomer(c.id);
    const touches = { due: 0, delivered: 0, missing: 0, duplicate: 0, undue: 0, skipped: 0 };
    const problems: string[] = [];
    if (!run) problems.push(...this.whyNoRun(c, seen));

    const foreign = delivered.filter((d) => d.journeyId !== journey.id);
    for (const d of foreign) problems.push(`message from another journey: ${d.journeyId}/${d.stepId}`);
    touches.undue += foreign.length;

    for (const step of journey.steps.filter((s): s is SendStep => s.type === 'send')) {
      const mine = delivered.filter((d) => d.journeyId === journey.id && d.stepId === step.id);
      const entries = run?.state?.path.filter((p) => p.stepId === step.id) ?? [];
      const due = entries.filter((p) => p.outcome === 'sent').length;
      const skipped = entries.filter((p) => p.outcome?.startsWith('skipped')).length;
      touches.due += due;
      touches.skipped += skipped;
      touches.delivered += Math.min(due, mine.length);
      touches.missing += Math.max(0, due - mine.length);
      if (mine.length > due) {
        if (due > 0) touches.duplicate += mine.length - due;
        else touches.undue += mine.length;
        if (run) problems.push(`${step.id}: ${mine.length} deliveries for ${due} send(s): ${keysOf(mine)}`);
      }
      if (!run) continue;
      if (due > mine.length) problems.push(`${step.id}: sent by the run, never delivered`);
      if (skipped > 0) problems.push(`${step.id}: skipped (${entries.map((p) => p.outcome).join(', ')})`);
      if (!c.orders && due === 0) problems.push(`${step.id}: due but never sent (path: ${pathOf(run)})`);
      // Keys carry the first run id: a key of another run means the customer entered twice.
      const otherRun = mine.filter((d) => !d.idempotencyKey.startsWith(`${run.workflowId}/${run.runId}/`));
      if (otherRun.length > 0) problems.push(`${step.id}: delivered by another run: ${keysOf(otherRun)}`);
    }
    if (run) {
      const status = run.state?.status;
      if (run.temporalStatus !== 'COMPLETED' || (status !== 'completed' && status !== 'converted'))
        problems.push(`run ended ${run.temporalStatus} / ${status}`);
      else if (!c.orders && status !== 'completed') problems.push(`run ${status} without any order`);
    }
    return { touches, problems, stuck: !run && seen != null };
  }

  /**
   * The repeats behind "one run per customer and journey": how many events the router started
   * more than once (the kill leaves jobs to BullMQ's stalled-job recovery), and whether any
   * (journey, customer) got a second run from Temporal's own list of runs.
   */
  private async countRepeats(customers: Customer[], report: CheckReport): Promise<void> {
    const entries = new Set(
      customers.flatMap((c) => c.events.filter((e) => e.role === 'entry').map((e) => e.messageId)),
    );
    const jobs = await this.deps.eventsQueue.getJobs(['completed', 'failed'], 0, -1);
    const again = jobs.filter((job) => job && job.attemptsStarted > 1);
    report.events.routedAgain = again.length;
    report.events.entriesRoutedAgain = again.filter((job) => entries.has(job.data.messageId)).length;
    const runs = new Map<string, number>();
    for await (const run of this.deps.temporal.workflow.list({ query: "WorkflowType = 'journeyWorkflow'" }))
      runs.set(run.workflowId, (runs.get(run.workflowId) ?? 0) + 1);
    const twice = [...runs].filter(([, n]) => n > 1);
    report.runs.enteredTwice = twice.length;
    for (const [id, n] of twice) report.problems.push(`${id}: ${n} runs, for one entry event`);
  }

  /** Why a customer has no closed run: stuck, never started, or not known. */
  private whyNoRun(c: Customer, seen: RunView | null | undefined): string[] {
    if (seen) return [`run stuck: ${describe(seen)}`];
    const entry = c.events.find((e) => e.role === 'entry')!;
    // An entry never routed is reported as such already; its missing run says nothing more.
    if (!this.processed.has(entry.messageId)) return [];
    return [
      seen === null
        ? 'entry event routed, but there is no run'
        : 'the admin API never answered about the run',
    ];
  }

  /** A converted run names the order; a run that timed out must have had its order late. */
  private async judgeOrder(c: Customer, run: RunView, report: CheckReport): Promise<void> {
    const order = c.events.find((e) => e.role === 'order' && e.acceptedAt !== undefined);
    if (!order) return;
    report.orders.sent++;
    if (run.state?.status === 'converted') {
      if (run.state.conversion?.messageId === order.messageId) report.orders.converted++;
      else report.problems.push(`${c.id}: converted by ${run.state.conversion?.messageId}, not by its order`);
      return;
    }
    const job = await this.deps.eventsQueue.getJob(eventJobId(order.messageId));
    const wait = run.state?.path.find((p) => p.type === 'waitFor');
    const timeoutAt = Date.parse(String(wait?.detail?.timeoutAt ?? ''));
    if (job?.finishedOn && Number.isFinite(timeoutAt) && job.finishedOn < timeoutAt - ORDER_MARGIN_MS) {
      report.orders.lost++;
      report.problems.push(
        `${c.id}: order routed at ${iso(job.finishedOn)}, ${timeoutAt - job.finishedOn} ms before the ` +
          `timeout (${iso(timeoutAt)}), yet the run did not convert (path: ${pathOf(run)})`,
      );
    } else {
      report.orders.lateForTimeout++;
    }
  }

  /** No run in any journey and no message, for a customer whose event matches no entry. */
  private async untouched(c: Customer): Promise<'untouched' | 'touched' | 'unknown'> {
    if (this.deps.deliveries.forCustomer(c.id).length > 0) return 'touched';
    if (this.noRun.has(c.id)) return 'untouched'; // a routed event that started nothing stays so
    for (const journeyId of this.deps.journeys.keys()) {
      const run = await this.fetchRun(journeyId, c.id).catch(() => undefined);
      if (run === undefined) return 'unknown';
      if (run !== null) return 'touched';
    }
    this.noRun.add(c.id);
    return 'untouched';
  }

  private async allProcessed(messageIds: string[]): Promise<boolean> {
    const pending = messageIds.filter((id) => !this.processed.has(id));
    for (let i = 0; i < pending.length; i += 200) {
      const chunk = pending.slice(i, i + 200);
      const pipeline = this.deps.redis.pipeline();
      for (const id of chunk) pipeline.exists(this.deps.keys.processedEvent(id));
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([err, exists], j) => {
        if (!err && exists === 1) this.processed.add(chunk[j]!);
      });
    }
    return messageIds.every((id) => this.processed.has(id));
  }

  private async allClosed(customers: Customer[], deadline: number): Promise<boolean> {
    const pending = customers.filter((c) => !this.closed.has(c.id));
    for (let i = 0; i < pending.length && Date.now() < deadline; i += CONCURRENCY) {
      await Promise.all(
        pending.slice(i, i + CONCURRENCY).map(async (c) => {
          const run = await this.fetchRun(c.journeyId!, c.id).catch(() => undefined);
          if (run === undefined) return; // no answer: keep what was seen before
          this.lastSeen.set(c.id, run);
          if (run && run.temporalStatus !== 'RUNNING' && run.state) this.closed.set(c.id, run);
        }),
      );
    }
    return customers.every((c) => this.closed.has(c.id));
  }

  /** The customer's run through the admin API of the api process; null when there is none. */
  private async fetchRun(journeyId: string, customerId: string): Promise<RunView | null> {
    const res = await fetch(`${this.deps.apiUrl}/v1/journeys/${journeyId}/customers/${customerId}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status === 404) return null;
    if (res.status !== 200) throw new Error(`admin API answered ${res.status}`);
    return (await res.json()) as RunView;
  }

  private async queuesEmpty(): Promise<boolean> {
    const all = await this.counts([this.deps.eventsQueue, ...this.deps.deliveryQueues]);
    return all.waiting + all.active + all.delayed === 0;
  }

  private async counts(queues: Queue[]): Promise<QueueCounts> {
    const total: QueueCounts = { waiting: 0, active: 0, delayed: 0, failed: 0 };
    for (const queue of queues) {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
      total.waiting += (c.waiting ?? 0) + (c.prioritized ?? 0);
      total.active += c.active ?? 0;
      total.delayed += c.delayed ?? 0;
      total.failed += c.failed ?? 0;
    }
    return total;
  }
}

/** Polls `check` every 500 ms until it holds or the deadline passes (errors count as not yet). */
async function until(deadline: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(500);
  }
}

function keysOf(deliveries: Delivery[]): string {
  return deliveries.map((d) => `${d.via}:${d.idempotencyKey}`).join(', ');
}

function pathOf(run: RunView): string {
  return (run.state?.path ?? []).map((p) => `${p.stepId}=${p.outcome ?? '…'}`).join(' → ');
}

function describe(run: RunView): string {
  return `${run.temporalStatus}, ${run.state?.status ?? 'no state'} at ${run.state?.currentStep ?? '?'} (path: ${pathOf(run)})`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
