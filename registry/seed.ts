import fs from 'node:fs';
import path from 'node:path';
import { JourneyConfigError } from '../language/errors';
import { JOURNEY_FILE, loadJourneys, type LoadOptions } from '../language/load';
import type { JourneyStore } from './store';
import type { JourneyStatus, SourceFormat } from './types';

/** Who start-up seeding publishes as, in every version record and history entry it writes. */
export const STARTUP_ACTOR = 'startup';

export interface JourneyFile {
  id: string;
  file: string;
  source: string;
  format: SourceFormat;
}

/**
 * The journey files of a folder (`*.yaml`, `*.yml`, `*.json`, sorted), all validated first:
 * throws one JourneyConfigError listing every problem of every file (as the loader does), so a
 * broken folder stops start-up before anything is stored.
 */
export function readJourneyFiles(dir: string, opts: LoadOptions = {}): JourneyFile[] {
  loadJourneys(dir, opts);
  return fs
    .readdirSync(dir)
    .filter((name) => JOURNEY_FILE.test(name))
    .sort()
    .map((name) => ({
      // The loader checked that each file is named after its journey's id.
      id: name.replace(JOURNEY_FILE, ''),
      file: path.join(dir, name),
      source: fs.readFileSync(path.join(dir, name), 'utf8'),
      format: name.endsWith('.json') ? ('json' as const) : ('yaml' as const),
    }));
}

export interface SeedOutcome {
  id: string;
  file: string;
  /**
   * `published`: a new version from the file. `unchanged`: the file is the latest version.
   * `kept`: the file is what start-up published last, and later versions came from the API.
   */
  action: 'published' | 'unchanged' | 'kept';
  version: number;
  status: JourneyStatus;
}

/**
 * Publishes each journey file whose text is new: unknown journeys, and files that differ from
 * the latest version. A file still equal to the version start-up seeded last is left alone, so
 * versions published through the API since then are not overwritten by an unchanged file.
 * Never changes a status: a paused or stopped journey gets its new version and stays so.
 * Idempotent, and safe when several processes seed at once (publishing is atomic).
 */
export async function seedJourneys(store: JourneyStore, files: JourneyFile[]): Promise<SeedOutcome[]> {
  const outcomes: SeedOutcome[] = [];
  for (const file of files) {
    const versions = await store.versions(file.id);
    const latest = versions[versions.length - 1];
    const state = latest ? await store.state(file.id) : undefined;
    if (latest && state) {
      const seeded = versions.filter((v) => v.publishedBy === STARTUP_ACTOR).pop();
      const action =
        latest.source === file.source ? 'unchanged' : seeded?.source === file.source ? 'kept' : null;
      if (action) {
        outcomes.push({
          id: file.id,
          file: file.file,
          action,
          version: latest.version,
          status: state.status,
        });
        continue;
      }
    }
    const result = await store.publish(file.source, {
      id: file.id,
      format: file.format,
      file: file.file,
      checkFileName: true,
      by: STARTUP_ACTOR,
      note: `from ${path.basename(file.file)}`,
    });
    if (!result.ok) throw new JourneyConfigError(result.issues);
    outcomes.push({
      id: file.id,
      file: file.file,
      action: result.created ? 'published' : 'unchanged',
      version: result.version,
      status: result.status,
    });
  }
  return outcomes;
}
