import fs from 'node:fs';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parse as parseYaml } from 'yaml';
import type { Journey } from '../language/types';
import { findTestServer } from '../runtime/temporal-binaries';
import { ScenarioError, resolveScenario, type Scenario } from '../simulation/scenario';
import { Simulator } from '../simulation/simulator';
import type { SimulationResult } from '../simulation/types';
import { AdminClient, AdminApiError } from './client';
import { CliError, type CliIo } from './io';
import {
  findJourneyFile,
  loadOptionsFor,
  readJourney,
  resolvePath,
  settingsFor,
  type ProjectOptions,
} from './journeys';

export interface SimulateOptions extends ProjectOptions {
  scenario: string;
  /** Where to fetch a journey that is not a file nor in the journeys directory (the admin API). */
  url?: string;
  key?: string;
}

/**
 * `touchpoint simulate <journey> --scenario <file>`: the journey from a file (or by id from the
 * journeys directory, else from the server's admin API), the scenario checked before anything
 * starts, then one run on a fresh time-skipping server and Redis (REDIS_URL, else an embedded
 * redis-server in a temporary directory).
 */
export async function simulateCommand(
  io: CliIo,
  journeyArg: string,
  opts: SimulateOptions,
): Promise<SimulationResult> {
  const options = loadOptionsFor(io, opts);
  const scenario = readScenario(io, opts.scenario);
  const journey = await findJourney(io, journeyArg, options, opts);
  quietTemporal();
  const settings = settingsFor(io);
  const testServer = await findTestServer({ env: io.env, allowSdkDownload: false });
  const simulator = await Simulator.start({
    templates: options.templates,
    ...(settings.redisUrl ? { redisUrl: settings.redisUrl } : {}),
    ...(testServer.path ? { testServerPath: testServer.path } : {}),
    ...(options.configFile ? { configFile: options.configFile } : {}),
  });
  try {
    return await simulator.run(journey, scenario);
  } finally {
    await simulator.close();
  }
}

function readScenario(io: CliIo, file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(resolvePath(io, file), 'utf8');
  } catch (err) {
    throw new CliError(
      `${file}: cannot read the scenario (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(file) ? parseYaml(text, { maxAliasCount: 50 }) : JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
    );
  }
  try {
    return resolveScenario(data, file).scenario;
  } catch (err) {
    if (err instanceof ScenarioError) throw new CliError(err.message);
    throw err;
  }
}

async function findJourney(
  io: CliIo,
  nameOrFile: string,
  options: ReturnType<typeof loadOptionsFor>,
  opts: SimulateOptions,
): Promise<Journey> {
  const file = findJourneyFile(io, nameOrFile);
  if (file) return readJourney(io, file, options);
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(nameOrFile)) {
    throw new CliError(`${nameOrFile}: no such journey file`);
  }
  // Not here: maybe published on the server (its current version).
  try {
    const answer = await new AdminClient(io, opts).get<Journey & { status?: string; hasDraft?: boolean }>(
      `/v1/journeys/${encodeURIComponent(nameOrFile)}`,
    );
    const { status: _status, hasDraft: _draft, ...journey } = answer;
    if (!Array.isArray(journey.steps)) throw new CliError(`journey ${nameOrFile} has no published version`);
    return journey as Journey;
  } catch (err) {
    if (err instanceof AdminApiError && err.status === 404) {
      throw new CliError(
        `no journey \`${nameOrFile}\`: not a file, not in the journeys directory, not on the server`,
      );
    }
    if (err instanceof CliError) {
      throw new CliError(
        `no journey file or id \`${nameOrFile}\` here, and the server could not be asked:\n${err.message}`,
      );
    }
    throw err;
  }
}

let quieted = false;

/** The Temporal SDK's worker logs would drown the JSON: only its errors, on stderr. */
function quietTemporal(): void {
  if (quieted) return;
  quieted = true;
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // already installed (in-process tests)
  }
}
