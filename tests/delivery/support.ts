import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DeliveryMessage } from '../../delivery/message';
import type { Provider } from '../../delivery/providers/provider';

/** A request as the local server saw it. */
export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestHttpServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  baseUrl: string;
  /** `baseUrl` + `/hook`: where a webhook provider is pointed. */
  url: string;
  requests: ReceivedRequest[];
  /** The requests to one path. */
  to(path: string): ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 and a free port, standing in for every webhook, gateway and API
 * the providers call. `answer` is called per request once its body is read; a handler that never
 * ends the response leaves the client hanging (close() cuts it).
 */
export async function startHttpServer(
  answer: (res: ServerResponse, request: ReceivedRequest) => void,
): Promise<TestHttpServer> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: ReceivedRequest = {
        at: Date.now(),
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      answer(res, request);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    url: `${baseUrl}/hook`,
    requests,
    to: (path) => requests.filter((r) => r.path === path),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function reply(res: ServerResponse, status: number, body = ''): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

let counter = 0;

/** A message with a fresh idempotency key unless one is given. */
export function testMessage(overrides: Partial<DeliveryMessage> = {}): DeliveryMessage {
  counter += 1;
  return {
    journeyId: 'welcome',
    journeyVersion: 1,
    customerId: `cust-${counter}`,
    stepId: 'hello-sms',
    channel: 'sms',
    template: 'hello',
    locale: 'en',
    to: '+15550000000',
    subject: null,
    body: `Hello number ${counter}`,
    idempotencyKey: `welcome:1:cust-${counter}:hello-sms:${process.pid}-${Date.now()}-${counter}`,
    queuedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** The error a provider's send() rejects with; fails the test when it resolves. */
export async function sendError(
  provider: Provider,
  message: DeliveryMessage = testMessage(),
): Promise<Error> {
  try {
    await provider.send(message);
  } catch (err) {
    return err as Error;
  }
  throw new Error('send succeeded, expected it to fail');
}

/**
 * Registers an afterEach that closes what a test started, last started first; returns the
 * function that enrols a harness or fake server, so tests need no `let x | undefined` for cleanup.
 */
export function closeAfterEach(): <T extends { close(): Promise<void> }>(thing: T) => T {
  const started: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    while (started.length > 0) await started.pop()!.close();
  });
  return (thing) => {
    started.push(thing);
    return thing;
  };
}

export type TempDir = { dir: string; remove(): Promise<void> };

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'touchpoint-delivery-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The setup of the config-loading suites: before each test a temp dir and `env` set (undefined:
 * unset), after it both undone. `configFile` writes touchpoint.yaml there; `inDir` names a file.
 */
export function useConfigDir(env: Record<string, string | undefined>) {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await tempDir();
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  afterEach(async () => {
    for (const name of Object.keys(env)) delete process.env[name];
    await dir.remove();
  });
  return {
    inDir: (name: string) => path.join(dir.dir, name),
    async configFile(yaml: string): Promise<string> {
      const file = path.join(dir.dir, 'touchpoint.yaml');
      await writeFile(file, yaml);
      return file;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
