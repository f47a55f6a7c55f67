import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../customers/keys';
import type { ConfigIssue } from '../language/errors';
import type { LoadOptions } from '../language/load';
import type { Journey } from '../language/types';
import { checkSource, type SourceCheck, type SourceCheckOptions } from './check';
import { RegistryError } from './errors';
import type {
  DraftRecord,
  HistoryEntry,
  JourneyState,
  JourneyStatus,
  LifecycleAction,
  RegistrySnapshot,
  ReleaseInfo,
  SourceFormat,
  StoredJourney,
  VersionRecord,
} from './types';

/*
 * Layout (keys from customers/keys.ts): per journey a state hash (status, latest, updatedAt,
 * draftSha), a hash of published journeys by version, a hash of release records (source, who,
 * when) by version, a draft string and an append-only history list; one set of journey ids and
 * one revision counter bumped by every change, which catalogs poll to reload cheaply.
 * Every write that depends on what is stored runs as one Lua script, so concurrent publishers
 * and lifecycle actions (from several API processes) never interleave.
 */

/**
 * KEYS: state, versions, releases, history, revision, index, draft.
 * ARGV: id, expected latest, new version, journey JSON, release JSON, history JSON, at, source sha.
 * Answers the journey's status, or -1 when another publish got there first (the caller retries).
 */
const PUBLISH = `
local latest = tonumber(redis.call('HGET', KEYS[1], 'latest') or '0')
if latest ~= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
local status = redis.call('HGET', KEYS[1], 'status')
if (not status) or status == 'draft' then status = 'published' end
redis.call('HSET', KEYS[1], 'latest', ARGV[3], 'status', status, 'updatedAt', ARGV[7])
redis.call('RPUSH', KEYS[4], ARGV[6])
redis.call('SADD', KEYS[6], ARGV[1])
if redis.call('HGET', KEYS[1], 'draftSha') == ARGV[8] then
  redis.call('DEL', KEYS[7])
  redis.call('HDEL', KEYS[1], 'draftSha')
end
redis.call('INCR', KEYS[5])
return status`;

/**
 * KEYS: state, history, revision. ARGV: allowed statuses (space-separated), new status, history
 * JSON (its "status" placeholders filled here), at. Answers {'ok', old status, history length},
 * {'missing'} or {'refused', status}.
 */
const TRANSITION = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
local allowed = false
for s in string.gmatch(ARGV[1], '%S+') do
  if s == status then allowed = true end
end
if not allowed then return {'refused', status} end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updatedAt', ARGV[4])
local n = redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('INCR', KEYS[3])
return {'ok', status, n}`;

/** KEYS: state, history, revision. ARGV: history JSON. Appends when the journey exists; -1 if not. */
const APPEND_HISTORY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[3])
return n`;

/** KEYS: history, revision. ARGV: index, JSON to merge (a flat object). Rewrites one entry. */
const ANNOTATE_HISTORY = `
local entry = redis.call('LINDEX', KEYS[1], ARGV[1])
if not entry then return 0 end
local merged = string.sub(entry, 1, -2) .. ',' .. string.sub(ARGV[2], 2)
redis.call('LSET', KEYS[1], ARGV[1], merged)
redis.call('INCR', KEYS[2])
return 1`;

export interface JourneyStoreOptions {
  /** How every source is validated: templates, webhook / notify target names. */
  check?: LoadOptions;
  /** The clock for publishedAt / history times (tests). */
  now?: () => Date;
}

/** How to validate (format, expected id, file label, templates...) and who publishes, with a note. */
export interface PublishOptions extends SourceCheckOptions {
  /** Who publishes (the API's actor, `startup` for seeding). */
  by: string;
  note?: string;
}

export type PublishResult =
  | {
      ok: true;
      /** False when the source equals the latest version's: nothing was published. */
      created: boolean;
      id: string;
      version: number;
      status: JourneyStatus;
      journey: Journey;
      warnings: ConfigIssue[];
    }
  | { ok: false; issues: ConfigIssue[]; warnings: ConfigIssue[] };

export interface TransitionRequest {
  action: LifecycleAction;
  /** Statuses the action is allowed from. */
  from: readonly JourneyStatus[];
  to: JourneyStatus;
  by: string;
  reason?: string;
}

export interface TransitionResult {
  previous: JourneyStatus;
  status: JourneyStatus;
  version: number;
  /** Index of the history entry recorded, for annotateHistory. */
  historyIndex: number;
}

/** One journey as listed: its state, its latest version (if any), its draft's name. */
export interface JourneyListing {
  state: JourneyState;
  journey?: Journey;
}

/** Journeys, their drafts, immutable published versions, status and lifecycle log, in Redis. */
export class JourneyStore {
  private readonly checkDefaults: LoadOptions;
  private readonly now: () => Date;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    options: JourneyStoreOptions = {},
  ) {
    this.checkDefaults = options.check ?? {};
    this.now = options.now ?? (() => new Date());
  }

  /** Validates a source with the store's own options (templates, targets) plus `opts`. */
  check(source: string, opts: SourceCheckOptions = {}): SourceCheck {
    return checkSource(source, { ...this.checkDefaults, ...opts });
  }

  /** Bumped by every change; a catalog reloads when it moved. */
  async revision(): Promise<number> {
    return Number((await this.redis.get(this.keys.registryRevision())) ?? 0);
  }

  async state(id: string): Promise<JourneyState | undefined> {
    const raw = await this.redis.hgetall(this.keys.registryJourney(id));
    return raw.status ? toState(id, raw) : undefined;
  }

  async status(id: string): Promise<JourneyStatus | undefined> {
    return (await this.state(id))?.status;
  }

  /** The latest published version, or undefined when the journey has none. */
  async latest(id: string): Promise<VersionRecord | undefined> {
    const state = await this.state(id);
    return state && state.latest > 0 ? this.version(id, state.latest) : undefined;
  }

  async version(id: string, version: number): Promise<VersionRecord | undefined> {
    const [journey, release] = await Promise.all([
      this.redis.hget(this.keys.registryVersions(id), String(version)),
      this.redis.hget(this.keys.registryReleases(id), String(version)),
    ]);
    if (journey === null || release === null) return undefined;
    return toRecord(journey, release);
  }

  /** Every published version of a journey, oldest first. */
  async versions(id: string): Promise<VersionRecord[]> {
    const [journeys, releases] = await Promise.all([
      this.redis.hgetall(this.keys.registryVersions(id)),
      this.redis.hgetall(this.keys.registryReleases(id)),
    ]);
    return Object.keys(journeys)
      .map(Number)
      .sort((a, b) => a - b)
      .filter((v) => releases[String(v)] !== undefined)
      .map((v) => toRecord(journeys[String(v)]!, releases[String(v)]!));
  }

  /** Every journey, sorted by id: state and latest version. */
  async list(): Promise<JourneyListing[]> {
    const ids = (await this.redis.smembers(this.keys.registryJourneys())).sort();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.registryJourney(id));
    const states = ((await pipeline.exec()) ?? []).map(([err, raw], i) => {
      if (err) throw err;
      return toState(ids[i]!, raw as Record<string, string>);
    });
    const latest = this.redis.pipeline();
    for (const state of states) latest.hget(this.keys.registryVersions(state.id), String(state.latest));
    const journeys = (await latest.exec()) ?? [];
    return states.map((state, i) => {
      const json = journeys[i]?.[1];
      return typeof json === 'string' ? { state, journey: JSON.parse(json) as Journey } : { state };
    });
  }

  /**
   * Every journey with every published version, read after the revision so that a change racing
   * with the read shows up as a newer revision on the next refresh.
   */
  async snapshot(): Promise<RegistrySnapshot> {
    const revision = await this.revision();
    const ids = (await this.redis.smembers(this.keys.registryJourneys())).sort();
    const pipeline = this.redis.pipeline();
    for (const id of ids) {
      pipeline.hgetall(this.keys.registryJourney(id));
      pipeline.hgetall(this.keys.registryVersions(id));
    }
    const replies = (await pipeline.exec()) ?? [];
    const journeys: StoredJourney[] = [];
    ids.forEach((id, i) => {
      const [stateErr, stateRaw] = replies[2 * i] ?? [];
      const [versionsErr, versionsRaw] = replies[2 * i + 1] ?? [];
      if (stateErr || versionsErr) throw stateErr ?? versionsErr;
      const state = stateRaw as Record<string, string>;
      if (!state.status) return;
      const byVersion = versionsRaw as Record<string, string>;
      const versions = Object.keys(byVersion)
        .map(Number)
        .sort((a, b) => a - b)
        .map((v) => JSON.parse(byVersion[String(v)]!) as Journey);
      const { status, latest } = toState(id, state);
      journeys.push({ id, status, latest, versions });
    });
    return { revision, journeys };
  }

  /**
   * Validates `source` and publishes it as the next version (latest + 1; the source's own
   * `version:` is ignored). Publishing the same text as the latest version changes nothing and
   * answers that version. A first publish (or one of a draft-only journey) makes the journey
   * `published`; a paused or stopped journey keeps its status (resume opens it again).
   * Invalid sources store nothing.
   */
  async publish(source: string, opts: PublishOptions): Promise<PublishResult> {
    const { by, note, ...checkOpts } = opts;
    const checked = this.check(source, checkOpts);
    if (!checked.journey) return { ok: false, issues: checked.issues, warnings: checked.warnings };
    const id = checked.journey.id;
    for (let attempt = 0; attempt < 20; attempt++) {
      const state = await this.state(id);
      const latestVersion = state?.latest ?? 0;
      if (latestVersion > 0) {
        const current = await this.version(id, latestVersion);
        if (current && current.source === source) {
          return {
            ok: true,
            created: false,
            id,
            version: current.version,
            status: state!.status,
            journey: current.journey,
            warnings: checked.warnings,
          };
        }
      }
      const version = latestVersion + 1;
      const at = this.now().toISOString();
      const journey: Journey = { ...checked.journey, version };
      const release: ReleaseInfo & { source: string } = {
        version,
        publishedAt: at,
        publishedBy: by,
        ...(note ? { note } : {}),
        format: checked.format,
        source,
      };
      const entry: HistoryEntry = {
        at,
        action: 'publish',
        by,
        version,
        ...(note ? { note } : {}),
        from: state?.status ?? null,
      };
      const status = await this.redis.eval(
        PUBLISH,
        7,
        this.keys.registryJourney(id),
        this.keys.registryVersions(id),
        this.keys.registryReleases(id),
        this.keys.registryHistory(id),
        this.keys.registryRevision(),
        this.keys.registryJourneys(),
        this.keys.registryDraft(id),
        id,
        latestVersion,
        version,
        JSON.stringify(journey),
        JSON.stringify(release),
        JSON.stringify(entry),
        at,
        sha(source),
      );
      if (status === -1) continue; // another publish of this journey won the race: look again
      return {
        ok: true,
        created: true,
        id,
        version,
        status: status as JourneyStatus,
        journey,
        warnings: checked.warnings,
      };
    }
    throw new Error(`publishing journey ${id} kept conflicting with other publishes`);
  }

  /** Saves a draft, whatever its problems (they are listed with it). A new id starts as `draft`. */
  async saveDraft(
    id: string,
    source: string,
    opts: { format?: SourceFormat; by: string } & LoadOptions,
  ): Promise<DraftRecord> {
    const { by, ...checkOpts } = opts;
    const checked = this.check(source, { ...checkOpts, id });
    const draft: DraftRecord = {
      id,
      source,
      format: checked.format,
      savedAt: this.now().toISOString(),
      savedBy: by,
      valid: checked.issues.length === 0,
      issues: checked.issues,
      warnings: checked.warnings,
    };
    const state = this.keys.registryJourney(id);
    await this.redis
      .multi()
      .set(this.keys.registryDraft(id), JSON.stringify(draft))
      .hset(state, 'draftSha', sha(source), 'updatedAt', draft.savedAt)
      .hsetnx(state, 'status', 'draft')
      .hsetnx(state, 'latest', '0')
      .sadd(this.keys.registryJourneys(), id)
      .incr(this.keys.registryRevision())
      .exec();
    return draft;
  }

  async draft(id: string): Promise<DraftRecord | undefined> {
    const json = await this.redis.get(this.keys.registryDraft(id));
    return json === null ? undefined : (JSON.parse(json) as DraftRecord);
  }

  /**
   * Moves a journey from one of `from` to `to`, recording the action in its history, atomically.
   * Throws RegistryError not_found / conflict (nothing changed).
   */
  async transition(id: string, request: TransitionRequest): Promise<TransitionResult> {
    const state = await this.state(id);
    if (!state) throw new RegistryError('not_found', `no journey ${JSON.stringify(id)}`);
    const at = this.now().toISOString();
    const entry: HistoryEntry = {
      at,
      action: request.action,
      by: request.by,
      ...(state.latest > 0 ? { version: state.latest } : {}),
      ...(request.reason ? { reason: request.reason } : {}),
      from: state.status,
      status: request.to,
    };
    const reply = (await this.redis.eval(
      TRANSITION,
      3,
      this.keys.registryJourney(id),
      this.keys.registryHistory(id),
      this.keys.registryRevision(),
      request.from.join(' '),
      request.to,
      JSON.stringify(entry),
      at,
    )) as [string, string?, number?];
    if (reply[0] === 'missing') throw new RegistryError('not_found', `no journey ${JSON.stringify(id)}`);
    if (reply[0] === 'refused') {
      throw new RegistryError('conflict', refusal(id, request.action, reply[1] as JourneyStatus));
    }
    if (reply[1] !== state.status) {
      // The status moved between our read and the script: record what it really was.
      await this.annotateHistory(id, Number(reply[2]) - 1, { from: reply[1] as JourneyStatus });
    }
    return {
      previous: reply[1] as JourneyStatus,
      status: request.to,
      version: state.latest,
      historyIndex: Number(reply[2]) - 1,
    };
  }

  /** Appends an entry to a journey's history (e.g. a migration); answers its index. */
  async appendHistory(id: string, entry: HistoryEntry): Promise<number> {
    const n = Number(
      await this.redis.eval(
        APPEND_HISTORY,
        3,
        this.keys.registryJourney(id),
        this.keys.registryHistory(id),
        this.keys.registryRevision(),
        JSON.stringify(entry),
      ),
    );
    if (n < 0) throw new RegistryError('not_found', `no journey ${JSON.stringify(id)}`);
    return n - 1;
  }

  /** Adds fields to a history entry after the fact (how many runs a stop or migration reached). */
  async annotateHistory(id: string, index: number, fields: Partial<HistoryEntry>): Promise<void> {
    const json = JSON.stringify(fields);
    if (json === '{}') return;
    await this.redis.eval(
      ANNOTATE_HISTORY,
      2,
      this.keys.registryHistory(id),
      this.keys.registryRevision(),
      index,
      json,
    );
  }

  /** The lifecycle log, oldest first; undefined when the journey does not exist. */
  async history(id: string): Promise<HistoryEntry[] | undefined> {
    const [exists, entries] = await Promise.all([
      this.redis.exists(this.keys.registryJourney(id)),
      this.redis.lrange(this.keys.registryHistory(id), 0, -1),
    ]);
    if (!exists) return undefined;
    // An annotated entry may repeat a key; JSON.parse keeps the last (the annotation).
    return entries.map((e) => JSON.parse(e) as HistoryEntry);
  }
}

function refusal(id: string, action: LifecycleAction, status: JourneyStatus): string {
  if (status === 'draft') return `journey ${id} has no published version to ${action}`;
  const done: Partial<Record<LifecycleAction, JourneyStatus>> = {
    pause: 'paused',
    resume: 'published',
    stop: 'stopped',
  };
  if (done[action] === status) return `journey ${id} is already ${status}`;
  return `journey ${id} is ${status}: cannot ${action} it`;
}

function toState(id: string, raw: Record<string, string>): JourneyState {
  return {
    id,
    status: (raw.status ?? 'draft') as JourneyStatus,
    latest: Number(raw.latest ?? 0),
    hasDraft: raw.draftSha !== undefined,
    updatedAt: raw.updatedAt ?? null,
  };
}

function toRecord(journeyJson: string, releaseJson: string): VersionRecord {
  const release = JSON.parse(releaseJson) as ReleaseInfo & { source: string };
  return { ...release, journey: JSON.parse(journeyJson) as Journey };
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
