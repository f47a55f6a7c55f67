/** What came back from an HTTP call: the status and the whole body (read, so the socket is reused). */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/**
 * fetch with a deadline that covers the body too. A network failure or a timeout throws a plain
 * (retryable) Error that says why; `what` names the call without its URL, which may hold an
 * access token or credentials that must not end up in logs and touch records.
 */
export async function httpCall(what: string, url: string, request: HttpRequest): Promise<HttpAnswer> {
  try {
    const response = await fetch(url, {
      method: request.method ?? 'GET',
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs),
      // Following a 301/302 would turn a POST into a GET without body that "succeeds".
      redirect: 'manual',
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  } catch (err) {
    // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND...).
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code;
    const reason = cause ? `${(err as Error).message} (${cause})` : (err as Error).message;
    throw new Error(`${what} unreachable: ${reason}`);
  }
}

/**
 * Whether an HTTP refusal may pass if tried again: 408 (timeout), 429 (rate limit), 5xx. Any
 * other status (4xx, an unfollowed redirect) would be refused again.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The body as JSON, or undefined when it is not JSON (an HTML error page from a proxy...). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first `max` characters of a body, for error messages. */
export function excerpt(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
