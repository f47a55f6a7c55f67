import path from 'node:path';
import { loadJourneyFile } from '../../language/load';
import type { Journey } from '../../language/types';
import { loadTemplates } from '../../messages/templates';
import { Simulator, type SimulatorOptions } from '../../simulation/simulator';
import type { SimulationResult, TimelineEntry } from '../../simulation/types';
import { testRedisUrl } from '../support/redis';
import { workflowBundle } from '../support/workflow-bundle';

/** The simulator's fixture journeys and their templates. */
export const FIXTURES = path.resolve(__dirname, '../fixtures/simulation');
export const fixtureTemplates = () => loadTemplates(path.join(FIXTURES, 'templates'));

export function fixtureJourney(id: string): Journey {
  return loadJourneyFile(path.join(FIXTURES, 'journeys', `${id}.yaml`), { templates: fixtureTemplates() });
}

/**
 * A simulator on the suite's Redis and the shared workflow bundle (binaries come from
 * global-setup through TEMPORAL_TEST_SERVER). Default rules: quiet hours 21:00–09:00 (delay).
 */
export async function startTestSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  return Simulator.start({
    redisUrl: testRedisUrl(),
    workflowBundle: await workflowBundle(),
    templates: fixtureTemplates(),
    ...opts,
  });
}

export const entries = (result: SimulationResult, kind: TimelineEntry['kind']) =>
  result.timeline.filter((e) => e.kind === kind);

/** Milliseconds between two ISO times. */
export const gapMs = (from: string, to: string) => Date.parse(to) - Date.parse(from);
