import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../../customers/keys';
import type { DeliveryLog } from './deliveries';
import { WRITE_KEY } from './servers';

/*
 * The steady stream: one new customer every `intervalMs`, each running a little script of
 * HTTP calls against the api process, as a client would (retrying with the same messageId
 * until it gets a 202). A 202 is what counts as "accepted".
 *
 *   browse    identify, then content_viewed (living-room decoration): enters browse-intent
 *   dormant   identify, then segment_entered (dormant): enters dormant-reactivation
 *   bystander identify, then content_viewed of another category: enters nothing
 *
 * A third of the browse and dormant customers order (order_completed) just after their first
 * message reaches them, so they convert unless the order is late for the journey's timeout.
 */

export type Kind = 'browse' | 'dormant' | 'bystander';

export const JOURNEY_OF: Record<Kind, string | undefined> = {
  browse: 'browse-intent',
  dormant: 'dormant-reactivation',
  bystander: undefined,
};

export interface SentEvent {
  messageId: string;
  role: 'identify' | 'entry' | 'order';
  attempts: number;
  /** When the API answered 202; undefined: never accepted. */
  acceptedAt?: number;
}

export interface Customer {
  id: string;
  kind: Kind;
  journeyId?: string;
  orders: boolean;
  /** The phase during which the customer was created. */
  phase: string;
  events: SentEvent[];
  /** The script has finished (every event accepted, or it gave up). */
  done: boolean;
  /** Why the script gave up, if it did: an event the API would not accept, or a script error. */
  gaveUp?: string;
  /** Something slow that changed the script without being a fault (e.g. no order sent). */
  note?: string;
}

export interface RequestCounts {
  accepted: number;
  /** Answers other than 202, by status, and `network` for no answer at all. */
  refused: Record<string, number>;
}

export interface TrafficOptions {
  baseUrl: string;
  redis: Redis;
  keys: RedisKeys;
  deliveries: DeliveryLog;
  intervalMs: number;
  maxCustomers: number;
}

/** How long a client keeps retrying one request before it gives up (longer than any outage here). */
const RETRY_FOR_MS = 90_000;
const RETRY_MS = 500;
const REQUEST_TIMEOUT_MS = 12_000;
/** Customer scripts running at once, at most. */
const MAX_IN_FLIGHT = 60;
/** How long a script waits for its identify to be routed, or for its first message. */
const STEP_WAIT_MS = 120_000;

export class Traffic {
  readonly customers: Customer[] = [];
  /** Requests by the phase they were made in. */
  readonly requests = new Map<string, RequestCounts>();
  phase = 'warm-up';
  /** Ticks without a new customer because MAX_IN_FLIGHT scripts were still running. */
  skippedTicks = 0;
  private timer?: NodeJS.Timeout;
  private readonly scripts = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly opts: TrafficOptions) {}

  start(): void {
    this.timer = setInterval(() => this.next(), this.opts.intervalMs);
  }

  /** Stops adding customers and waits for the running scripts (each is bounded). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.scripts]);
  }

  /** Gives up on everything at once (the drill is aborting). */
  abort(): void {
    this.stopping = true;
    clearInterval(this.timer);
  }

  /**
   * Adds `n` customers at once: their identify events in one batch request, then their entry
   * events in another. Resolves with the customers once their entries are accepted (the router
   * is then busy with them); the rest of their scripts goes on.
   */
  burst(n: number): Promise<Customer[]> {
    const customers = Array.from({ length: n }, () => this.newCustomer()).filter((c) => c !== undefined);
    return new Promise((resolve) => {
      this.track(
        customers,
        this.script(customers, () => resolve(customers)).finally(() => resolve(customers)),
      );
    });
  }

  private next(): void {
    // Back-pressure: when the app falls far behind (a fault, a busy machine), wait rather
    // than pile up customers that cannot be checked in time.
    if (this.scripts.size >= MAX_IN_FLIGHT) return void this.skippedTicks++;
    const customer = this.newCustomer();
    if (customer) this.track([customer], this.script([customer]));
  }

  private newCustomer(): Customer | undefined {
    const n = this.customers.length;
    if (n >= this.opts.maxCustomers) return undefined;
    const kind: Kind = n % 9 === 8 ? 'bystander' : n % 2 === 0 ? 'browse' : 'dormant';
    const customer: Customer = {
      id: `c${String(n).padStart(4, '0')}`,
      kind,
      journeyId: JOURNEY_OF[kind],
      orders: kind !== 'bystander' && Math.floor(n / 2) % 3 === 0,
      phase: this.phase,
      events: [],
      done: false,
    };
    this.customers.push(customer);
    return customer;
  }

  private track(customers: Customer[], script: Promise<void>): void {
    const tracked = script
      .catch((err: Error) => {
        for (const c of customers) c.gaveUp ??= `script failed: ${err.message}`;
      })
      .finally(() => {
        for (const c of customers) c.done = true;
        this.scripts.delete(tracked);
      });
    this.scripts.add(tracked);
  }

  /** Identify, then (once routed) the entry event, then for some customers an order. */
  private async script(customers: Customer[], entered?: () => void): Promise<void> {
    if (!(await this.send(customers, 'identify'))) return;
    // BullMQ routes a customer's events in parallel: an entry routed before its identify would
    // find no address and skip the sends. The drill is about faults, not ordering, so it waits.
    const ids = customers.map((c) => this.opts.keys.processedEvent(eventOf(c, 'identify')!.messageId));
    if (!(await this.until(async () => (await this.opts.redis.exists(...ids)) === ids.length))) {
      for (const c of customers) c.note = 'identify not routed in time: no entry event sent';
      return;
    }
    const ok = await this.send(customers, 'entry');
    entered?.();
    if (ok) await Promise.all(customers.filter((c) => c.orders).map((c) => this.order(c)));
  }

  /** Orders just after the customer's first message arrived (so the run exists and waits). */
  private async order(c: Customer): Promise<void> {
    if (!(await this.until(() => this.opts.deliveries.firstAt(c.id) !== undefined))) {
      // Not a fault by itself (the checks judge the run); the customer simply does not order.
      c.orders = false;
      c.note = `no message within ${STEP_WAIT_MS / 1000} s of entry: no order sent`;
      return;
    }
    await sleep(Math.floor(Math.random() * 500));
    await this.send([c], 'order');
  }

  /**
   * POSTs the customers' events of one role until accepted (202), retrying with the same
   * messageIds: one customer through /v1/identify or /v1/track, several through /v1/batch.
   */
  private async send(customers: Customer[], role: SentEvent['role']): Promise<boolean> {
    const events = customers.map((c) => {
      const event: SentEvent = { messageId: `${c.id}-${role}`, role, attempts: 0 };
      c.events.push(event);
      return event;
    });
    const messages = customers.map((c) => ({ ...messageOf(c, role), messageId: `${c.id}-${role}` }));
    const single = messages.length === 1;
    const route = single ? `/v1/${messages[0]!.type}` : '/v1/batch';
    const body = single ? messages[0] : { batch: messages };
    const giveUpAt = Date.now() + RETRY_FOR_MS;
    for (let attempt = 1; Date.now() < giveUpAt && !this.stopping; attempt++) {
      for (const e of events) e.attempts = attempt;
      const status = await this.post(route, body);
      const counts = this.countsFor(this.phase);
      if (status === 202) {
        counts.accepted += events.length;
        for (const e of events) e.acceptedAt = Date.now();
        return true;
      }
      counts.refused[status] = (counts.refused[status] ?? 0) + 1;
      // A 4xx other than 408/429 will not change on retry: the drill sent something wrong.
      if (typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        for (const c of customers) c.gaveUp = `${route} answered ${status}`;
        return false;
      }
      await sleep(RETRY_MS);
    }
    for (const c of customers) c.gaveUp = `${role} not accepted within ${RETRY_FOR_MS / 1000} s`;
    return false;
  }

  private async post(route: string, body: unknown): Promise<number | 'network'> {
    try {
      const res = await fetch(`${this.opts.baseUrl}${route}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 'network';
    }
  }

  private countsFor(phase: string): RequestCounts {
    let counts = this.requests.get(phase);
    if (!counts) this.requests.set(phase, (counts = { accepted: 0, refused: {} }));
    return counts;
  }

  private async until(check: () => boolean | Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + STEP_WAIT_MS;
    while (Date.now() < deadline && !this.stopping) {
      if (await check()) return true;
      await sleep(200);
    }
    return false;
  }
}

function eventOf(c: Customer, role: SentEvent['role']): SentEvent | undefined {
  return c.events.find((e) => e.role === role);
}

/** The Segment message a customer sends in each role. */
function messageOf(
  c: Customer,
  role: SentEvent['role'],
): { type: 'identify' | 'track' } & Record<string, unknown> {
  switch (role) {
    case 'identify':
      return {
        type: 'identify',
        userId: c.id,
        traits: {
          name: `Drill ${c.id}`,
          locale: 'en',
          phone: `+86138${c.id.slice(1).padStart(8, '0')}`,
          email: `${c.id}@drill.example`,
          wecomExternalUserId: `wm-${c.id}`,
          openId: `o-${c.id}`,
          pushToken: `tok-${c.id}`,
        },
      };
    case 'entry':
      return c.kind === 'dormant'
        ? {
            type: 'track',
            userId: c.id,
            event: 'segment_entered',
            properties: { segment: 'dormant', couponCode: `CPN-${c.id}` },
          }
        : {
            type: 'track',
            userId: c.id,
            event: 'content_viewed',
            properties: {
              category: c.kind === 'browse' ? 'living-room-decoration' : 'kitchen',
              title: 'Nordic living room',
            },
          };
    case 'order':
      return {
        type: 'track',
        userId: c.id,
        event: 'order_completed',
        properties: { amount: 1999, orderId: `o-${c.id}` },
      };
  }
}
