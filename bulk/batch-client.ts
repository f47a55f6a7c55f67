import { ImportError } from './source';

/** The import was asked to stop (Ctrl-C) while a batch was waiting to be retried. */
export class Interrupted extends Error {
  override name = 'Interrupted';
}

export interface BatchClientOptions {
  /** The server's base URL, e.g. http://localhost:3000. */
  url: string;
  writeKey: string;
  /** Tries per request on connection errors, 408, 429 and 5xx (default 10, about 4 minutes). */
  maxAttempts?: number;
  /** First backoff; doubled per try up to maxDelayMs, with jitter (default 500 ms, 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per request (default 60 s). */
  timeoutMs?: number;
  /** Ends retries at once (the batch then counts as not sent). */
  signal?: AbortSignal;
  /** Told about each retry (progress shows them). */
  onRetry?: (why: string, delayMs: number) => void;
}

/** A message of the batch the server refused, by its index in the batch, and why. */
export interface Refusal {
  index: number;
  reason: string;
}

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * Posts batches to `/v1/batch` with the write key. The API takes a batch whole or not at all, and
 * its 400 names every bad field by path (`batch[3].traits.email`): the messages at those indices
 * are refused and the rest sent again. A 400 that names no message, or a 413 (body over the
 * server's limit), splits the batch in halves until the culprit is alone. Connection errors,
 * 408, 429 and 5xx are retried with exponential backoff (Retry-After when the server gives one);
 * 401, 403 and anything else stop the import.
 */
export class BatchClient {
  private readonly endpoint: string;
  private readonly authorization: string;
  /** Whether the server ever answered: until it has, a connection error is more likely a wrong URL. */
  private reached = false;

  constructor(private readonly opts: BatchClientOptions) {
    this.endpoint = `${opts.url.replace(/\/+$/, '')}/v1/batch`;
    this.authorization = `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`;
  }

  /** `messages`: each message as JSON (serialised once, when the batch was sized). */
  async send(messages: readonly string[]): Promise<{ accepted: number; refused: Refusal[] }> {
    const refused: Refusal[] = [];
    let accepted = 0;
    const work: number[][] = messages.length > 0 ? [messages.map((_, i) => i)] : [];
    while (work.length > 0) {
      const indices = work.pop()!;
      const { status, body } = await this.post(indices.map((i) => messages[i]!));
      if (status >= 200 && status < 300) {
        accepted += indices.length;
        continue;
      }
      if (status === 400) {
        const byIndex = issuesByIndex(body, indices.length);
        if (byIndex.size > 0) {
          for (const [i, reasons] of byIndex)
            refused.push({ index: indices[i]!, reason: reasons.join('; ') });
          const rest = indices.filter((_, i) => !byIndex.has(i));
          if (rest.length > 0) work.push(rest);
          continue;
        }
      }
      if (status === 400 || status === 413) {
        if (indices.length === 1) {
          const reason =
            status === 413 ? "larger than the server's request body limit" : messageOf(body, status);
          refused.push({ index: indices[0]!, reason });
        } else {
          const half = Math.ceil(indices.length / 2);
          work.push(indices.slice(half), indices.slice(0, half));
        }
        continue;
      }
      const hint =
        status === 401 || status === 403
          ? ' (the write key: --write-key or TOUCHPOINT_WRITE_KEY)'
          : status === 404
            ? ' (is the URL a Touchpoint server?)'
            : '';
      throw new ImportError(`POST ${this.endpoint} answered ${status}: ${messageOf(body, status)}${hint}`);
    }
    return { accepted, refused };
  }

  private async post(messages: string[]): Promise<{ status: number; body: unknown }> {
    const {
      maxAttempts = 10,
      baseDelayMs = 500,
      maxDelayMs = 30_000,
      timeoutMs = 60_000,
      signal,
    } = this.opts;
    const payload = `{"batch":[${messages.join(',')}]}`;
    let last = '';
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new Interrupted('interrupted');
      let retryAfterMs: number | undefined;
      try {
        const timeout = AbortSignal.timeout(timeoutMs);
        const response = await fetch(this.endpoint, {
          method: 'POST',
          headers: { authorization: this.authorization, 'content-type': 'application/json' },
          body: payload,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        this.reached = true;
        const text = await response.text();
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: kept as text for the message
        }
        if (!RETRYABLE(response.status)) return { status: response.status, body };
        last = `answered ${response.status}: ${messageOf(body, response.status)}`;
        retryAfterMs = retryAfter(response.headers.get('retry-after'));
      } catch (err) {
        if (signal?.aborted) throw new Interrupted('interrupted');
        last = connectionProblem(err);
        // A server never reached: a wrong URL or a server not started; said after a few seconds.
        if (!this.reached && attempt >= Math.min(maxAttempts, 3))
          throw new ImportError(
            `cannot reach ${this.endpoint}: it ${last}. Is the server running? (--url, TOUCHPOINT_URL)`,
          );
      }
      if (attempt >= maxAttempts)
        throw new ImportError(`POST ${this.endpoint} failed ${attempt} times; the last time it ${last}`);
      const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.min(Math.max(retryAfterMs ?? 0, backoff * (0.5 + Math.random() / 2)), 60_000);
      this.opts.onRetry?.(last, delay);
      await sleep(delay, signal);
    }
  }
}

/** `batch[3].traits.email: must be ...` issues by message index (within `size`), path made relative. */
function issuesByIndex(body: unknown, size: number): Map<number, string[]> {
  const issues = (body as { issues?: { path?: unknown; message?: unknown }[] } | undefined)?.issues;
  const out = new Map<number, string[]>();
  if (!Array.isArray(issues)) return out;
  for (const issue of issues) {
    const m = typeof issue.path === 'string' ? /^batch\[(\d+)\]\.?(.*)$/.exec(issue.path) : null;
    const index = m ? Number(m[1]) : NaN;
    // An issue about the envelope (or an index we did not send): the batch cannot be attributed.
    if (!m || !(index < size)) return new Map();
    const reason = `${m[2] ? `${m[2]}: ` : ''}${String(issue.message ?? 'invalid')}`;
    out.set(index, [...(out.get(index) ?? []), reason]);
  }
  return out;
}

function messageOf(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null) {
    const { error, message } = body as { error?: unknown; message?: unknown };
    if (typeof message === 'string') return typeof error === 'string' ? `${error}: ${message}` : message;
  }
  if (typeof body === 'string' && body) return body.slice(0, 300);
  return `HTTP ${status}`;
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function connectionProblem(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const name = (err as { name?: string }).name;
  if (name === 'TimeoutError') return 'got no answer in time';
  return `could not connect (${cause?.code ?? cause?.message ?? (err as Error).message})`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Interrupted('interrupted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Interrupted('interrupted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
