import fs from 'node:fs';
import path from 'node:path';
import { loadJourneyFile } from '../../language/load';
import type { Journey } from '../../language/types';
import { loadTemplates, type TemplateStore } from '../../messages/templates';
import { parseScenario, type Scenario, Simulator } from '../../simulation/simulator';
import type { SimulationResult, TimelineEntry } from '../../simulation/types';
import { testRedisUrl } from '../support/redis';
import { workflowBundle } from '../support/workflow-bundle';

/**
 * The seed journeys' scenario tests: every `tests/journeys/<journey-id>/<scenario>.json` (the
 * `touchpoint simulate` scenario format) runs through the real Simulator against the shipped
 * journey and templates, and its test pins what happens.
 */
export const ROOT = path.resolve(__dirname, '../..');
export const SCENARIOS = __dirname;

/** Targets of the shipped example config (touchpoint.example.yaml): what journey 9 names. */
export const TARGETS = { webhookTargets: ['supply-chain'], notifyTargets: ['service-team', 'ops-hook'] };

let templates: TemplateStore | undefined;
export function shippedTemplates(): TemplateStore {
  templates ??= loadTemplates(path.join(ROOT, 'templates'));
  return templates;
}

export function shippedJourney(id: string): Journey {
  return loadJourneyFile(path.join(ROOT, 'journeys', `${id}.yaml`), {
    templates: shippedTemplates(),
    ...TARGETS,
  });
}

/** The scenario files of one journey, by name (file name without `.json`). */
export function scenarioNames(journeyId: string): string[] {
  return fs
    .readdirSync(path.join(SCENARIOS, journeyId))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function loadScenario(journeyId: string, name: string): Scenario {
  const file = path.join(SCENARIOS, journeyId, `${name}.json`);
  return parseScenario(JSON.parse(fs.readFileSync(file, 'utf8')), file);
}

/**
 * One Simulator for a test file (started once in beforeAll), on the suite's Redis, the shared
 * workflow bundle and the shipped templates, with the default rules (quiet hours 21:00–09:00,
 * delay). `run(name)` runs a scenario of the journey and remembers it was run, so the file can
 * check at the end that every scenario of the journey is pinned by a test.
 */
export function useJourneySimulator(journeyId: string) {
  let simulator: Simulator | undefined;
  const ran = new Set<string>();
  beforeAll(async () => {
    simulator = await Simulator.start({
      redisUrl: testRedisUrl(),
      workflowBundle: await workflowBundle(),
      templates: shippedTemplates(),
      rules: {}, // the defaults, whatever TOUCHPOINT_CONFIG says
    });
  });
  afterAll(async () => {
    await simulator?.close();
  });
  return {
    journey: () => shippedJourney(journeyId),
    async run(name: string): Promise<SimulationResult> {
      ran.add(name);
      return simulator!.run(shippedJourney(journeyId), loadScenario(journeyId, name));
    },
    ran,
  };
}

export const ofKind = (result: SimulationResult, kind: TimelineEntry['kind']) =>
  result.timeline.filter((e) => e.kind === kind);

/** The sends that went out (status `sent`). */
export const sent = (result: SimulationResult) => ofKind(result, 'send').filter((e) => e.status === 'sent');

/**
 * What the runs did, as `kind:stepId` in time order (scenario events left out): `enter:`,
 * `step:welcome` then `send:welcome` for a send deferred by quiet hours, `exit:<last step>`.
 */
export const trail = (result: SimulationResult) =>
  result.timeline.filter((e) => e.kind !== 'event').map((e) => `${e.kind}:${e.stepId ?? ''}`);

/** How the router handled each scenario event: `[event, result]`. */
export const routed = (result: SimulationResult) => ofKind(result, 'event').map((e) => [e.event, e.result]);

/** The one timeline entry of this kind and step (fails when there is not exactly one). */
export function only(result: SimulationResult, kind: TimelineEntry['kind'], stepId: string): TimelineEntry {
  const found = result.timeline.filter((e) => e.kind === kind && e.stepId === stepId);
  if (found.length !== 1)
    throw new Error(`expected one ${kind} entry of step ${stepId}, found ${found.length}`);
  return found[0]!;
}

/** Every scenario file of the journey was run by a test of the file (call as its last test). */
export function expectEveryScenarioRun(journeyId: string, ran: Set<string>): void {
  expect([...ran].sort()).toEqual(scenarioNames(journeyId));
}

/** Milliseconds from one ISO time to another. */
export const gapMs = (from: string, to: string) => Date.parse(to) - Date.parse(from);

/**
 * A step that runs when a timer fires is stamped when its workflow task runs: on time, give or
 * take the real milliseconds the server's clock runs on meanwhile (more on a loaded machine).
 */
export function expectAt(actual: unknown, expected: string, slackMs = 10_000): void {
  expect(typeof actual).toBe('string');
  const late = gapMs(expected, actual as string);
  if (!(late >= 0 && late < slackMs)) {
    throw new Error(`expected a time at ${expected} (up to ${slackMs} ms later), got ${String(actual)}`);
  }
}
