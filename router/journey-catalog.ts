import type { Journey } from '../language/types';
import type { JourneyStatus, RegistrySnapshot, StoredJourney } from '../registry/types';

/** Where a store-backed catalog reads journeys from (registry/store.ts JourneyStore). */
export interface CatalogSource {
  revision(): Promise<number>;
  snapshot(): Promise<RegistrySnapshot>;
}

interface Entry {
  status: JourneyStatus;
  latest: Journey;
  versions: Map<number, Journey>;
}

/** The lookups, built once per registry revision. */
interface Index {
  byId: Map<string, Entry>;
  /** Open journeys (latest version) by entry event / entry trait; open scheduled journeys. */
  byEvent: Map<string, Journey[]>;
  byTrait: Map<string, Journey[]>;
  scheduled: Journey[];
  /** Journeys (latest version, once per id) some version of which listens to an event. */
  listeners: Map<string, Journey[]>;
}

/**
 * The journeys the router and the API work with, indexed by what starts them and what their
 * running customers listen for. `new JourneyCatalog(journeys)` is a fixed set, every journey
 * published (tests, the simulator); `JourneyCatalog.fromStore(store)` follows the registry:
 * `refresh()` costs one GET of the registry revision and reloads only when it moved.
 *
 * Entry (enteredBy, enteredByTrait, scheduled) sees only open journeys — `published`, at their
 * latest version. Listening (listeningTo) covers every version of every journey that is not
 * stopped, since customers stay on the version they entered with.
 */
export class JourneyCatalog {
  private index: Index;
  private source?: CatalogSource;
  private seenRevision = -1;
  private loading?: Promise<boolean>;

  constructor(journeys: Journey[]) {
    this.index = buildIndex(
      journeys.map((j) => ({ id: j.id, status: 'published', latest: j.version, versions: [j] })),
    );
  }

  /** A catalog that follows the registry; loaded once before it is returned. */
  static async fromStore(source: CatalogSource): Promise<JourneyCatalog> {
    const catalog = new JourneyCatalog([]);
    catalog.source = source;
    await catalog.refresh();
    return catalog;
  }

  /** The registry revision loaded (-1: a fixed catalog). */
  get revision(): number {
    return this.seenRevision;
  }

  /**
   * Reloads when the registry changed since the last load; true when it did. A fixed catalog
   * never changes. Concurrent calls share one load.
   */
  async refresh(): Promise<boolean> {
    const source = this.source;
    if (!source) return false;
    if (this.loading) return this.loading;
    const revision = await source.revision();
    if (revision === this.seenRevision) return false;
    this.loading ??= (async () => {
      try {
        const snapshot = await source.snapshot();
        this.index = buildIndex(snapshot.journeys);
        this.seenRevision = snapshot.revision;
        return true;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /**
   * Refreshes every `intervalMs` in the background (for processes that do not route events, such
   * as an API-only one); answers a function that stops it. Errors wait for the next tick.
   */
  poll(intervalMs: number, onError?: (err: unknown) => void): () => void {
    const timer = setInterval(() => {
      this.refresh().catch((err) => onError?.(err));
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The latest version of every journey that has one, sorted by id. */
  list(): Journey[] {
    return [...this.index.byId.values()].map((e) => e.latest);
  }

  /** A journey's latest version (whatever its status). */
  get(id: string): Journey | undefined {
    return this.index.byId.get(id)?.latest;
  }

  /** One published version, e.g. the one a running customer entered with. */
  version(id: string, version: number): Journey | undefined {
    return this.index.byId.get(id)?.versions.get(version);
  }

  status(id: string): JourneyStatus | undefined {
    return this.index.byId.get(id)?.status;
  }

  /** True when the journey takes new entries: published, not paused or stopped. */
  isOpen(id: string): boolean {
    return this.index.byId.get(id)?.status === 'published';
  }

  /** Open journeys whose entry is this event (their filter still has to match). */
  enteredBy(event: string): Journey[] {
    return this.index.byEvent.get(event) ?? [];
  }

  /** Open journeys entered when an identify sets or changes this trait. */
  enteredByTrait(trait: string): Journey[] {
    return this.index.byTrait.get(trait) ?? [];
  }

  /** Open journeys entered on a cron schedule. */
  scheduled(): Journey[] {
    return this.index.scheduled;
  }

  /**
   * Journeys whose running customers listen for this event (a goal, a waitFor, a `did`
   * condition), in any version not stopped: each journey once, as its latest version (the
   * workflow id does not depend on the version).
   */
  listeningTo(event: string): Journey[] {
    return this.index.listeners.get(event) ?? [];
  }
}

function buildIndex(journeys: StoredJourney[]): Index {
  const index: Index = {
    byId: new Map(),
    byEvent: new Map(),
    byTrait: new Map(),
    scheduled: [],
    listeners: new Map(),
  };
  for (const stored of [...journeys].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const versions = new Map(stored.versions.map((j) => [j.version, j] as const));
    const latest = versions.get(stored.latest) ?? stored.versions[stored.versions.length - 1];
    if (!latest) continue; // a draft only: nothing to run
    index.byId.set(stored.id, { status: stored.status, latest, versions });

    if (stored.status === 'published') {
      const entry = latest.entry;
      if ('event' in entry) push(index.byEvent, entry.event, latest);
      else if ('traitChanged' in entry) push(index.byTrait, entry.traitChanged, latest);
      else if ('schedule' in entry) index.scheduled.push(latest);
    }
    if (stored.status !== 'stopped') {
      const heard = new Set(stored.versions.flatMap(eventsHeard));
      for (const event of heard) push(index.listeners, event, latest);
    }
  }
  return index;
}

/** Events a run of this version reacts to: goals, waitFor events, `did` events in its conditions. */
export function eventsHeard(journey: Journey): string[] {
  const heard = new Set(journey.exit.map((m) => m.event));
  for (const step of journey.steps) if (step.type === 'waitFor') heard.add(step.event);
  collectDid([journey.exit, journey.steps], heard);
  return [...heard];
}

/** Every `did: <event>` in the goals and steps, at any depth (conditions nest in all/any/not). */
function collectDid(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectDid(item, out);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  if (typeof record.did === 'string') out.add(record.did);
  for (const child of Object.values(record)) collectDid(child, out);
}

function push(map: Map<string, Journey[]>, key: string, journey: Journey): void {
  map.set(key, [...(map.get(key) ?? []), journey]);
}
