import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeliveryMessage } from '../../delivery/message';

/**
 * The drill's SMS gateway: a local HTTP server the `webhook` provider posts to. It records every
 * request it takes by Idempotency-Key, and can be switched to refuse (503) or to hang (never
 * answer, so the provider's timeout fires) to play a failing provider.
 */

export type ReceiverMode = 'ok' | 'fail' | 'hang';

export interface ReceivedRequest {
  at: number;
  /** How the receiver answered: 200, or `hung` (it took the message but never said so in time). */
  answer: 200 | 'hung';
  message: DeliveryMessage;
}

const MAX_BODY_BYTES = 1_000_000;
/** A hung request is released after this long at most, so no socket outlives the drill. */
const MAX_HANG_MS = 5_000;

export class Receiver {
  mode: ReceiverMode = 'ok';
  /** Requests the receiver took (answered 200, or hung after reading it), by Idempotency-Key. */
  readonly byKey = new Map<string, ReceivedRequest[]>();
  /** Answered 503 in `fail` mode: the gateway refused, nothing was delivered. */
  refused = 0;
  /** Requests without an Idempotency-Key header (or not the body's key), or not a message. */
  malformed = 0;
  private readonly hanging = new Set<ServerResponse>();
  private holdWaiter?: (key: string) => void;
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  /** Called once per new key: the first delivery of a message. */
  onMessage?: (message: DeliveryMessage, at: number) => void;

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  setMode(mode: ReceiverMode): void {
    this.mode = mode;
    if (mode !== 'hang') this.releaseHanging();
  }

  /**
   * The next message is taken but not answered (as in `hang`), and the promise resolves with its
   * key while the sender still waits for the answer: the moment to kill the sender mid-send.
   */
  holdNext(): Promise<string> {
    return new Promise((resolve) => (this.holdWaiter = resolve));
  }

  /** Requests beyond the first with the same key: redelivered, and deduped by the key. */
  redelivered(): number {
    let n = 0;
    for (const requests of this.byKey.values()) n += requests.length - 1;
    return n;
  }

  async stop(): Promise<void> {
    this.releaseHanging();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req).catch(() => undefined);
    const key = req.headers['idempotency-key'];
    const message = parseMessage(body);
    // The header must be there and name the message it comes with.
    if (req.method !== 'POST' || typeof key !== 'string' || message?.idempotencyKey !== key) {
      this.malformed++;
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request"}');
      return;
    }
    if (this.mode === 'fail') {
      this.refused++;
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"drill: gateway down"}');
      return;
    }
    const held = this.holdWaiter;
    this.holdWaiter = undefined;
    const hang = this.mode === 'hang' || held !== undefined;
    this.record(key, { at: Date.now(), answer: hang ? 'hung' : 200, message });
    held?.(key);
    if (!hang) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    this.hanging.add(res);
    const timer = setTimeout(() => this.release(res), MAX_HANG_MS);
    res.once('close', () => {
      clearTimeout(timer);
      this.hanging.delete(res);
    });
  }

  private record(key: string, request: ReceivedRequest): void {
    const requests = this.byKey.get(key);
    if (requests) {
      requests.push(request);
      return;
    }
    this.byKey.set(key, [request]);
    this.onMessage?.(request.message, request.at);
  }

  private release(res: ServerResponse): void {
    this.hanging.delete(res);
    if (!res.writableEnded && !res.destroyed) res.writeHead(200).end('{"ok":true,"late":true}');
  }

  private releaseHanging(): void {
    for (const res of [...this.hanging]) this.release(res);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseMessage(body: string | undefined): DeliveryMessage | undefined {
  if (body === undefined) return undefined;
  try {
    const parsed = JSON.parse(body) as Partial<DeliveryMessage>;
    return typeof parsed.customerId === 'string' &&
      typeof parsed.journeyId === 'string' &&
      typeof parsed.stepId === 'string' &&
      typeof parsed.idempotencyKey === 'string'
      ? (parsed as DeliveryMessage)
      : undefined;
  } catch {
    return undefined;
  }
}
