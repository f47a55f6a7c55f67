import type { ConfigIssue } from '../language/errors';
import type { Journey } from '../language/types';

/**
 * Where a journey is in its life. `draft`: only a draft, never published. `published`: open for
 * new entries (the latest version). `paused`: no new entries, running customers go on.
 * `stopped`: no new entries and every running customer was ended.
 */
export type JourneyStatus = 'draft' | 'published' | 'paused' | 'stopped';
export const JOURNEY_STATUSES: readonly JourneyStatus[] = ['draft', 'published', 'paused', 'stopped'];

/** How a journey's source text is written. JSON is read as JSON; YAML as YAML 1.2. */
export type SourceFormat = 'yaml' | 'json';

/** Who published a version, when and why; what the version list shows. */
export interface ReleaseInfo {
  version: number;
  publishedAt: string;
  publishedBy: string;
  note?: string;
  format: SourceFormat;
}

/** An immutable published version: the journey as the engine runs it, and the text it came from. */
export interface VersionRecord extends ReleaseInfo {
  journey: Journey;
  source: string;
}

/** The working copy of a journey: saved whatever its problems, listed with it. */
export interface DraftRecord {
  id: string;
  source: string;
  format: SourceFormat;
  savedAt: string;
  savedBy: string;
  valid: boolean;
  issues: ConfigIssue[];
  warnings: ConfigIssue[];
}

export type LifecycleAction = 'publish' | 'pause' | 'resume' | 'stop' | 'migrate';

/** One line of a journey's lifecycle log. */
export interface HistoryEntry {
  at: string;
  action: LifecycleAction;
  by: string;
  /** The version published (publish), current (pause/resume/stop) or migrated to (migrate). */
  version?: number;
  reason?: string;
  /** A publish's note. */
  note?: string;
  /** Status before and after the action. */
  from?: JourneyStatus | null;
  status?: JourneyStatus;
  /** migrate: the version the runs were moved from, and the step mapping used. */
  fromVersion?: number;
  mapping?: Record<string, string>;
  /** stop / migrate: how many running runs were signalled. */
  runs?: number;
}

/** A journey's lifecycle state as the store keeps it. */
export interface JourneyState {
  id: string;
  status: JourneyStatus;
  /** The latest published version; 0 when there is none (draft only). */
  latest: number;
  hasDraft: boolean;
  updatedAt: string | null;
}

/** What step ids changed between two versions, and whether the entry, goals or settings did. */
export interface StepChanges {
  added: string[];
  removed: string[];
  changed: string[];
  entryChanged: boolean;
  exitChanged: boolean;
  /** Other top-level fields that differ (name, quietHours, holdback, conversionWindowMs...). */
  settingsChanged: string[];
}

/** What a diff between two versions answers: the source as a unified diff, and a step summary. */
export interface VersionDiff {
  id: string;
  from: number;
  to: number;
  unified: string;
  changes: StepChanges;
}

/** One journey with every published version: what a catalog is built from. */
export interface StoredJourney {
  id: string;
  status: JourneyStatus;
  latest: number;
  /** Every published version, oldest first. */
  versions: Journey[];
}

/** A consistent picture of the whole registry at one revision. */
export interface RegistrySnapshot {
  revision: number;
  journeys: StoredJourney[];
}
