import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import express from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { KeyStore } from '../access/key-store';
import type { KeyResolver } from '../access/principal';
import { KEYS_FILE, loadOrCreateKeys } from '../config/keys';
import type { Settings } from '../config/settings';
import { Access, BootstrapKeys } from '../server/auth';
import { errorHandler, notFound } from '../server/errors';
import { metricsRouter } from '../server/routes/metrics';
import type { Metrics } from './metrics';

/**
 * GET /metrics alone, for a process without the api role (TOUCHPOINT_METRICS_PORT): the same
 * route and permission (`metrics:read`) as the API's, on a port of its own. Resolves once bound.
 */
export function serveMetrics(options: {
  port: number;
  access: Access;
  metrics: Metrics;
  logger: Logger;
}): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRouter(options));
  app.use(notFound);
  app.use(errorHandler(options.logger));
  return new Promise((resolve, reject) => {
    const server = app.listen(options.port);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

/**
 * Who may scrape a process without the api role: the keys of the key store (shared in Redis),
 * and the bootstrap keys when this process has them (both in the env, or keys.json in its data
 * dir). It never generates bootstrap keys: that is the api role's first start.
 */
export function metricsAccess(redis: Redis, settings: Settings): Access {
  const resolvers: KeyResolver[] = [];
  const { dataDir, writeKey, adminKey } = settings;
  if ((writeKey && adminKey) || existsSync(path.join(dataDir, KEYS_FILE)))
    resolvers.push(new BootstrapKeys(loadOrCreateKeys({ dataDir, writeKey, adminKey })));
  resolvers.push(new KeyStore(redis, settings.keyPrefix));
  return new Access(resolvers);
}
