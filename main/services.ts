import { Client, Connection } from '@temporalio/client';
import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings';
import { redisOptionsFromUrl, startRedisServer } from '../runtime/redis-server';
import { startTemporalDevServer } from '../runtime/temporal-dev-server';

/** The two servers Touchpoint stands on, connected; embedded ones started when none is given. */
export interface Services {
  redisOptions: RedisOptions;
  /** Touchpoint's own commands (profiles, markers); BullMQ opens its own connections. */
  redis: Redis;
  temporalAddress: string;
  temporalUiUrl?: string;
  temporal: Client;
  close(): Promise<void>;
}

export async function openServices(settings: Settings, logger: Logger): Promise<Services> {
  const stops: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse())
      await stop().catch((err) => logger.error({ err }, 'shutdown step failed'));
  };
  try {
    let redisUrl = settings.redisUrl;
    if (!redisUrl) {
      const server = await startRedisServer({ dataDir: settings.dataDir, logger });
      logger.info({ url: server.url, reused: server.reused }, 'embedded redis-server ready');
      stops.push(() => server.stop());
      redisUrl = server.url;
    }
    // maxRetriesPerRequest: null, as BullMQ requires for blocking connections.
    const redisOptions: RedisOptions = { ...redisOptionsFromUrl(redisUrl), maxRetriesPerRequest: null };
    const redis = new IORedis(redisOptions);
    stops.push(async () => void (await redis.quit()));
    await redis.ping();

    let temporalAddress = settings.temporalAddress;
    let temporalUiUrl: string | undefined;
    if (!temporalAddress) {
      const server = await startTemporalDevServer({
        dataDir: settings.dataDir,
        namespace: settings.temporalNamespace,
        logger,
      });
      logger.info(
        { address: server.address, ui: server.uiUrl, reused: server.reused },
        'embedded Temporal dev server ready',
      );
      stops.push(() => server.stop());
      temporalAddress = server.address;
      temporalUiUrl = server.uiUrl;
    }
    const connection = await Connection.connect({ address: temporalAddress });
    stops.push(() => connection.close());
    const temporal = new Client({ connection, namespace: settings.temporalNamespace });
    return { redisOptions, redis, temporalAddress, temporalUiUrl, temporal, close };
  } catch (err) {
    await close();
    throw err;
  }
}
