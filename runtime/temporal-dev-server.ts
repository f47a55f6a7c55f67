import fs from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeKey,
} from '@temporalio/common/lib/search-attributes';
import type { Logger } from 'pino';
import {
  commandLineOf,
  isPidAlive,
  pickPort,
  readJsonFile,
  spawnServer,
  tailFile,
  terminate,
  waitFor,
  withFileLock,
  writeJsonFile,
} from './child-process';
import { cliSearchAttributes, searchAttributeKeys } from './search-attributes';
import { findTemporalCli, installAdvice, temporalCacheDir, temporalCliSpec } from './temporal-binaries';

/*
 * The embedded Temporal: `temporal server start-dev` persisted to <dataDir>/temporal.db. The
 * server is left running when we exit and <dataDir>/temporal.json remembers it, so the next start
 * for the same dataDir reuses it instead of paying start-up again.
 */

export interface TemporalDevServerOptions {
  dataDir: string;
  /** The `temporal` executable. Default: findTemporalCli(), which may install it. */
  cliPath?: string;
  /** Preferred gRPC port (default 7233); a busy port means "pick a free one". 0: any free port. */
  port?: number;
  /** Preferred Web UI port (default 8233), same rule. */
  uiPort?: number;
  /** No Web UI. */
  headless?: boolean;
  namespace: string;
  logger: Logger;
  /** How long to wait for the server to answer. Default 60 s. */
  readyTimeoutMs?: number;
  /**
   * Own process group, so the server outlives us and a later start reuses it (default). Tests
   * pass false so that Ctrl-C stops the server with the test run.
   */
  detached?: boolean;
  /** When no binary can be found or installed, let the SDK download one. Default true. */
  allowSdkDownload?: boolean;
}

export interface TemporalDevServer {
  /** host:port for Connection.connect / NativeConnection.connect. */
  address: string;
  uiUrl?: string;
  /** Stops the server (also one we reused) and forgets it. */
  stop(): Promise<void>;
  /** True when an already running server from an earlier start was reused. */
  reused: boolean;
}

/** What <dataDir>/temporal.json records about the server we started. */
interface DevServerState {
  pid: number;
  address: string;
  uiUrl?: string;
}

const host = '127.0.0.1';

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const dataDir = path.resolve(opts.dataDir);
  await fs.mkdir(dataDir, { recursive: true });
  // Lock: two processes starting the same dataDir would both spawn a server on one db.
  return withFileLock(path.join(dataDir, 'temporal.lock'), async () => {
    const reused = await reuseRunningServer({ ...opts, dataDir });
    if (reused) return reused;
    const cliPath = opts.cliPath ?? (await resolveCli(opts));
    return cliPath
      ? spawnDevServer(cliPath, { ...opts, dataDir })
      : startWithSdkDownload({ ...opts, dataDir });
  });
}

async function resolveCli(opts: TemporalDevServerOptions): Promise<string | undefined> {
  const found = await findTemporalCli({
    logger: opts.logger,
    allowSdkDownload: opts.allowSdkDownload ?? true,
  });
  opts.logger.debug({ found }, 'Temporal CLI');
  return found.path;
}

function dbFile(dataDir: string): string {
  return path.join(dataDir, 'temporal.db');
}

function stateFile(dataDir: string): string {
  return path.join(dataDir, 'temporal.json');
}

function logFile(dataDir: string): string {
  return path.join(dataDir, 'temporal.log');
}

/** The server an earlier start left running for this dataDir, if it is alive and answers. */
async function reuseRunningServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer | undefined> {
  const state = await readJsonFile<DevServerState>(stateFile(opts.dataDir));
  if (!state) return undefined;
  // The pid must still be a server on *our* db: pids get recycled, and a server on 7233 may be anybody's.
  const ours = isPidAlive(state.pid) && commandLineOf(state.pid)?.includes(dbFile(opts.dataDir)) === true;
  if (ours && (await answers(state.address))) {
    await ensureSearchAttributesAt(state.address, opts.namespace, opts.logger);
    opts.logger.info({ address: state.address, pid: state.pid }, 'reusing the running Temporal dev server');
    return handleFor(state, opts.dataDir, true);
  }
  if (ours) {
    opts.logger.warn({ pid: state.pid }, 'our Temporal dev server is not answering; restarting it');
    await terminate(state.pid);
  }
  await fs.rm(stateFile(opts.dataDir), { force: true });
  return undefined;
}

async function spawnDevServer(cliPath: string, opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const port = await pickPort(opts.port ?? 7233, host);
  const uiPort = opts.headless ? undefined : await pickPort(opts.uiPort ?? 8233, host);
  // On an existing db, CLI 1.9.1 silently skips --search-attribute and older CLIs refuse to start
  // ("already registered"), so the flags go only with a new db; ensureSearchAttributes does the rest.
  const newDb = !(await fs.stat(dbFile(opts.dataDir)).catch(() => undefined));
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    dbFile(opts.dataDir),
    '--sqlite-pragma',
    'journal_mode=wal',
    '--ip',
    host,
    '--port',
    String(port),
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(opts.namespace === 'default' ? [] : ['--namespace', opts.namespace]),
    ...(newDb
      ? cliSearchAttributes.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`])
      : []),
  ];
  const log = logFile(opts.dataDir);
  const { pid } = await spawnServer(cliPath, args, { logFile: log, detached: opts.detached ?? true });
  const state: DevServerState = {
    pid,
    address: `${host}:${port}`,
    uiUrl: uiPort === undefined ? undefined : `http://${host}:${uiPort}`,
  };
  // Written before the wait, so that if we die now the next start finds (and stops) this server.
  await writeJsonFile(stateFile(opts.dataDir), state);
  try {
    await waitUntilAnswering(state, opts.readyTimeoutMs ?? 60_000, log);
    await ensureSearchAttributesAt(state.address, opts.namespace, opts.logger);
  } catch (err) {
    await stopServer(state, opts.dataDir);
    throw err;
  }
  opts.logger.info({ address: state.address, uiUrl: state.uiUrl, pid, log }, 'Temporal dev server started');
  return handleFor(state, opts.dataDir, false);
}

async function waitUntilAnswering(state: DevServerState, timeoutMs: number, log: string): Promise<void> {
  try {
    await waitFor(
      `the Temporal dev server at ${state.address}`,
      async () => {
        if (!isPidAlive(state.pid)) throw new Error(`the Temporal dev server (pid ${state.pid}) exited`);
        return (await answers(state.address)) ? true : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}. Last lines of ${log}:\n${await tailFile(log)}`);
  }
}

/** True when a Temporal frontend answers GetSystemInfo at address. */
async function answers(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: '1s' }).catch(() => undefined);
  if (!connection) return false;
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

async function ensureSearchAttributesAt(address: string, namespace: string, logger: Logger): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await ensureSearchAttributes(connection, namespace, logger);
  } finally {
    await connection.close();
  }
}

/**
 * Registers Touchpoint's search attributes that the namespace lacks: the dev server takes
 * `--search-attribute` only when it creates its db (a restart on an existing temporal.db skips
 * them, checked with CLI 1.9.1), and a reused server may predate an attribute. A name registered
 * with another type cannot be fixed in place, so that is an error.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  logger: Logger,
): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing: Record<string, number> = {};
  const wrongType: string[] = [];
  for (const key of searchAttributeKeys) {
    const want = indexType(key);
    const have = customAttributes?.[key.name];
    if (have === undefined || have === null) missing[key.name] = want;
    else if (have !== want)
      wrongType.push(`${key.name} (want ${key.type}, registered as IndexedValueType ${have})`);
  }
  if (wrongType.length > 0) {
    throw new Error(
      `Search attributes registered with the wrong type in namespace "${namespace}": ${wrongType.join(', ')}. ` +
        'Delete the dev server db (temporal.db in the data dir) or fix the registration by hand.',
    );
  }
  if (Object.keys(missing).length === 0) return;
  logger.info({ namespace, searchAttributes: Object.keys(missing) }, 'registering search attributes');
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
}

/**
 * Touchpoint's search attributes as OperatorService.AddSearchAttributes takes them: name →
 * IndexedValueType (the proto enum, a number).
 */
export function searchAttributeIndexTypes(): Record<string, number> {
  return Object.fromEntries(searchAttributeKeys.map((key) => [key.name, indexType(key)]));
}

function indexType(key: SearchAttributeKey<SearchAttributeType>): number {
  return encodeSearchAttributeIndexedValueType(key.type) as number;
}

function handleFor(state: DevServerState, dataDir: string, reused: boolean): TemporalDevServer {
  return {
    address: state.address,
    uiUrl: state.uiUrl,
    reused,
    stop: () => stopServer(state, dataDir),
  };
}

async function stopServer(state: DevServerState, dataDir: string): Promise<void> {
  await terminate(state.pid);
  // Forget it only if the state file still describes this server.
  const current = await readJsonFile<DevServerState>(stateFile(dataDir));
  if (current?.pid === state.pid) await fs.rm(stateFile(dataDir), { force: true });
}

/**
 * Last resort: the SDK downloads the CLI and runs it as its own child. Same db, pragma and search
 * attributes, but the server dies with this process, so it is never reused.
 */
async function startWithSdkDownload(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  // A devDependency, so loaded only here.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const port = await pickPort(opts.port ?? 7233, host);
  const uiPort = opts.headless ? undefined : await pickPort(opts.uiPort ?? 8233, host);
  opts.logger.warn('no Temporal CLI found or installed: letting the Temporal SDK download one');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download', downloadDir: path.join(temporalCacheDir(), 'sdk-download') },
      dbFilename: dbFile(opts.dataDir),
      namespace: opts.namespace,
      ip: host,
      port,
      ui: uiPort !== undefined,
      uiPort,
      searchAttributes: searchAttributeKeys,
      extraArgs: ['--sqlite-pragma', 'journal_mode=wal'],
    },
  }).catch((err: Error) => {
    throw new Error(
      `The Temporal SDK could not get the Temporal CLI: ${err.message}\n${installAdvice(temporalCliSpec)}`,
    );
  });
  try {
    await ensureSearchAttributes(env.connection, opts.namespace, opts.logger);
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return {
    address: env.address,
    uiUrl: uiPort === undefined ? undefined : `http://${host}:${uiPort}`,
    reused: false,
    stop: () => env.teardown(),
  };
}
