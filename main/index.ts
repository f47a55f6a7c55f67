import { loadSettings } from '../config/settings';
import { createLogger } from './logger';
import { parseRoles } from './roles';
import { startTouchpoint } from './touchpoint';

/**
 * `npm start`: runs Touchpoint. With no TEMPORAL_ADDRESS / REDIS_URL it starts (or reuses) its
 * own Temporal dev server and redis-server under data/. `--role` picks what this process runs
 * (api, journeys, router, delivery; default all) to scale the parts apart.
 */
async function main(): Promise<void> {
  const settings = loadSettings();
  const logger = createLogger(settings.logLevel);
  const touchpoint = await startTouchpoint(
    settings,
    parseRoles(process.argv.slice(2), process.env.TOUCHPOINT_ROLES),
    logger,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    touchpoint.stop().then(
      () => {
        logger.info('stopped');
        process.exit();
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: Error) => {
  // Config errors carry every problem with file, line and step id in their message.
  process.stderr.write(`touchpoint: ${err.message}\n`);
  process.exit(1);
});
