/*
 * The console's HTTP client. Requests ride on the session cookie (POST /v1/session set it) and
 * say they come from the console: the server refuses cookie-authenticated writes without that
 * header (CSRF), and the audit log records `via: console`.
 */

import type { Issue } from '../../server/issue';

/** An answer other than 2xx, with the API's error body (server/errors.ts) when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Listeners told when the server says the session is gone (401), so the app shows sign-in. */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      'x-touchpoint-client': 'console',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    // server/errors.ts answers `{ error: <code>, message, issues? }`.
    const body = (data ?? {}) as { error?: unknown; message?: unknown; issues?: Issue[] };
    // Signing in with a bad key is a 401 too, but that is the sign-in form's to show.
    if (res.status === 401 && path !== '/v1/session') unauthorizedListeners.forEach((l) => l());
    throw new ApiError(
      res.status,
      typeof body.error === 'string' ? body.error : `http_${res.status}`,
      typeof body.message === 'string' ? body.message : res.statusText,
      body.issues,
    );
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', withQuery(path, query)),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
};
