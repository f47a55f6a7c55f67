import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DeliveryMessage } from '../../delivery/message';
import type { OutboxLine } from '../../delivery/providers/outbox';

export interface ReceivedRequest {
  at: number;
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestHttpServer {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 and a free port. `answer` is called per request once its body
 * is read; a handler that never ends the response leaves the client hanging (close() cuts it).
 */
export async function startHttpServer(
  answer: (res: ServerResponse, request: ReceivedRequest) => void,
): Promise<TestHttpServer> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        at: Date.now(),
        method: req.method ?? '',
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
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
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

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'touchpoint-delivery-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function outboxLines(dir: string, channel: string): Promise<OutboxLine[]> {
  try {
    const text = await readFile(path.join(dir, `${channel}.jsonl`), 'utf8');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as OutboxLine);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Polls `check` until it returns something other than undefined. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what = 'condition',
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
