import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { excerpt, httpCall, isRetryableStatus, parseJson } from './http';
import { PermanentDeliveryError } from './provider';

/**
 * Access tokens of the WeChat-family APIs (WeCom `gettoken`, WeChat `token` / `stable_token`),
 * and the JSON call convention those APIs share: HTTP 200 with `errcode` 0 for success.
 */

/** A token as its API hands it out. */
export interface FreshToken {
  token: string;
  expiresInSeconds: number;
}

/** `errcode`s that mean "this access token is not (or no longer) good": refresh it and retry. */
export const TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);

export interface AccessTokenCacheOptions {
  redis: Redis;
  /** Redis key of the cached token; one per app and secret. */
  key: string;
  fetchToken: () => Promise<FreshToken>;
  /** Dropped this long before the API says it expires, so no send goes out with a dying token. */
  marginSeconds?: number;
  /** How long other workers wait for the one fetching a token: longer than a fetch may take. */
  fetchWaitMs?: number;
}

/**
 * A token cached in Redis, shared by every delivery worker and process: the APIs limit how
 * often a token may be fetched, and fetching one per worker would waste that quota (and, with
 * WeChat's classic `token` API, each fetch shortens the life of the previous token).
 */
export class AccessTokenCache {
  private readonly marginSeconds: number;
  private readonly fetchWaitMs: number;

  constructor(private readonly options: AccessTokenCacheOptions) {
    this.marginSeconds = options.marginSeconds ?? 300;
    this.fetchWaitMs = options.fetchWaitMs ?? 15_000;
  }

  async get(): Promise<string> {
    return (await this.options.redis.get(this.options.key)) ?? this.fetchAndStore();
  }

  /**
   * A new token after the API refused `stale`. Only a cached token still equal to `stale` is
   * dropped: another worker may already have stored a fresh one, which is then used as is.
   */
  async refresh(stale: string): Promise<string> {
    await this.options.redis.eval(DELETE_IF_EQUAL, 1, this.options.key, stale);
    return this.get();
  }

  private async fetchAndStore(): Promise<string> {
    const { redis, key } = this.options;
    const lockKey = `${key}:fetching`;
    const lockToken = randomUUID();
    const locked = (await redis.set(lockKey, lockToken, 'PX', this.fetchWaitMs, 'NX')) === 'OK';
    if (!locked) {
      // Another worker is fetching: wait for its token rather than spend one more fetch.
      const deadline = Date.now() + this.fetchWaitMs;
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const token = await redis.get(key);
        if (token) return token;
        if (!(await redis.exists(lockKey))) break; // its fetch failed: try ours
      }
    }
    try {
      const fresh = await this.options.fetchToken();
      await redis.set(key, fresh.token, 'EX', this.ttlFor(fresh.expiresInSeconds));
      return fresh.token;
    } finally {
      if (locked) await redis.eval(DELETE_IF_EQUAL, 1, lockKey, lockToken);
    }
  }

  /** Normally 7200 s minus the margin; a token that lives less than twice the margin is kept half its life. */
  private ttlFor(expiresInSeconds: number): number {
    const ttl =
      expiresInSeconds > 2 * this.marginSeconds
        ? expiresInSeconds - this.marginSeconds
        : Math.floor(expiresInSeconds / 2);
    return Math.max(1, ttl);
  }
}

const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** The JSON every WeChat-family API answers with; `errcode` is absent or 0 on success. */
export interface WeChatAnswer {
  errcode?: number;
  errmsg?: string;
  [field: string]: unknown;
}

export interface WeChatCall {
  method: 'GET' | 'POST';
  /** Sent as JSON. */
  body?: unknown;
  timeoutMs: number;
}

/**
 * Calls a WeChat-family API. These answer HTTP 200 with an errcode, so any other status is the
 * gateway in front of them: 408, 429 and 5xx are retryable, other statuses permanent (a wrong
 * base URL or path). A body that is not JSON is retryable (an error page of a proxy).
 */
export async function callWeChatApi(what: string, url: string, call: WeChatCall): Promise<WeChatAnswer> {
  const answer = await httpCall(what, url, {
    method: call.method,
    headers: call.body === undefined ? undefined : { 'content-type': 'application/json' },
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
    timeoutMs: call.timeoutMs,
  });
  const detail = `${what} answered HTTP ${answer.status}: ${excerpt(answer.text)}`;
  if (isRetryableStatus(answer.status)) throw new Error(detail);
  if (answer.status !== 200) throw new PermanentDeliveryError(detail);
  // Message ids are 64-bit numbers, past what a JS number holds exactly: keep them as text.
  const json = parseJson(answer.text.replace(/"msgid"\s*:\s*(\d{16,})/g, '"msgid":"$1"'));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${what} answered something other than a JSON object: ${excerpt(answer.text)}`);
  }
  return json as WeChatAnswer;
}

/**
 * Runs `call` with the cached token; when the API says the token is invalid or expired (it was
 * revoked, or another system refreshed it), refreshes it and runs `call` once more at once.
 */
export async function callWithToken(
  cache: AccessTokenCache,
  call: (token: string) => Promise<WeChatAnswer>,
): Promise<WeChatAnswer> {
  const token = await cache.get();
  const first = await call(token);
  if (!TOKEN_ERRCODES.has(first.errcode ?? 0)) return first;
  return call(await cache.refresh(token));
}

/**
 * Reads a token answer. `errcode` -1 (busy) and rate limits are retryable; anything else (wrong
 * secret or app id, an IP not on the allowlist) will fail the same way until someone fixes the
 * configuration, so it is permanent and says so.
 */
export function readTokenAnswer(what: string, answer: WeChatAnswer): FreshToken {
  const errcode = answer.errcode ?? 0;
  if (errcode === 0 && typeof answer.access_token === 'string' && answer.access_token !== '') {
    const expiresIn = typeof answer.expires_in === 'number' ? answer.expires_in : 7200;
    return { token: answer.access_token, expiresInSeconds: expiresIn };
  }
  const detail = `${what} refused: errcode ${errcode} ${answer.errmsg ?? ''}`.trim();
  if (errcode === -1 || errcode === 45009 || errcode === 45011 || errcode === 45033) throw new Error(detail);
  if (errcode === 0) throw new Error(`${what} answered without an access_token`);
  throw new PermanentDeliveryError(`${detail} (check the configured credentials)`);
}
