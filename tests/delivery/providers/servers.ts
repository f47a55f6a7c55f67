import { json, reply, startHttpServer, type ReceivedRequest, type TestHttpServer } from '../support';

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
export interface FakeWeChat extends TestHttpServer {
  /** Tokens handed out so far, in order. */
  issued: string[];
  /** Makes every token handed out so far expired, as after two hours (or a refresh elsewhere). */
  expireTokens(): void;
  /** Answers for the next sends, in order; once used up, sends succeed. */
  script: SendOutcome[];
  /** Sends that reached the script with a valid token. */
  sends(): ReceivedRequest[];
  /** Sends answered `errcode: 0`: the messages WeChat / WeCom took. */
  delivered(): ReceivedRequest[];
}

export interface FakeWeChatOptions {
  /** Token endpoints: path → credentials check (true when right). */
  tokenPaths: Record<string, (request: ReceivedRequest) => boolean>;
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
  const accepted: ReceivedRequest[] = [];
  const delivered: ReceivedRequest[] = [];
  const api = await startHttpServer((res, request) => {
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
      reply(res, 404, 'no such API');
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
    if (outcome && 'http' in outcome) reply(res, outcome.http, 'bad gateway');
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
