import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Issue } from './issue';

// Declared in issue.ts, which the console imports.
export type { Issue };

/**
 * An error whose status, code and message are meant for the client. Anything else thrown in a
 * handler is answered with a bare 500 so internals never leak.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { issues?: Issue[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'ApiError';
  }
}

export function invalidRequest(issues: Issue[]): ApiError {
  const message = issues.length === 1 ? '1 invalid field' : `${issues.length} invalid fields`;
  return new ApiError(400, 'invalid_request', message, { issues });
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** ['batch', 2, 'properties', 'first name'] → `batch[2].properties["first name"]`; [] → `` (the body). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Client codes for the errors body-parser raises (they carry `type` and a 4xx `status`). */
const BODY_PARSER_ERRORS: Record<string, { code: string; message?: (err: HttpLikeError) => string }> = {
  'entity.too.large': {
    code: 'payload_too_large',
    message: (err) => `request body is larger than the limit of ${err.limit} bytes`,
  },
  'entity.parse.failed': {
    code: 'invalid_json',
    message: (err) => `request body is not valid JSON: ${err.message}`,
  },
  'encoding.unsupported': { code: 'unsupported_encoding' },
  'charset.unsupported': { code: 'unsupported_charset' },
};

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  limit?: number;
  message: string;
}

function clientStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode, expose } = err as HttpLikeError;
  const code = status ?? statusCode;
  return typeof code === 'number' && code >= 400 && code < 500 && expose !== false ? code : undefined;
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** The last middleware: every error becomes `{ error, message, ... }` JSON. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);

    if (err instanceof ApiError) {
      if (err.status >= 500) logger.error({ err, method: req.method, url: req.originalUrl }, err.message);
      if (err.details.headers) res.set(err.details.headers);
      const issues = err.details.issues ? { issues: err.details.issues } : {};
      res.status(err.status).json({ error: err.code, message: err.message, ...issues });
      return;
    }

    // Errors from Express itself and body-parser (malformed JSON, too large, bad param encoding).
    const status = clientStatus(err);
    if (status !== undefined) {
      const httpErr = err as HttpLikeError;
      const known = httpErr.type ? BODY_PARSER_ERRORS[httpErr.type] : undefined;
      const message = known?.message ? known.message(httpErr) : httpErr.message;
      res.status(status).json({ error: known?.code ?? 'bad_request', message });
      return;
    }

    logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    res.status(500).json({ error: 'internal', message: 'internal server error' });
  };
}
