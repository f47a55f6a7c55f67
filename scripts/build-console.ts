/*
 * Builds the web console (console/, Vite) into dist/console: the second half of `npm run build`.
 * Skipped when its sources did not change since the last build (scripts/lib/console-build.ts), so
 * `npm start` and `npm run touchpoint` stay quick.
 *
 *   node dist/scripts/build-console.js [--force]
 */
import { buildConsole } from './lib/console-build';

try {
  const result = buildConsole({ force: process.argv.includes('--force') });
  console.log(
    result.built
      ? `console: built into dist/console in ${result.seconds.toFixed(1)} s`
      : 'console: dist/console is up to date',
  );
} catch (err) {
  console.error(`console: ${(err as Error).message}`);
  process.exitCode = 1;
}
