import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../config/settings';

/*
 * The web console's build (console/, Vite → dist/console), skipped when nothing it is built from
 * changed since the last one: console/ sources and package-lock.json, by content hash (mtimes
 * do not survive a checkout). Used by `npm run build` and by the console's browser tests.
 */

const SOURCES = path.join(projectRoot, 'console');
export const CONSOLE_OUT = path.join(projectRoot, 'dist', 'console');
const STAMP = path.join(CONSOLE_OUT, '.sources-hash');

/** One hash over every file of console/ (path and content) and the installed package versions. */
export function consoleSourcesHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile())
        hash.update(path.relative(projectRoot, file)).update('\0').update(readFileSync(file));
    }
  };
  walk(SOURCES);
  const lock = path.join(projectRoot, 'package-lock.json');
  if (existsSync(lock)) hash.update(readFileSync(lock));
  return hash.digest('hex');
}

export type ConsoleBuild = { built: false } | { built: true; seconds: number };

/** Builds dist/console unless it is up to date (or `force`); throws when Vite fails. */
export function buildConsole({ force = false }: { force?: boolean } = {}): ConsoleBuild {
  const wanted = consoleSourcesHash();
  const current =
    existsSync(path.join(CONSOLE_OUT, 'index.html')) && existsSync(STAMP)
      ? readFileSync(STAMP, 'utf8').trim()
      : '';
  if (!force && current === wanted) return { built: false };
  const started = Date.now();
  const vite = path.join(projectRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const result = spawnSync(
    process.execPath,
    [vite, 'build', '--config', path.join(SOURCES, 'vite.config.mts'), '--logLevel', 'warn'],
    { cwd: projectRoot, stdio: 'inherit' },
  );
  if (result.status !== 0)
    throw new Error(`vite build of the console failed (exit ${result.status ?? result.signal})`);
  writeFileSync(STAMP, `${wanted}\n`);
  return { built: true, seconds: (Date.now() - started) / 1000 };
}
