import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import type { CouponStore } from '../coupons/store';
import type { CustomerIdentifier, IdentityResolver } from '../customers/identity';
import { SENSITIVE_TYPES } from '../customers/identifiers';
import { maskValue } from '../customers/masking';
import type { ProfileStore } from '../customers/profiles';
import { TOUCH_OUTCOME_FIELDS, touchFields, type TouchLog, type TouchRecord } from '../customers/touches';
import { maskAddress } from '../delivery/mask-address';
import type { DeliveryMessage } from '../delivery/message';
import type { Journey } from '../language/types';
import type { ConsentStore } from '../rules/consent';
import { customerIdKey, journeyIdKey, journeyVersionKey } from '../runtime/search-attributes';
import {
  journeyWorkflowId,
  stateQuery,
  type JourneyResult,
  type PathEntry,
  type RunState,
} from '../workflows/definitions';
import type { CustomerEventLog, LoggedEvent } from './customer-events';
import { ContentMasker } from './masked-content';
import { explainEntry } from './path-reasons';
import type { Timeline, TimelineItem } from './timeline-types';

// Declared in timeline-types.ts, which the console imports.
export { TIMELINE_KINDS, type Timeline, type TimelineItem, type TimelineKind } from './timeline-types';

export interface TimelineQuery {
  since?: Date;
  until?: Date;
  /** Default 100. */
  limit?: number;
  /** Personal data unmasked (the caller checked the permission and audits the read). */
  reveal?: boolean;
}

/** Where the timeline reads from: the engine's own records and Temporal. */
export interface TimelineSources {
  temporal: Client;
  events: Pick<CustomerEventLog, 'list'>;
  touches: Pick<TouchLog, 'latestForCustomer'>;
  profiles: Pick<ProfileStore, 'get' | 'sensitiveTraits'>;
  /** Identity stitching: merged ids and merges; without it an id is only itself. */
  identity?: Pick<IdentityResolver, 'canonical' | 'aliasesOf' | 'customer' | 'history'>;
  consent?: Pick<ConsentStore, 'history'>;
  coupons?: Pick<CouponStore, 'describe'>;
  /** A published journey version (the registry): steps are explained as the run's pinned version defines them. */
  journeyVersion?: (journeyId: string, version: number) => Promise<Journey | undefined>;
  /** How long reading one run's state may take (a closed run's query replays it on a worker). Default 5 s. */
  queryTimeoutMs?: number;
}

/** Read per customer id: the latest this many touches, and at most this many runs. */
const TOUCHES_READ = 500;
const RUNS_READ = 200;
/** Runs read at once. */
const RUN_READS_AT_ONCE = 8;

const SKIP_REASONS: Record<string, string> = {
  no_consent: 'no consent',
  quiet_hours: 'quiet hours',
  frequency_cap: 'frequency cap',
  no_address: 'no address',
  content_too_long: 'content too long for the channel',
  holdback: 'holdback (control group)',
};

type Touch = TouchRecord & { idempotencyKey: string };

/** A run (one Temporal execution that did not continue as new) of one of the customer's journeys. */
interface RunRef {
  workflowId: string;
  runId: string;
  temporalStatus: string;
  startTime: string;
  closeTime?: string;
  journeyId?: string;
  version?: number;
  customerId?: string;
  entryMessageId?: string;
}

/**
 * One customer's timeline across every journey they have runs in: events received (the router's
 * log, audit/customer-events.ts), each run's entry, steps, touches and skips, coupons issued and
 * redeemed, the end of each run, consent changes and identity merges, newest first. A merged-away
 * id answers the customer it merged into, and the records of every id merged into a customer are
 * theirs. Runs are found in Temporal visibility by TouchpointCustomerId (plus the journeys their
 * touch records name, in case visibility lags); each run's path comes from its state query.
 * Unless revealed, personal data in event properties, message content and step details is masked
 * (audit/masked-content.ts) and addresses are masked as the touch audit masks them.
 */
export class CustomerTimeline {
  constructor(private readonly sources: TimelineSources) {}

  /** The timeline, or null when nothing at all is known of the customer. */
  async build(asked: string, query: TimelineQuery = {}): Promise<Timeline | null> {
    const { sources } = this;
    const reveal = query.reveal ?? false;
    const customerId = (await sources.identity?.canonical(asked)) ?? asked;
    const aliases = (await sources.identity?.aliasesOf(customerId)) ?? [];
    const ids = [customerId, ...aliases.filter((id) => id !== customerId)];

    const [events, touches, profiles, identity, history, consent] = await Promise.all([
      Promise.all(ids.map((id) => sources.events.list(id, { reveal }).then((e) => ({ id, events: e })))),
      Promise.all(ids.map((id) => sources.touches.latestForCustomer(id, TOUCHES_READ))),
      Promise.all(ids.map((id) => sources.profiles.get(id))),
      sources.identity?.customer(customerId),
      sources.identity?.history(customerId),
      sources.consent?.history(customerId) ?? [],
    ]);
    const touchByKey = new Map(touches.flat().map((t) => [t.idempotencyKey, t]));
    const runs = await this.runsOf(ids, new Set([...touchByKey.values()].map((t) => t.journeyId)));
    const known =
      identity !== undefined ||
      profiles.some((p) => Object.keys(p).length > 0) ||
      events.some((e) => e.events.length > 0) ||
      touchByKey.size > 0 ||
      runs.length > 0 ||
      consent.length > 0;
    if (!known) return null;

    const masker = reveal ? undefined : this.masker(profiles, [...touchByKey.values()]);
    const out = new Items();
    const seen = new Set<string>();
    for (const { id, events: logged } of events) {
      for (const event of [...logged].reverse()) {
        if (seen.has(event.messageId)) continue; // routed under one id, then again under another
        seen.add(event.messageId);
        out.push(eventItem(event, id === customerId ? undefined : id, masker));
      }
    }
    const coupons: { code: string; journeyId?: string; version?: number; stepId: string }[] = [];
    const runStates = await mapLimited(runs, RUN_READS_AT_ONCE, (run) => this.readRun(run));
    const pinned = await this.pinnedVersions(runs, runStates);
    runs.forEach((run, i) => {
      const read = runStates[i]!;
      for (const item of runItems(run, read, touchByKey, masker, reveal, pinned)) out.push(item);
      for (const entry of read.path)
        if (entry.type === 'issueCoupon' && typeof entry.detail?.code === 'string')
          coupons.push({
            code: entry.detail.code,
            journeyId: run.journeyId,
            version: read.version,
            stepId: entry.stepId,
          });
    });
    // Touches no run's path accounted for (its history is gone, or it could not be read).
    for (const touch of touchByKey.values()) out.push(touchItem(touch, undefined, masker, reveal));
    for (const item of await this.redemptions(coupons)) out.push(item);
    for (const record of consent) {
      const topic = record.topic === '*' ? 'every topic' : record.topic;
      out.push({
        at: record.at,
        kind: 'consent',
        summary: `consent ${record.status}: ${record.channel} ${topic} (${record.source})`,
        detail: { ...record },
      });
    }
    for (const merge of history?.merges ?? []) {
      const via = (i: CustomerIdentifier) => (reveal ? i : maskIdentifier(i));
      out.push({
        at: merge.at,
        kind: 'merge',
        summary: `${merge.loser} merged into ${merge.winner}`,
        detail: {
          id: merge.id,
          winner: merge.winner,
          loser: merge.loser,
          loserAliases: merge.loserAliases,
          messageId: merge.messageId,
          via: merge.via.map(via),
          completed: merge.completed,
        },
      });
    }
    const { items, more } = out.select(query);
    return {
      customerId,
      ...(asked !== customerId && { resolvedFrom: asked }),
      aliases: ids.slice(1),
      items,
      more,
    };
  }

  /** The customer's sensitive values and the addresses their messages went to: what masking hides. */
  private masker(profiles: Record<string, unknown>[], touches: Touch[]): ContentMasker {
    const sensitive = this.sources.profiles.sensitiveTraits();
    const values = profiles.flatMap((p) =>
      sensitive.flatMap((name) => (p[name] === undefined ? [] : [{ name, value: p[name] }])),
    );
    const addresses = touches.flatMap((t) => {
      const message = parseMessage(t);
      return message?.to ? [message.to] : [];
    });
    return new ContentMasker(values, addresses);
  }

  /**
   * The runs of the customer's ids, newest first: visibility by TouchpointCustomerId, and the
   * latest run of each journey their touches name that visibility did not list (yet).
   */
  private async runsOf(ids: string[], touchedJourneys: Set<string>): Promise<RunRef[]> {
    const { temporal } = this.sources;
    const quoted = ids.map(quote).filter((q): q is string => q !== undefined);
    const runs: RunRef[] = [];
    if (quoted.length > 0) {
      const query = quoted.map((q) => `${customerIdKey.name} = ${q}`).join(' OR ');
      for await (const info of temporal.workflow.list({ query })) {
        if (info.status.name !== 'CONTINUED_AS_NEW') runs.push(runRef(info));
        if (runs.length >= RUNS_READ) break;
      }
    }
    const listed = new Set(runs.map((r) => r.workflowId));
    for (const journeyId of touchedJourneys) {
      for (const id of ids) {
        const workflowId = journeyWorkflowId(journeyId, id);
        if (listed.has(workflowId)) continue;
        try {
          const described = await temporal.workflow.getHandle(workflowId).describe();
          if (described.status.name !== 'CONTINUED_AS_NEW') runs.push(runRef(described));
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
      }
    }
    return runs;
  }

  /**
   * A run's own account of itself (the state query; a closed run answers by replay on a worker),
   * else, for a completed run, its result: the path without the state around it.
   */
  private async readRun(run: RunRef): Promise<RunRead> {
    const { temporal, queryTimeoutMs = 5000 } = this.sources;
    const handle = temporal.workflow.getHandle(run.workflowId, run.runId);
    const state = await temporal.connection
      .withDeadline(Date.now() + queryTimeoutMs, () => handle.query(stateQuery))
      .catch(() => null);
    if (state) return { state, path: state.path, version: state.journeyVersion ?? run.version };
    if (run.temporalStatus === 'COMPLETED') {
      const result = (await handle.result().catch(() => null)) as JourneyResult | null;
      if (result) return { result, path: result.path, version: run.version };
    }
    return { path: [], version: run.version };
  }

  /** The journey versions the runs followed, by `<journeyId>@<version>` (none without a lookup). */
  private async pinnedVersions(runs: RunRef[], reads: RunRead[]): Promise<Map<string, Journey>> {
    const lookup = this.sources.journeyVersion;
    const out = new Map<string, Journey>();
    if (!lookup) return out;
    const wanted = new Map<string, [string, number]>();
    runs.forEach((run, i) => {
      const journeyId = reads[i]!.state?.journeyId ?? run.journeyId ?? journeyOf(run.workflowId);
      for (const version of versionsAlong(reads[i]!))
        if (version !== undefined) wanted.set(`${journeyId}@${version}`, [journeyId, version]);
    });
    await Promise.all(
      [...wanted].map(async ([key, [journeyId, version]]) => {
        const journey = await lookup(journeyId, version);
        if (journey) out.set(key, journey);
      }),
    );
    return out;
  }

  private async redemptions(
    coupons: { code: string; journeyId?: string; version?: number; stepId: string }[],
  ): Promise<TimelineItem[]> {
    const store = this.sources.coupons;
    if (!store) return [];
    const views = await Promise.all(coupons.map((c) => store.describe(c.code)));
    return coupons.flatMap((c, i) => {
      const redemption = views[i]?.redemption;
      if (!redemption) return [];
      return [
        {
          at: redemption.at,
          kind: 'coupon-redeemed' as const,
          ...(c.journeyId !== undefined && { journeyId: c.journeyId }),
          ...(c.version !== undefined && { version: c.version }),
          stepId: c.stepId,
          summary: `coupon ${c.code} redeemed${redemption.orderId ? ` (order ${redemption.orderId})` : ''}`,
          detail: {
            code: c.code,
            campaign: views[i]!.campaign,
            value: views[i]!.value,
            currency: views[i]!.currency,
            via: redemption.via,
            redemptionId: redemption.id,
            ...(redemption.orderId !== undefined && { orderId: redemption.orderId }),
            ...(redemption.amount !== undefined && { amount: redemption.amount }),
          },
        },
      ];
    });
  }
}

interface RunRead {
  state?: RunState;
  result?: JourneyResult;
  path: PathEntry[];
  version?: number;
}

/** Items in the order they were produced (oldest first within each source), sorted at the end. */
class Items {
  private readonly list: { item: TimelineItem; seq: number; ms: number }[] = [];

  push(item: TimelineItem): void {
    this.list.push({ item, seq: this.list.length, ms: Date.parse(item.at) });
  }

  /** Newest first (at the same instant, the one produced later first), within the query's bounds. */
  select({ since, until, limit = 100 }: TimelineQuery): { items: TimelineItem[]; more: boolean } {
    const from = since?.getTime() ?? -Infinity;
    const to = until?.getTime() ?? Infinity;
    const matching = this.list
      .filter(({ ms }) => ms >= from && ms <= to)
      .sort((a, b) => b.ms - a.ms || b.seq - a.seq);
    return { items: matching.slice(0, limit).map(({ item }) => item), more: matching.length > limit };
  }
}

function runRef(info: Omit<WorkflowExecutionInfo, 'raw'>): RunRef {
  const attributes = info.typedSearchAttributes;
  const entryMessageId = info.memo?.entryMessageId;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    temporalStatus: info.status.name,
    startTime: info.startTime.toISOString(),
    ...(info.closeTime && { closeTime: info.closeTime.toISOString() }),
    journeyId: attributes.get(journeyIdKey),
    version: attributes.get(journeyVersionKey),
    customerId: attributes.get(customerIdKey),
    ...(typeof entryMessageId === 'string' && { entryMessageId }),
  };
}

/** The run's entry, its path (touches joined in from their records) and its end. */
function runItems(
  run: RunRef,
  read: RunRead,
  touches: Map<string, Touch>,
  masker: ContentMasker | undefined,
  reveal: boolean,
  pinned: Map<string, Journey>,
): TimelineItem[] {
  const journeyId = read.state?.journeyId ?? run.journeyId ?? journeyOf(run.workflowId);
  const where = { journeyId, ...(read.version !== undefined && { version: read.version }) };
  const items: TimelineItem[] = [];
  const { state, path } = read;
  items.push({
    at: state?.enteredAt ?? path[0]?.at ?? run.startTime,
    kind: 'step',
    ...where,
    summary: `entered ${journeyId}${read.version !== undefined ? ` v${read.version}` : ''}`,
    detail: {
      workflowId: run.workflowId,
      runId: run.runId,
      ...(run.customerId !== undefined && { customerId: run.customerId }),
      ...(run.entryMessageId !== undefined && { entryMessageId: run.entryMessageId }),
      ...(state?.group && { group: state.group }),
      ...(state?.migratedFrom && { migratedFrom: state.migratedFrom }),
      ...(!state && !read.result && { unreadable: 'the run did not answer its state query' }),
    },
  });
  const versions = versionsAlong(read);
  path.forEach((entry, i) => {
    const journey = versions[i] === undefined ? undefined : pinned.get(`${journeyId}@${versions[i]}`);
    items.push(pathItem(entry, where, touches, masker, reveal, journey));
  });
  const ended = runEnd(run, read, where);
  if (ended) items.push(ended);
  return items;
}

function pathItem(
  entry: PathEntry,
  where: { journeyId: string; version?: number },
  touches: Map<string, Touch>,
  masker: ContentMasker | undefined,
  reveal: boolean,
  journey: Journey | undefined,
): TimelineItem {
  const base = { at: entry.at, ...where, stepId: entry.stepId };
  const outcome = entry.outcome ?? '';
  const skipped = outcome.startsWith('skipped:') ? outcome.slice('skipped:'.length) : undefined;
  const detail = entry.detail ?? {};
  const key = typeof detail.idempotencyKey === 'string' ? detail.idempotencyKey : undefined;
  const touch = key === undefined ? undefined : touches.get(key);
  if (touch) touches.delete(key!); // shown here, not again on its own
  if (entry.type === 'send' && touch) return touchItem(touch, entry, masker, reveal);
  if (skipped !== undefined) {
    const what =
      [detail.channel, detail.template].filter(Boolean).join(' ') || `${entry.type} ${entry.stepId}`;
    return {
      ...base,
      kind: 'skip',
      summary: `${what} skipped: ${SKIP_REASONS[skipped] ?? skipped}`,
      detail: { type: entry.type, reason: skipped, ...(masker ? masker.deep(detail) : detail) },
    };
  }
  if (entry.type === 'issueCoupon' && outcome === 'issued') {
    return {
      ...base,
      kind: 'coupon-issued',
      summary: `coupon ${String(detail.code)} issued (${String(detail.campaign)})`,
      detail: { ...detail },
    };
  }
  // Why the run went where it went, in words (audit/path-reasons.ts), from the pinned step.
  const explained = explainEntry(
    entry,
    journey?.steps.find((s) => s.id === entry.stepId),
    journey,
  );
  const reason = masker ? masker.text(explained) : explained;
  return {
    ...base,
    kind: 'step',
    summary: `${entry.type} ${entry.stepId}: ${reason}`,
    detail: {
      type: entry.type,
      ...(entry.outcome !== undefined && { outcome }),
      reason,
      ...(masker ? masker.deep(detail) : detail),
    },
  };
}

/** A touch as the timeline shows it: what was sent, to whom and what became of it; skips with the reason. */
function touchItem(
  touch: Touch,
  entry: PathEntry | undefined,
  masker: ContentMasker | undefined,
  reveal: boolean,
): TimelineItem {
  const where = {
    journeyId: touch.journeyId,
    version: touch.journeyVersion,
    stepId: touch.stepId,
  };
  const what = `${touch.channel} ${touch.template}`;
  if (touch.status.startsWith('skipped:')) {
    const reason = touch.status.slice('skipped:'.length);
    return {
      at: touch.at,
      kind: 'skip',
      ...where,
      summary: `${what} skipped: ${SKIP_REASONS[reason] ?? reason}`,
      detail: {
        type: 'send',
        reason,
        channel: touch.channel,
        template: touch.template,
        idempotencyKey: touch.idempotencyKey,
      },
    };
  }
  const message = parseMessage(touch);
  const shown = (text: string | null | undefined) =>
    text === null || text === undefined ? text : masker ? masker.text(text) : text;
  return {
    at: touch.at,
    kind: 'touch',
    ...where,
    summary: `${what}: ${touch.status}`,
    detail: {
      channel: touch.channel,
      template: touch.template,
      status: touch.status,
      idempotencyKey: touch.idempotencyKey,
      ...(entry && { stepStartedAt: entry.at }),
      ...(message && {
        to: reveal ? message.to : maskAddress(message.to),
        locale: message.locale,
        subject: shown(message.subject),
        body: shown(message.body),
      }),
      // correlationId: the messageId of the event that led to the touch (when recorded).
      ...touchFields(touch, [...TOUCH_OUTCOME_FIELDS, 'correlationId', 'discardedAt', 'discardReason']),
    },
  };
}

/** How the run ended, once it has: converted, completed, exited (with the reason), or failed in Temporal. */
function runEnd(
  run: RunRef,
  read: RunRead,
  where: { journeyId: string; version?: number },
): TimelineItem | undefined {
  if (run.temporalStatus === 'RUNNING') return undefined;
  const status =
    run.temporalStatus === 'COMPLETED'
      ? (read.state?.status ?? read.result?.status ?? 'completed')
      : run.temporalStatus.toLowerCase().replace(/_/g, ' ');
  const conversion = read.state?.conversion;
  const exitReason = read.state?.exitReason;
  return {
    at: run.closeTime ?? conversion?.at ?? read.path.at(-1)?.at ?? run.startTime,
    kind: 'step',
    ...where,
    summary: `${status} ${where.journeyId}${conversion ? ` on ${conversion.event}` : ''}${exitReason ? `: ${exitReason}` : ''}`,
    detail: {
      status,
      temporalStatus: run.temporalStatus,
      workflowId: run.workflowId,
      runId: run.runId,
      ...(conversion && { conversion }),
      ...(exitReason && { exitReason }),
    },
  };
}

function eventItem(
  event: LoggedEvent,
  as: string | undefined,
  masker: ContentMasker | undefined,
): TimelineItem {
  const summary =
    event.type === 'identify'
      ? `identify: ${Object.keys(event.properties).join(', ') || 'no traits'}`
      : event.type === 'enrol'
        ? `enrolled into ${event.journeyId ?? '?'}`
        : event.event!;
  const { sealed: _sealed, properties, ...rest } = event;
  return {
    at: event.receivedAt,
    kind: 'event',
    summary,
    detail: {
      ...rest,
      properties: masker ? masker.deep(properties) : properties,
      ...(as !== undefined && { customerId: as }),
    },
  };
}

/**
 * The journey version the run followed at each path entry: a migration (`migrate` entry with
 * outcome `version:<n>`) moves it from `detail.from` to n; before the first, the run's first version.
 */
function versionsAlong(read: RunRead): (number | undefined)[] {
  const migrations = read.path.filter((e) => e.type === 'migrate' && e.outcome?.startsWith('version:'));
  let current: number | undefined =
    typeof migrations[0]?.detail?.from === 'number' ? migrations[0].detail.from : read.version;
  return read.path.map((entry) => {
    const at = current;
    if (entry.type === 'migrate' && entry.outcome?.startsWith('version:'))
      current = Number(entry.outcome.slice('version:'.length));
    return at;
  });
}

function parseMessage(touch: Touch): DeliveryMessage | undefined {
  if (!touch.message) return undefined;
  try {
    return JSON.parse(touch.message) as DeliveryMessage;
  } catch {
    return undefined;
  }
}

/** A sensitive identifier masked as its trait would be (as GET /v1/customers/:id/merges shows it). */
function maskIdentifier(identifier: CustomerIdentifier): CustomerIdentifier {
  if (!SENSITIVE_TYPES.has(identifier.type) || identifier.value === undefined) return identifier;
  return { ...identifier, value: maskValue(identifier.type, identifier.value) };
}

/** `journey:<journeyId>:<customerId>` → journeyId (journey ids have no `:`). */
function journeyOf(workflowId: string): string {
  return workflowId.split(':')[1] ?? workflowId;
}

/**
 * A customer id as a visibility query string literal; undefined when it cannot be written safely
 * (such an id's runs are found through its touches only).
 */
function quote(id: string): string | undefined {
  if (id.includes('\\')) return undefined;
  if (!id.includes("'")) return `'${id}'`;
  if (!id.includes('"')) return `"${id}"`;
  return undefined;
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
