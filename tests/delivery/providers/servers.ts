import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a local fake API saw it. */
export interface ApiRequest {
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeApi {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  baseUrl: string;
  requests: ApiRequest[];
  /** The requests to one path. */
  to(path: string): ApiRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 and a free port, answering with `answer` once a request's
 * body is in. A handler that never ends the response leaves the client hanging (close() cuts it).
 */
export async function startFakeApi(
  answer: (request: ApiRequest, res: ServerResponse) => void,
): Promise<FakeApi> {
  const requests: ApiRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: ApiRequest = {
        at: Date.now(),
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      answer(request, res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    to: (path) => requests.filter((r) => r.path === path),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function text(res: ServerResponse, status: number, body = ''): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}

/** What a fake WeChat-family API does with one send: a JSON answer, an HTTP error, or no answer. */
export type SendOutcome =
  | { errcode: number; errmsg?: string; msgid?: string; fail_list?: string[]; invaliduser?: string }
  | { http: number }
  | { raw: string; delivered: boolean }
  | 'hang';

/**
 * A fake of the WeChat-family APIs (WeCom, WeChat mini-program) with real token handling: it
 * hands out tokens for the right credentials, refuses unknown tokens (40014) and expired ones
 * (42001), and answers sends from a script (then `errcode: 0`).
 */
export interface FakeWeChat extends FakeApi {
  /** Tokens handed out so far, in order. */
  issued: string[];
  /** Makes every token handed out so far expired, as after two hours (or a refresh elsewhere). */
  expireTokens(): void;
  /** Answers for the next sends, in order; once used up, sends succeed. */
  script: SendOutcome[];
  /** Sends that reached the script with a valid token. */
  sends(): ApiRequest[];
  /** Sends answered `errcode: 0`: the messages WeChat / WeCom took. */
  delivered(): ApiRequest[];
}

export interface FakeWeChatOptions {
  /** Token endpoints: path → credentials check (true when right). */
  tokenPaths: Record<string, (request: ApiRequest) => boolean>;
  /** Errcode for wrong credentials: WeCom 40001, WeChat 40125... */
  badCredentialsErrcode: number;
  sendPaths: string[];
  expiresIn?: number;
  /** Extra fields of a successful send answer. */
  okAnswer?: Record<string, unknown>;
}

export async function startFakeWeChat(options: FakeWeChatOptions): Promise<FakeWeChat> {
  const tokens = new Map<string, 'valid' | 'expired'>();
  const issued: string[] = [];
  const script: SendOutcome[] = [];
  const accepted: ApiRequest[] = [];
  const delivered: ApiRequest[] = [];
  const api = await startFakeApi((request, res) => {
    const checkCredentials = options.tokenPaths[request.path];
    if (checkCredentials) {
      if (!checkCredentials(request)) {
        json(res, 200, { errcode: options.badCredentialsErrcode, errmsg: 'invalid credential' });
        return;
      }
      const token = `tok-${issued.length + 1}-${Math.random().toString(36).slice(2, 8)}`;
      tokens.set(token, 'valid');
      issued.push(token);
      json(res, 200, {
        errcode: 0,
        errmsg: 'ok',
        access_token: token,
        expires_in: options.expiresIn ?? 7200,
      });
      return;
    }
    if (!options.sendPaths.includes(request.path)) {
      text(res, 404, 'no such API');
      return;
    }
    const state = tokens.get(request.query.get('access_token') ?? '');
    if (state === undefined) {
      json(res, 200, { errcode: 40014, errmsg: 'invalid access_token' });
      return;
    }
    if (state === 'expired') {
      json(res, 200, { errcode: 42001, errmsg: 'access_token expired' });
      return;
    }
    accepted.push(request);
    const outcome = script.shift();
    if (outcome === 'hang') return;
    if (outcome && 'http' in outcome) text(res, outcome.http, 'bad gateway');
    else if (outcome && 'raw' in outcome) {
      if (outcome.delivered) delivered.push(request);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(outcome.raw);
    } else if (outcome) {
      if (outcome.errcode === 0) delivered.push(request);
      json(res, 200, { errmsg: 'scripted', ...outcome });
    } else {
      delivered.push(request);
      json(res, 200, { errcode: 0, errmsg: 'ok', ...options.okAnswer });
    }
  });
  return {
    ...api,
    issued,
    script,
    expireTokens() {
      for (const token of tokens.keys()) tokens.set(token, 'expired');
    },
    sends: () => accepted,
    delivered: () => delivered,
  };
}
