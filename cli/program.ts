import fs from 'node:fs';
import type { VersionResults } from '../registry/results';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { toMermaid } from '../language/graph';
import { projectRoot } from '../config/settings';
import { AdminClient, type ServerOptions } from './client';
import { CliError, processIo, table, type CliIo } from './io';
import {
  checkJourneyFile,
  formatIssueLines,
  loadOptionsFor,
  readJourney,
  resolvePath,
  type ProjectOptions,
} from './journeys';
import { registerAuditCommands } from './audit';
import { registerImportCommand } from './import';
import { pendingApprovalText, registerApprovalsCommands } from './approvals';
import { registerKeysCommands } from './keys';
import { registerProfilesCommands } from './profiles';
import { simulateCommand } from './simulate';

function version(): string {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

/** What a run of the program reports besides its output: validate with errors exits 1. */
interface RunState {
  exitCode: number;
}

/**
 * The `touchpoint` command line (docs/cli.md): journeys checked, drawn and simulated locally;
 * published, paused, resumed, stopped, listed and inspected on a running server's admin API.
 */
export function createProgram(io: CliIo = processIo, state: RunState = { exitCode: 0 }): Command {
  const program = new Command('touchpoint')
    .description('Touchpoint journeys: validate, graph, simulate, and manage them on a running server')
    .version(version())
    .showHelpAfterError('(run `touchpoint help <command>` for its options)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  const withProject = (cmd: Command) =>
    cmd
      .option('--templates <dir>', 'templates directory (default: TOUCHPOINT_TEMPLATES_DIR or ./templates)')
      .option('--config <file>', 'config file with webhooks, notify and rules (default: TOUCHPOINT_CONFIG)');
  const withServer = (cmd: Command) =>
    cmd
      .option('--url <url>', 'server URL (default: TOUCHPOINT_URL or http://localhost:$PORT, 3000)')
      .option('--key <key>', 'API key (default: TOUCHPOINT_ADMIN_KEY)')
      .option('--actor <name>', 'who acts, recorded in the journey history (default: $USER)');

  withProject(
    program
      .command('validate')
      .description('check journey files: every error and warning with file:line:column, step and hint')
      .argument('<file...>', 'journey files (YAML or JSON)')
      .option('--json', 'print the result as JSON'),
  ).action((files: string[], opts: ProjectOptions & { json?: boolean }) => {
    if (!validate(io, files, opts)) state.exitCode = 1;
  });

  withProject(
    program
      .command('graph')
      .description('print the journey as a Mermaid flowchart')
      .argument('<file>', 'journey file')
      .option('-o, --output <file>', 'write to this file instead of stdout')
      .option('--markdown', 'wrap it in a ```mermaid block (for Markdown files, GitHub, GitLab)'),
  ).action((file: string, opts: ProjectOptions & { output?: string; markdown?: boolean }) => {
    const journey = readJourney(io, file, loadOptionsFor(io, opts));
    const chart = toMermaid(journey);
    write(io, opts.output, opts.markdown ? `\`\`\`mermaid\n${chart}\`\`\`\n` : chart);
  });

  withProject(
    program
      .command('simulate')
      .option('--url <url>', 'server to fetch a journey id from when it is not a local file')
      .option('--key <key>', 'API key for --url (default: TOUCHPOINT_ADMIN_KEY)')
      .description(
        'run the journey on the time-skipping test server against a scenario; prints the timeline as JSON',
      )
      .argument('<journey>', 'journey file, or the id of a journey in the journeys directory')
      .requiredOption('-s, --scenario <file>', 'scenario file (JSON; YAML works too)')
      .option('-o, --output <file>', 'write the JSON to this file instead of stdout')
      .option('--compact', 'one line of JSON instead of indented'),
  ).action(
    async (
      journey: string,
      opts: ProjectOptions & { scenario: string; output?: string; compact?: boolean },
    ) => {
      const result = await simulateCommand(io, journey, opts);
      write(io, opts.output, `${JSON.stringify(result, null, opts.compact ? undefined : 2)}\n`);
    },
  );

  withServer(
    program
      .command('publish')
      .description('publish a journey file as its next version on the server')
      .argument('<file>', 'journey file')
      .option('--note <text>', 'what changed, kept in the version history'),
  ).action(async (file: string, opts: ServerOptions & { note?: string }) => {
    const { source, format, id } = readSource(io, file);
    const client = new AdminClient(io, opts);
    const answer = await client
      .post<PublishAnswer>(`/v1/journeys/${encodeURIComponent(id)}/publish`, {
        source,
        format,
        ...(opts.note ? { note: opts.note } : {}),
      })
      .catch((err: unknown) => {
        throw withFile(err, file);
      });
    if (answer.approval) {
      io.out(pendingApprovalText(answer.approval));
    } else {
      const same = answer.created === false ? ' (unchanged: the same source as the latest version)' : '';
      io.out(`published ${answer.id} version ${answer.version}, status ${answer.status}${same}\n`);
    }
    for (const warning of answer.warnings ?? []) io.out(formatIssueLines({ ...warning, file }, 'warning'));
  });

  for (const action of ['pause', 'resume'] as const) {
    withServer(
      program
        .command(action)
        .description(
          action === 'pause'
            ? 'stop new entries into a journey; customers in it go on'
            : 'take new entries into a paused journey again',
        )
        .argument('<id>', 'journey id')
        .option('--reason <text>', 'why, kept in the journey history'),
    ).action(async (id: string, opts: ServerOptions & { reason?: string }) => {
      const answer = await new AdminClient(io, opts).post<StatusAnswer>(
        `/v1/journeys/${encodeURIComponent(id)}/${action}`,
        opts.reason ? { reason: opts.reason } : {},
      );
      io.out(`${answer.id ?? id}: ${answer.status}${answer.version ? ` (version ${answer.version})` : ''}\n`);
    });
  }

  withServer(
    program
      .command('stop')
      .description('stop a journey: no new entries, and every customer in it leaves now')
      .argument('<id>', 'journey id')
      .requiredOption('--reason <text>', 'why (required), kept with every stopped run and in the history'),
  ).action(async (id: string, opts: ServerOptions & { reason: string }) => {
    const answer = await new AdminClient(io, opts).post<StatusAnswer & { stopped?: number }>(
      `/v1/journeys/${encodeURIComponent(id)}/stop`,
      { reason: opts.reason },
    );
    const n = answer.stopped ?? 0;
    io.out(
      `${answer.id ?? id}: ${answer.status}; ${n} running ${n === 1 ? 'customer' : 'customers'} stopped\n`,
    );
  });

  withServer(
    program
      .command('list')
      .description('the journeys on the server, with status and version')
      .option('--json', 'print the server’s answer as JSON'),
  ).action(async (opts: ServerOptions & { json?: boolean }) => {
    const answer = await new AdminClient(io, opts).get<{ journeys: Listed[] }>('/v1/journeys');
    if (opts.json) return void io.out(`${JSON.stringify(answer, null, 2)}\n`);
    const rows = answer.journeys.map((j) => [
      j.id,
      j.status ?? '',
      j.version === null || j.version === undefined ? '-' : `v${j.version}`,
      entrySummary(j.entry),
      Array.isArray(j.steps) ? String(j.steps.length) : String(j.steps ?? ''),
      `${j.name ?? ''}${j.hasDraft ? ' (draft)' : ''}`,
    ]);
    io.out(table([['ID', 'STATUS', 'VERSION', 'ENTRY', 'STEPS', 'NAME'], ...rows]));
    if (rows.length === 0) io.out('(no journeys)\n');
  });

  withServer(
    program
      .command('status')
      .description('a journey’s status and its counters per version (entered, converted, sends, refusals…)')
      .argument('<id>', 'journey id')
      .option('--json', 'print the server’s answer as JSON'),
  ).action(async (id: string, opts: ServerOptions & { json?: boolean }) => {
    const answer = await new AdminClient(io, opts).get<StatusReport>(
      `/v1/journeys/${encodeURIComponent(id)}/status`,
    );
    if (opts.json) return void io.out(`${JSON.stringify(answer, null, 2)}\n`);
    io.out(`${answer.id}: ${answer.status}, latest version ${answer.version ?? '-'}\n`);
    for (const [version, counters] of Object.entries(answer.versions ?? {})) {
      const entries = Object.entries(counters).sort(([a], [b]) => a.localeCompare(b));
      io.out(`  version ${version}${entries.length === 0 ? ': no activity' : ''}\n`);
      for (const [name, value] of entries) io.out(`    ${name.padEnd(32)} ${value}\n`);
      const results = answer.results?.[version];
      if (results && entries.length > 0) io.out(describeResults(results));
    }
  });

  registerProfilesCommands(program, io);
  registerImportCommand(program, io, state);
  registerAuditCommands(program, io, state);
  registerKeysCommands(program, io);
  registerApprovalsCommands(program, io);

  return program;
}

/** Conversion rate, holdback lift and split arms, as lines under a version's counters. */
function describeResults(results: VersionResults): string {
  const pct = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(1)} %`);
  const lines = [`    conversion rate                  ${pct(results.conversion.rate)}`];
  if (results.holdback) {
    const { control, treatment, lift } = results.holdback;
    lines.push(
      `    treatment / control              ${pct(treatment.rate)} of ${treatment.entered} / ${pct(control.rate)} of ${control.entered}`,
      `    lift over control                ${lift === null ? '-' : `${lift >= 0 ? '+' : ''}${(lift * 100).toFixed(1)} %`}`,
    );
  }
  for (const [stepId, arms] of Object.entries(results.splits)) {
    const parts = Object.entries(arms).map(([arm, n]) => `${arm} ${n}`);
    lines.push(`    split ${stepId.padEnd(26)} ${parts.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const state: RunState = { exitCode: 0 };
  const program = createProgram(io, state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.err(`${err.message.replace(/\n?$/, '\n')}`);
      return err.exitCode;
    }
    const e = err as Error;
    io.err(`touchpoint: ${e.message ?? String(err)}\n`);
    if (io.env.TOUCHPOINT_DEBUG) io.err(`${e.stack ?? ''}\n`);
    return 1;
  }
}

/** Prints what validate found; true when no file has errors. */
function validate(io: CliIo, files: string[], opts: ProjectOptions & { json?: boolean }): boolean {
  const options = loadOptionsFor(io, opts);
  const results = files.map((file) => checkJourneyFile(io, file, options));
  const errors = results.reduce((n, r) => n + r.issues.length, 0);
  const warnings = results.reduce((n, r) => n + r.warnings.length, 0);
  if (opts.json) {
    const files = results.map((r) => ({
      file: r.file,
      valid: r.issues.length === 0,
      ...(r.journey ? { id: r.journey.id, version: r.journey.version, steps: r.journey.steps.length } : {}),
      issues: r.issues,
      warnings: r.warnings,
    }));
    io.out(`${JSON.stringify({ valid: errors === 0, errors, warnings, files }, null, 2)}\n`);
    return errors === 0;
  }
  for (const result of results) {
    const all = [
      ...result.issues.map((i) => ({ i, severity: 'error' as const })),
      ...result.warnings.map((i) => ({ i, severity: 'warning' as const })),
    ].sort((a, b) => a.i.line - b.i.line || a.i.column - b.i.column);
    for (const { i, severity } of all) io.out(formatIssueLines(i, severity));
    if (result.journey) {
      const note = result.warnings.length ? ` with ${plural(result.warnings.length, 'warning')}` : '';
      io.out(
        `${result.file}: ok (${result.journey.id}, ${plural(result.journey.steps.length, 'step')})${note}\n`,
      );
    }
  }
  const summary = `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(files.length, 'file')}\n`;
  io.out(summary);
  return errors === 0;
}

/** The source to publish, its format, and the journey id it declares (else the file's base name). */
function readSource(io: CliIo, file: string): { source: string; format: 'yaml' | 'json'; id: string } {
  let source: string;
  try {
    source = fs.readFileSync(resolvePath(io, file), 'utf8');
  } catch (err) {
    throw new CliError(
      `${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const format = /\.json$/i.test(file) ? 'json' : 'yaml';
  let declared: unknown;
  try {
    const data: unknown = format === 'json' ? JSON.parse(source) : parseYaml(source, { maxAliasCount: 50 });
    declared = typeof data === 'object' && data !== null ? (data as { id?: unknown }).id : undefined;
  } catch {
    // the server reports the syntax error with its position
  }
  const id =
    typeof declared === 'string' && declared ? declared : path.basename(file).replace(/\.(ya?ml|json)$/i, '');
  return { source, format, id };
}

/** A 400 about the source: its issues are positions in our file. */
function withFile(err: unknown, file: string): unknown {
  if (!(err instanceof CliError)) return err;
  const body = (err as { body?: { issues?: { line?: number }[] } }).body;
  if (!body?.issues?.some((i) => i.line !== undefined)) return err;
  return new CliError(err.message.replace(/^ {2}source:/gm, `  ${file}:`));
}

function write(io: CliIo, output: string | undefined, text: string): void {
  if (!output) return void io.out(text);
  fs.writeFileSync(resolvePath(io, output), text);
  io.err(`wrote ${output}\n`);
}

/** A version published, or (four-eyes) only `approval`, the request a second person approves. */
interface PublishAnswer {
  approval?: Parameters<typeof pendingApprovalText>[0];
  id: string;
  version: number;
  status: string;
  created?: boolean;
  warnings?: {
    line: number;
    column: number;
    path: string;
    message: string;
    stepId?: string;
    hint?: string;
  }[];
}

interface StatusAnswer {
  id?: string;
  status: string;
  version?: number | null;
}

interface Listed {
  id: string;
  name?: string;
  status?: string;
  version?: number | null;
  entry?: unknown;
  steps?: unknown;
  hasDraft?: boolean;
}

interface StatusReport {
  id: string;
  status: string;
  version: number | null;
  versions?: Record<string, Record<string, number>>;
  results?: Record<string, VersionResults>;
}

function entrySummary(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return '';
  const e = entry as Record<string, unknown>;
  if (typeof e.event === 'string') return `event ${e.event}`;
  if (typeof e.traitChanged === 'string') return `trait ${e.traitChanged}`;
  if (typeof e.schedule === 'object' && e.schedule !== null)
    return `schedule ${(e.schedule as { cron?: string }).cron ?? ''}`;
  if (e.api) return 'api';
  return '';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
