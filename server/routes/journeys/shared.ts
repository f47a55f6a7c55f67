import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { JourneyLifecycle } from '../../../registry/lifecycle';
import { RegistryError } from '../../../registry/errors';
import type { JourneyStore } from '../../../registry/store';
import { BOOTSTRAP_ADMIN_KEY_ID, principalOf } from '../../auth';
import { ApiError, invalidRequest } from '../../errors';

/** What the journey registry routes need: the store, the lifecycle service, the counters. */
export interface JourneyRegistryApi {
  store: JourneyStore;
  lifecycle: JourneyLifecycle;
  /** Counters per journey version (customers/journey-stats.ts), for `GET /:id/status`. */
  stats?: { get(journeyId: string, version: number): Promise<Record<string, number>> };
  /** Called after every change made through the API (e.g. to refresh the process's catalog). */
  onChange?: () => Promise<unknown>;
}

export const ACTOR_HEADER = 'X-Touchpoint-Actor';
const MAX_ACTOR_LENGTH = 200;

/**
 * Who acts, as the journey's history records it: the principal's name. The bootstrap admin key is
 * shared, so with it the `X-Touchpoint-Actor` header (trimmed) names the person, `admin` by default.
 */
export function actorOf(req: Request, res: Response): string {
  const principal = principalOf(res);
  const header = req.get(ACTOR_HEADER);
  if (principal.keyId !== BOOTSTRAP_ADMIN_KEY_ID || header === undefined) return principal.name;
  const actor = header.trim();
  if (actor === '' || actor.length > MAX_ACTOR_LENGTH || /[\p{Cc}]/u.test(actor)) {
    throw invalidRequest([
      {
        path: ACTOR_HEADER,
        message: `must be 1 to ${MAX_ACTOR_LENGTH} printable characters naming who acts`,
      },
    ]);
  }
  return actor;
}

/** Journey ids are lowercase slugs (as in the journey language). */
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The `:id` of a route that creates or changes a journey; 400 unless it is a slug. */
export function journeyIdParam(id: string): string {
  if (!SLUG.test(id) || id.length > 100) {
    throw invalidRequest([
      { path: 'id', message: 'a journey id is a lowercase slug: a-z, 0-9 and single hyphens' },
    ]);
  }
  return id;
}

/** A positive whole number from a path or query parameter, else 400 at `name`. */
export function versionParam(value: unknown, name: string): number {
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1)
    throw invalidRequest([{ path: name, message: 'must be a version number (1, 2, ...)' }]);
  return n;
}

/** RegistryError → the API's answer: 404, 409 or 400 with the fields at fault. */
export function apiErrorOf(err: unknown): unknown {
  if (!(err instanceof RegistryError)) return err;
  if (err.kind === 'not_found') return new ApiError(404, 'not_found', err.message);
  if (err.kind === 'conflict') return new ApiError(409, 'conflict', err.message);
  return new ApiError(400, 'invalid_request', err.message, { issues: err.issues });
}

/**
 * Lifecycle actions may be posted without a body (`curl -X POST .../pause`): no body reads as
 * `{}`; a body must be JSON.
 */
export const optionalJson: RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) {
    req.body = {};
    return next();
  }
  if (req.is('application/json')) return next();
  next(
    new ApiError(400, 'unsupported_content_type', 'expected a JSON body with Content-Type: application/json'),
  );
};

/** Text fields: required / must be a string messages as the rest of the API words them. */
export const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .max(max, `must be at most ${max} characters`);

export const MAX_SOURCE_LENGTH = 256 * 1024;
export const sourceField = text(MAX_SOURCE_LENGTH).min(1, 'must not be empty');
export const formatField = z.enum(['yaml', 'json'], { error: 'must be `yaml` or `json`' });

/** An async handler whose registry errors become API errors (404 / 409 / 400). */
export function route(handler: (...args: Parameters<RequestHandler>) => Promise<unknown>): RequestHandler {
  return (req, res, next) => {
    handler(req, res, next).catch((err: unknown) => next(apiErrorOf(err)));
  };
}
