import fs from 'node:fs';
import path from 'node:path';
import { integrationTargets, loadIntegrationsConfig } from '../config/integrations';
import { loadSettings } from '../config/settings';
import type { ConfigIssue } from '../language/errors';
import { checkJourney, JOURNEY_FILE, type LoadOptions } from '../language/load';
import type { Journey } from '../language/types';
import { loadTemplates, type TemplateStore } from '../messages/templates';
import { CliError, type CliIo } from './io';

/** The options every command that reads journeys shares. */
export interface ProjectOptions {
  /** Templates directory (default: TOUCHPOINT_TEMPLATES_DIR, else `templates/` of the project). */
  templates?: string;
  /** Config file with `webhooks:` / `notify:` targets and `rules:` (default: TOUCHPOINT_CONFIG). */
  config?: string;
}

export interface JourneyCheck {
  file: string;
  journey?: Journey;
  issues: ConfigIssue[];
  warnings: ConfigIssue[];
}

/** Settings as the server would read them, from the CLI's environment. */
export function settingsFor(io: CliIo) {
  return loadSettings(io.env);
}

export function resolvePath(io: CliIo, file: string): string {
  return path.resolve(io.cwd, file);
}

/** What the loader checks against: the templates, and the config's webhook / notify targets when there is a config file. */
export function loadOptionsFor(
  io: CliIo,
  opts: ProjectOptions,
): LoadOptions & { templates: TemplateStore; configFile?: string } {
  const settings = settingsFor(io);
  const templatesDir = opts.templates ? resolvePath(io, opts.templates) : settings.templatesDir;
  const configFile = opts.config ? resolvePath(io, opts.config) : settings.configFile;
  let templates: TemplateStore;
  try {
    templates = loadTemplates(templatesDir);
  } catch (err) {
    throw new CliError(`cannot load the templates in ${templatesDir}: ${(err as Error).message}`);
  }
  let targets = {};
  if (configFile) {
    try {
      targets = integrationTargets(loadIntegrationsConfig(configFile));
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  return { templates, ...targets, ...(configFile ? { configFile } : {}) };
}

/** Checks one journey file: every error and warning, located; the journey when it is valid. */
export function checkJourneyFile(io: CliIo, file: string, options: LoadOptions): JourneyCheck {
  let text: string;
  try {
    text = fs.readFileSync(resolvePath(io, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    return {
      file,
      issues: [{ file, line: 1, column: 1, path: '', message: `cannot read the file: ${why}` }],
      warnings: [],
    };
  }
  const result = checkJourney(text, file, { ...options, checkFileName: true });
  const warnings = (result as { warnings?: ConfigIssue[] }).warnings ?? [];
  return { file, ...(result.journey ? { journey: result.journey } : {}), issues: result.issues, warnings };
}

/** `file:line:col: error: [step x] path: message` and an indented hint line: the format editors read. */
export function formatIssueLines(issue: ConfigIssue, severity: 'error' | 'warning'): string {
  const step = issue.stepId !== undefined ? `[step ${issue.stepId}] ` : '';
  const where = issue.path ? `${issue.path}: ` : '';
  const head = `${issue.file}:${issue.line}:${issue.column}: ${severity}: ${step}${where}${issue.message}`;
  return issue.hint ? `${head}\n    hint: ${issue.hint}\n` : `${head}\n`;
}

/** A valid journey from a file, or a CliError listing its problems. */
export function readJourney(io: CliIo, file: string, options: LoadOptions): Journey {
  const checked = checkJourneyFile(io, file, options);
  if (!checked.journey) {
    const lines = checked.issues.map((i) => formatIssueLines(i, 'error')).join('');
    const count = checked.issues.length === 1 ? '1 error' : `${checked.issues.length} errors`;
    throw new CliError(`${lines}${file}: ${count}; run \`touchpoint validate ${file}\` for the details`);
  }
  return checked.journey;
}

/**
 * A journey named on the command line: a file path, else an id looked up as
 * `<journeys dir>/<id>.yaml|.yml|.json` (TOUCHPOINT_JOURNEYS_DIR, else `journeys/`).
 */
export function findJourneyFile(io: CliIo, nameOrFile: string): string | undefined {
  const direct = resolvePath(io, nameOrFile);
  if (fs.existsSync(direct) && fs.statSync(direct).isFile()) return nameOrFile;
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(nameOrFile)) return undefined;
  const dir = settingsFor(io).journeysDir;
  for (const ext of ['.yaml', '.yml', '.json']) {
    const candidate = path.join(dir, `${nameOrFile}${ext}`);
    if (JOURNEY_FILE.test(candidate) && fs.existsSync(candidate))
      return path.relative(io.cwd, candidate) || candidate;
  }
  return undefined;
}
