import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { SeedOutcome } from '../registry/seed';
import { AuditKeys } from './keys';
import type { AuditActor, AuditEntry, AuditLog, AuditOrigin } from './types';

/** The engine itself, acting at start-up. */
export const SYSTEM_ACTOR: AuditActor = { name: 'system', role: 'system' };

const startupOrigin = (): AuditOrigin => ({ via: 'startup' });

/** `journey.seed` for each journey file start-up published as a new version (registry/seed.ts). */
export async function auditSeededJourneys(
  auditLog: AuditLog,
  outcomes: SeedOutcome[],
): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  // Only `published`: the store's publish says `created` to one process when several seed at once.
  for (const outcome of outcomes.filter((o) => o.action === 'published')) {
    entries.push(
      await auditLog.append({
        actor: SYSTEM_ACTOR,
        action: 'journey.seed',
        target: `journey:${outcome.id}@${outcome.version}`,
        detail: { file: path.basename(outcome.file), status: outcome.status, host: os.hostname() },
        from: startupOrigin(),
      }),
    );
  }
  return entries;
}

/**
 * Moves one template's recorded hash from `ARGV[2]` to `ARGV[3]` ('' = none) only if it is still
 * `ARGV[2]`: of several processes starting at once, one claims each change and audits it.
 */
const CLAIM = `
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`;

/**
 * `template.change` for each template file (bodies, partials, layouts) whose SHA-256 differs from
 * the one recorded at the previous start: added (every file at the first start), changed or
 * removed. Templates are files deployed beside the engine, so a start is where a change shows.
 */
export async function auditTemplateChanges({
  redis,
  keyPrefix,
  auditLog,
  templatesDir,
}: {
  redis: Redis;
  keyPrefix: string;
  auditLog: AuditLog;
  templatesDir: string;
}): Promise<AuditEntry[]> {
  const key = new AuditKeys(keyPrefix).templateHashes();
  const current = templateHashes(templatesDir);
  const recorded = await redis.hgetall(key);
  const entries: AuditEntry[] = [];
  for (const name of [...new Set([...current.keys(), ...Object.keys(recorded)])].sort()) {
    const was = recorded[name];
    const now = current.get(name);
    if (was === now) continue;
    if ((await redis.eval(CLAIM, 1, key, name, was ?? '', now ?? '')) !== 1) continue;
    const detail = !was
      ? { added: true, sha256: now }
      : !now
        ? { removed: true, previousSha256: was }
        : { sha256: now, previousSha256: was };
    entries.push(
      await auditLog.append({
        actor: SYSTEM_ACTOR,
        action: 'template.change',
        target: `template:${name}`,
        detail: { ...detail, host: os.hostname() },
        from: startupOrigin(),
      }),
    );
  }
  return entries;
}

/**
 * SHA-256 of every template file, by its path under the templates folder without `.hbs`
 * (`sms/welcome.zh-CN`, `_partials/brand.en`). Dotfiles and Markdown notes are not templates.
 */
export function templateHashes(dir: string): Map<string, string> {
  const hashes = new Map<string, string>();
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name.endsWith('.md')) continue;
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) {
        const name = path
          .relative(dir, file)
          .split(path.sep)
          .join('/')
          .replace(/\.hbs$/, '');
        hashes.set(name, createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
      }
    }
  };
  walk(dir);
  return hashes;
}
