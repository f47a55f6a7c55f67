import { noKeyMessage } from '../config/keys';
import { CliError, type CliIo } from './io';
import { settingsFor } from './journeys';

/** How the server-side commands reach the admin API. */
export interface ServerOptions {
  url?: string;
  key?: string;
  actor?: string;
}

/** One issue in a 400 answer: a journey issue (file, line, column, step) or a field of the request. */
interface AnswerIssue {
  file?: string;
  line?: number;
  column?: number;
  stepId?: string;
  path?: string;
  message?: string;
  hint?: string;
}

/** A non-2xx answer, with the server's `{ error, message, issues }` body. */
export class AdminApiError extends CliError {
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The admin API client of `touchpoint publish|pause|resume|stop|list|status`:
 * - URL: `--url`, else TOUCHPOINT_URL, else http://localhost:<PORT or 3000>;
 * - key: `--key`, else TOUCHPOINT_ADMIN_KEY (an admin key or any key whose role allows the
 *   command; `<data dir>/keys.json` holds only hashes, so the key cannot come from there);
 * - actor: `--actor`, else $USER, sent as `X-Touchpoint-Actor` (recorded in the journey's history).
 */
export class AdminClient {
  readonly baseUrl: string;
  private readonly key: string | undefined;
  private readonly keySource: string;
  private readonly dataDir: string;
  private readonly actor: string | undefined;

  constructor(io: CliIo, opts: ServerOptions) {
    const settings = settingsFor(io);
    this.baseUrl = (opts.url ?? io.env.TOUCHPOINT_URL ?? `http://localhost:${settings.port}`).replace(
      /\/+$/,
      '',
    );
    this.dataDir = settings.dataDir;
    this.key = opts.key || io.env.TOUCHPOINT_ADMIN_KEY || undefined;
    this.keySource = opts.key ? '--key' : 'TOUCHPOINT_ADMIN_KEY';
    this.actor = opts.actor ?? io.env.USER ?? undefined;
  }

  get<T>(pathname: string): Promise<T> {
    return this.request<T>('GET', pathname);
  }

  post<T>(pathname: string, body: unknown): Promise<T> {
    return this.request<T>('POST', pathname, body);
  }

  delete<T>(pathname: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', pathname, body);
  }

  /** A GET whose answer is read as it arrives (the audit export's NDJSON): the body's chunks. */
  async stream(pathname: string, accept: string): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.send('GET', pathname, undefined, accept);
    if (!response.body) throw new CliError(`GET ${this.baseUrl}${pathname} answered without a body`);
    return response.body;
  }

  private async request<T>(method: string, pathname: string, body?: unknown): Promise<T> {
    const response = await this.send(method, pathname, body, 'application/json');
    const text = await response.text();
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      return text as T;
    }
  }

  /** The request, answered 2xx; else an AdminApiError with the server's message. */
  private async send(method: string, pathname: string, body: unknown, accept: string): Promise<Response> {
    if (!this.key) {
      throw new CliError(noKeyMessage('admin', '--key', 'TOUCHPOINT_ADMIN_KEY', this.dataDir));
    }
    const url = `${this.baseUrl}${pathname}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.key}`,
      accept,
      'x-touchpoint-client': 'cli',
    };
    if (this.actor) headers['x-touchpoint-actor'] = this.actor;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new CliError(connectionMessage(this.baseUrl, err));
    }
    if (response.ok) return response;
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: shown as text
    }
    throw new AdminApiError(
      response.status,
      parsed,
      this.answerMessage(method, url, response.status, parsed),
    );
  }

  private answerMessage(method: string, url: string, status: number, body: unknown): string {
    const { error, message, issues } = (typeof body === 'object' && body !== null ? body : {}) as {
      error?: string;
      message?: string;
      issues?: AnswerIssue[];
    };
    const said = message ?? (typeof body === 'string' && body ? body.slice(0, 500) : undefined);
    const lines = [
      `${method} ${url} answered ${status}${error ? ` ${error}` : ''}${said ? `: ${said}` : ''}`,
    ];
    if (Array.isArray(issues)) lines.push(...issues.map((issue) => `  ${formatAnswerIssue(issue)}`));
    if (status === 401)
      lines.push(
        `the server did not accept the key (from ${this.keySource}); pass --key or set TOUCHPOINT_ADMIN_KEY`,
      );
    if (status === 403)
      lines.push(
        `the key (from ${this.keySource}) is valid but its role may not do this; use a key whose role may`,
      );
    if (status === 404 && error === 'not_found' && message?.startsWith('no route'))
      lines.push('this server has no such admin route: is it an older version of Touchpoint?');
    return lines.join('\n');
  }
}

/** A journey issue as `file:line:col [step x] path: message (hint)`, a request issue as `path: message`. */
export function formatAnswerIssue(issue: AnswerIssue): string {
  const place =
    issue.line !== undefined ? `${issue.file ?? 'source'}:${issue.line}:${issue.column ?? 1} ` : '';
  const step = issue.stepId ? `[step ${issue.stepId}] ` : '';
  const where = issue.path ? `${issue.path}: ` : '';
  const hint = issue.hint ? ` (${issue.hint})` : '';
  return `${place}${step}${where}${issue.message ?? ''}${hint}`;
}

function connectionMessage(baseUrl: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { name?: string }).name;
  const reason =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND'
        ? 'unknown host'
        : code === 'TimeoutError'
          ? 'no answer within 30 s'
          : (cause?.message ?? (err as Error).message);
  return `cannot reach the Touchpoint server at ${baseUrl} (${reason}). Is it running (npm start)? Point the CLI at it with --url or TOUCHPOINT_URL.`;
}
