import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import IORedis from 'ioredis';
import { loadSettings } from '../config/settings';
import { encryptionEnv, loadCipher, newKeyLine, verifyKeyRing } from '../customers/encryption';
import { RedisKeys } from '../customers/keys';
import { loadProfilesConfig } from '../customers/profiles-config';
import { reencryptProfiles } from '../customers/reencrypt';
import { redisOptionsFromUrl } from '../runtime/redis-server';
import { CliError, type CliIo } from './io';
import { resolvePath } from './journeys';

/**
 * `touchpoint profiles …`: maintenance of the profile data in Redis (docs/profiles.md). Unlike
 * the journey commands these talk to Redis directly, with the installation's keys: run them where
 * the server runs (same environment, same data directory).
 */
export function registerProfilesCommands(program: Command, io: CliIo): void {
  const profiles = program.command('profiles').description('profile data: encryption keys and re-encryption');

  profiles
    .command('reencrypt')
    .description(
      'encrypt every sensitive trait under the current key (after adding a key to the ring); resumable',
    )
    .option('--config <file>', 'config file with the `profiles.sensitive` list (default: TOUCHPOINT_CONFIG)')
    .option(
      '--redis <url>',
      'Redis URL (default: REDIS_URL, else the embedded server under the data directory)',
    )
    .option('--restart', 'start over instead of resuming an unfinished run')
    .option('--page-size <n>', 'profiles per SCAN page', '500')
    .action(async (opts: { config?: string; redis?: string; restart?: boolean; pageSize: string }) => {
      const settings = loadSettings(io.env);
      const configFile = opts.config ? resolvePath(io, opts.config) : settings.configFile;
      const config = loadProfilesConfig(configFile);
      // Never a new key here: one the server does not know would make its data unreadable.
      const cipher = loadCipher(settings.dataDir, encryptionEnv(io.env));
      const pageSize = Number(opts.pageSize);
      if (!Number.isInteger(pageSize) || pageSize < 1)
        throw new CliError('--page-size: expected a whole number ≥ 1');
      const redis = new IORedis({
        ...redisOptionsFromUrl(redisUrl(opts.redis, io, settings.dataDir)),
        lazyConnect: true,
      });
      try {
        await redis.connect();
        const keys = new RedisKeys(settings.keyPrefix);
        await verifyKeyRing(redis, keys.encryptionKeyChecks(), cipher);
        const started = Date.now();
        let lastShown = 0;
        const result = await reencryptProfiles({
          redis,
          keys,
          cipher,
          sensitive: config.sensitive,
          pageSize,
          restart: opts.restart,
          onProgress: (p) => {
            if (p.finishedAt === undefined && Date.now() - lastShown < 1000) return;
            lastShown = Date.now();
            const rate = Math.round(p.scanned / Math.max(0.001, (Date.now() - started) / 1000));
            io.err(`  ${p.scanned} profiles scanned, ${p.rewritten} values rewritten (${rate}/s)\n`);
          },
        });
        if (result.resumed) io.err(`resumed the run started ${result.startedAt}\n`);
        io.out(
          `re-encrypted under key ${result.keyId}: ${result.scanned} profiles, ${result.rewritten} values rewritten\n`,
        );
      } finally {
        redis.disconnect();
      }
    });

  profiles
    .command('new-key')
    .description(
      'print a fresh key for TOUCHPOINT_ENCRYPTION_KEYS (put it first, keep the old ones after it)',
    )
    .argument('[id]', 'key id (default k<yyyymmdd>)')
    .action((id?: string) => io.out(`${newKeyLine(id)}\n`));
}

/** --redis, REDIS_URL, else the URL the embedded redis-server recorded under the data directory. */
function redisUrl(flag: string | undefined, io: CliIo, dataDir: string): string {
  if (flag) return flag;
  if (io.env.REDIS_URL) return io.env.REDIS_URL;
  try {
    const state = JSON.parse(readFileSync(path.join(dataDir, 'redis', 'redis.json'), 'utf8')) as {
      url?: string;
    };
    if (state.url) return state.url;
  } catch {
    // no embedded server recorded
  }
  throw new CliError('no Redis: set REDIS_URL or --redis, or start the server (its embedded Redis) first');
}
