import express, { type RequestHandler } from 'express';
import { ApiError } from './errors';

/** Segment's limit for a batch request. */
export const DEFAULT_BODY_LIMIT = '500kb';

/**
 * Middlewares that require a JSON body of at most `limit` (bytes, or a string like '500kb') and
 * parse it. Errors (wrong Content-Type, malformed JSON, too large) become JSON answers.
 */
export function jsonBody(limit: number | string = DEFAULT_BODY_LIMIT): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (req.is('application/json')) return next();
    next(
      new ApiError(
        400,
        'unsupported_content_type',
        'expected a JSON body with Content-Type: application/json',
      ),
    );
  };
  return [requireJson, express.json({ limit })];
}
