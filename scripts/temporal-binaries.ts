/*
 * Resolves (installing when needed) the Temporal binaries and prints where each came from.
 *
 *   node dist/scripts/temporal-binaries.js [--cli] [--test-server]
 *
 * With neither flag it does both. Exits 1, printing what to install, when one cannot be found.
 */
import pino from 'pino';
import { findTemporalCli, findTestServer, type ResolvedBinary } from '../runtime/temporal-binaries';

const finders: Record<string, (logger: pino.Logger) => Promise<ResolvedBinary>> = {
  '--cli': (logger) => findTemporalCli({ logger, allowSdkDownload: false }),
  '--test-server': (logger) => findTestServer({ logger, allowSdkDownload: false }),
};

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((arg) => !(arg in finders));
  if (unknown.length > 0) {
    console.error(
      `Unknown argument(s): ${unknown.join(' ')}\nUsage: temporal-binaries [--cli] [--test-server]`,
    );
    return 2;
  }
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const wanted = argv.length > 0 ? argv : Object.keys(finders);
  let status = 0;
  // One after another: both install into the same venv.
  for (const flag of wanted) {
    const name = flag.slice(2);
    try {
      const found = await finders[flag]!(logger);
      console.log(`${name}: ${found.path} (from ${found.source})`);
    } catch (err) {
      console.error(`${name}: ${(err as Error).message}`);
      status = 1;
    }
  }
  return status;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
