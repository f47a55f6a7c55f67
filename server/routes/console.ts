import express, { type RequestHandler, type Router } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../config/settings';
import { ApiError } from '../errors';

/** Where `npm run build` puts the console (console/vite.config.ts). */
export const CONSOLE_DIR = path.join(projectRoot, 'dist', 'console');

/**
 * What the console's pages may load: only this server's scripts and API. antd and Mermaid write
 * inline styles, so styles allow 'unsafe-inline'; scripts never do.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
  });
  next();
};

/**
 * The web console at /console/ (public: it holds no data; every API call it makes needs a
 * session). Built files are served as they are: hashed assets cached for a year, index.html never
 * cached. Any other path without a file extension is a page of the single-page app and gets
 * index.html; a missing asset is a 404, not a page. Before `npm run build` has built it, /console/
 * answers 503 saying so.
 */
export function consoleRouter({ dir = CONSOLE_DIR }: { dir?: string } = {}): Router {
  const router = express.Router({ strict: true });
  const index = path.join(dir, 'index.html');

  router.get('/console', (req, res) => {
    const query = req.originalUrl.slice(req.path.length);
    res.redirect(301, `/console/${query}`);
  });
  router.use('/console', securityHeaders);
  router.use(
    '/console/assets',
    express.static(path.join(dir, 'assets'), {
      index: false,
      fallthrough: true,
      immutable: true,
      maxAge: '365d',
    }),
  );
  router.get('/console/{*page}', (req, res, next) => {
    // A file that is not there (a stale asset name, a typo) must not come back as the page.
    if (path.extname(req.path) !== '') return next();
    if (!existsSync(index)) {
      return next(new ApiError(503, 'console_not_built', 'the console is not built: run `npm run build`'));
    }
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
