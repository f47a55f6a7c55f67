import fs from 'node:fs';
import path from 'node:path';
import { KEYS_FILE } from '../config/keys';
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
 * - key: `--key`, else TOUCHPOINT_ADMIN_KEY, else the adminKey of `<data dir>/keys.json`
 *   (the file the server generated on its first start);
 * - actor: `--actor`, else $USER, sent as `X-Touchpoint-Actor` (recorded in the journey's history).
 */
export class AdminClient {
  readonly baseUrl: string;
  private readonly key: string | undefined;
  private readonly keySource: string;
  private readonly actor: string | undefined;

  constructor(io: CliIo, opts: ServerOptions) {
    const settings = settingsFor(io);
    this.baseUrl = (opts.url ?? io.env.TOUCHPOINT_URL ?? `http://localhost:${settings.port}`).replace(
      /\/+$/,
      '',
    );
    const keysFile = path.join(settings.dataDir, KEYS_FILE);
    if (opts.key) {
      this.key = opts.key;
      this.keySource = '--key';
    } else if (io.env.TOUCHPOINT_ADMIN_KEY) {
      this.key = io.env.TOUCHPOINT_ADMIN_KEY;
      this.keySource = 'TOUCHPOINT_ADMIN_KEY';
    } else {
      this.key = adminKeyFrom(keysFile);
      this.keySource = keysFile;
    }
    this.actor = opts.actor ?? io.env.USER ?? undefined;
  }

  get<T>(pathname: string): Promise<T> {
    return this.request<T>('GET', pathname);
  }

  post<T>(pathname: string, body: unknown): Promise<T> {
    return this.request<T>('POST', pathname, body);
  }

  private async request<T>(method: string, pathname: string, body?: unknown): Promise<T> {
    if (!this.key) {
      throw new CliError(
        `no admin key: pass --key, set TOUCHPOINT_ADMIN_KEY, or run where ${this.keySource} exists (the server writes it on its first start)`,
      );
    }
    const url = `${this.baseUrl}${pathname}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.key}`,
      accept: 'application/json',
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
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: shown as text
    }
    if (!response.ok)
      throw new AdminApiError(
        response.status,
        parsed,
        this.answerMessage(method, url, response.status, parsed),
      );
    return parsed as T;
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
        `the server did not accept the admin key (from ${this.keySource}); pass --key or set TOUCHPOINT_ADMIN_KEY`,
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

function adminKeyFrom(file: string): string | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { adminKey?: unknown };
    return typeof parsed.adminKey === 'string' && parsed.adminKey ? parsed.adminKey : undefined;
  } catch {
    return undefined;
  }
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
