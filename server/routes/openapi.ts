import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { type Router } from 'express';
import { parse } from 'yaml';
import { projectRoot } from '../../config/settings';

/** The API's description, found from the sources and from dist/ alike (projectRoot). */
export const OPENAPI_FILE = path.join(projectRoot, 'docs', 'openapi.yaml');

/**
 * GET /openapi.json, public: docs/openapi.yaml as JSON, read and parsed once on the first
 * request (a failed read is tried again on the next one).
 */
export function openapiRouter(file = OPENAPI_FILE): Router {
  const router = express.Router();
  let document: Promise<string> | undefined;
  const load = () => {
    document ??= readFile(file, 'utf8').then((text) => JSON.stringify(parse(text)));
    document.catch(() => (document = undefined));
    return document;
  };
  router.get('/openapi.json', async (_req, res) => {
    const json = await load();
    res.set('Cache-Control', 'no-cache').type('application/json').send(json);
  });
  return router;
}
