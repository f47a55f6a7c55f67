import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express, { type RequestHandler } from 'express';
import { startTestApp, type TestApp } from '../server/fixture';

export { KEYS } from '../server/fixture';

/**
 * The real ingestion API (tests/server/fixture.ts: the app on a real BullMQ queue on the test
 * Redis) on a real port, behind a recorder of every /v1/batch request it answered: its status
 * and messageIds. `failNext(n, status)` makes the next n batch requests fail before the API sees them.
 */
export interface ImportServer {
  url: string;
  app: TestApp;
  requests: { status: number; messageIds: string[] }[];
  /** messageIds of every message the API answered 202 for (repeats included). */
  acceptedIds(): string[];
  failNext(n: number, status: number, headers?: Record<string, string>): void;
  /** Runs before the API (e.g. to hold requests). */
  before: RequestHandler[];
  close(): Promise<void>;
}

export async function startImportServer(): Promise<ImportServer> {
  const app = await startTestApp();
  const requests: ImportServer['requests'] = [];
  let failures: { n: number; status: number; headers: Record<string, string> } = {
    n: 0,
    status: 0,
    headers: {},
  };
  const before: RequestHandler[] = [];
  const outer = express();
  outer.use((req, res, next) => {
    let i = 0;
    const step = (err?: unknown) => {
      if (err) return next(err);
      const h = before[i++];
      if (h) return void h(req, res, step);
      next();
    };
    step();
  });
  outer.use('/v1/batch', (req, res, next) => {
    if (failures.n > 0) {
      failures.n -= 1;
      res
        .set(failures.headers)
        .status(failures.status)
        .json({ error: 'unavailable', message: 'injected failure' });
      return;
    }
    res.on('finish', () => {
      const batch = (req.body as { batch?: { messageId?: string }[] } | undefined)?.batch ?? [];
      requests.push({ status: res.statusCode, messageIds: batch.map((m) => String(m.messageId)) });
    });
    next();
  });
  outer.use(app.app);
  const server: Server = outer.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    app,
    requests,
    acceptedIds: () => requests.filter((r) => r.status === 202).flatMap((r) => r.messageIds),
    failNext: (n, status, headers = {}) => (failures = { n, status, headers }),
    before,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await app.close();
    },
  };
}

/** A temp dir for one test's input files (and their rejects / checkpoint files). */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tp-import-'));
}

export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

export function readRejects(file: string): { line: number; reason: string; row?: unknown }[] {
  const rejects = `${file}.rejects.jsonl`;
  if (!fs.existsSync(rejects)) return [];
  return fs
    .readFileSync(rejects, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { line: number; reason: string; row?: unknown });
}
