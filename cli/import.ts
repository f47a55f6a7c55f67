import path from 'node:path';
import { Option, type Command } from 'commander';
import { runImport, MAX_BATCH_ROWS, type ImportResult } from '../bulk/import';
import { IMPORT_FORMATS, IMPORT_KINDS, type ImportFormat, type ImportKind } from '../bulk/message';
import { BarProgress, duration, LineProgress, type ImportProgress } from '../bulk/progress';
import { ImportError } from '../bulk/source';
import { noKeyMessage } from '../config/keys';
import { loadRulesConfig } from '../rules/config';
import { CliError, processIo, type CliIo } from './io';
import { resolvePath, settingsFor } from './journeys';

export interface ImportCommandOptions {
  kind: ImportKind;
  format?: ImportFormat;
  url?: string;
  writeKey?: string;
  key?: string;
  batch: string;
  concurrency: string;
  resume?: boolean;
  restart?: boolean;
  timezone?: string;
  config?: string;
}

/** `touchpoint import <file> --kind members|orders|events` (docs/import.md). */
export function registerImportCommand(program: Command, io: CliIo, state: { exitCode: number }): void {
  program
    .command('import')
    .description(
      'load members, orders or events from a CSV or JSONL file into a running server (/v1/batch): ' +
        'streaming, resumable, bad rows to <file>.rejects.jsonl',
    )
    .argument('<file>', 'CSV (with a header row) or JSONL file')
    .addOption(new Option('--kind <kind>', 'what the rows are').choices(IMPORT_KINDS).makeOptionMandatory())
    .addOption(new Option('--format <format>', 'default: from the extension').choices(IMPORT_FORMATS))
    .option('--url <url>', 'server URL (default: TOUCHPOINT_URL or http://localhost:$PORT, 3000)')
    .option('--write-key <key>', 'write key (default: TOUCHPOINT_WRITE_KEY)')
    .option('--key <key>', 'admin key, used when no write key is given (the API takes it for ingestion too)')
    .option('--batch <n>', `rows per batch, at most ${MAX_BATCH_ROWS}`, String(MAX_BATCH_ROWS))
    .option('--concurrency <n>', 'batches in flight at once', '2')
    .option(
      '--timezone <zone>',
      'zone of times without an offset (default: rules.timezone of the config, Asia/Shanghai)',
    )
    .option('--config <file>', 'config file for rules.timezone (default: TOUCHPOINT_CONFIG)')
    .addOption(
      new Option('--resume', 'go on from where an earlier run of this import stopped').conflicts('restart'),
    )
    .addOption(new Option('--restart', 'start over, forgetting where an earlier run stopped'))
    .action(async (file: string, opts: ImportCommandOptions) => {
      const interactive = io === processIo;
      const controller = new AbortController();
      // Ctrl-C: stop reading and abandon the batches in flight (the checkpoint has every batch done);
      // the summary says how to resume. A second Ctrl-C quits at once.
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(130);
        controller.abort();
      };
      if (interactive) process.on('SIGINT', onSigint);
      try {
        const result = await importCommand(io, file, opts, {
          signal: controller.signal,
          progress: interactive && process.stderr.isTTY ? new BarProgress(process.stderr) : undefined,
        });
        if (result.interrupted) state.exitCode = 130;
      } finally {
        if (interactive) process.off('SIGINT', onSigint);
      }
    });
}

/** The command's work, callable in-process (tests): resolves the options, imports, prints the summary. */
export async function importCommand(
  io: CliIo,
  file: string,
  opts: ImportCommandOptions,
  extra: { signal?: AbortSignal; progress?: ImportProgress } = {},
): Promise<ImportResult> {
  const settings = settingsFor(io);
  const url = (opts.url ?? io.env.TOUCHPOINT_URL ?? `http://localhost:${settings.port}`).replace(/\/+$/, '');
  const writeKey = opts.writeKey || opts.key || io.env.TOUCHPOINT_WRITE_KEY;
  if (!writeKey)
    throw new CliError(noKeyMessage('write', '--write-key', 'TOUCHPOINT_WRITE_KEY', settings.dataDir));
  const whole = (name: string, value: string, max = Infinity) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new CliError(`--${name}: expected a whole number from 1 to ${max}`);
    return n;
  };
  const batchSize = whole('batch', opts.batch, MAX_BATCH_ROWS);
  const concurrency = whole('concurrency', opts.concurrency, 32);
  const timeZone = opts.timezone ?? timeZoneFromConfig(io, opts.config ?? settings.configFile);
  const input = resolvePath(io, file);
  const progress = extra.progress ?? new LineProgress(io.err);
  let result: ImportResult;
  try {
    result = await runImport({
      file: input,
      kind: opts.kind,
      format: opts.format,
      url,
      writeKey,
      batchSize,
      concurrency,
      mode: opts.resume ? 'resume' : opts.restart ? 'restart' : 'fresh',
      timeZone,
      progress,
      signal: extra.signal,
    });
  } catch (err) {
    if (err instanceof ImportError) throw new CliError(`touchpoint import: ${err.message}`);
    throw err;
  }
  const resumed = result.resumedFrom ? ` (resumed after line ${result.resumedFrom.line})` : '';
  if (result.interrupted) {
    io.err(
      `interrupted after line ${result.line}: ${result.accepted} accepted, ${result.rejected} rejected so far. ` +
        `Run the same command with --resume to go on (${path.basename(result.checkpointFile!)}).\n`,
    );
  } else {
    io.out(
      `imported ${file}${resumed}: ${result.rows} rows, ${result.accepted} accepted, ${result.rejected} rejected ` +
        `in ${duration(result.durationMs / 1000)} (${result.rowsPerSec} rows/s)\n`,
    );
  }
  if (result.rejectsFile) io.out(`rejected rows, with their line and reason: ${result.rejectsFile}\n`);
  return result;
}

function timeZoneFromConfig(io: CliIo, configFile: string | undefined): string | undefined {
  if (!configFile) return undefined;
  try {
    return loadRulesConfig(resolvePath(io, configFile)).timezone;
  } catch (err) {
    throw new CliError(`cannot read rules.timezone from ${configFile}: ${(err as Error).message}`);
  }
}
