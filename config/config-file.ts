import { readFileSync } from 'node:fs';
import { LineCounter, parse, parseDocument } from 'yaml';
import { locate } from '../language/locate';

/** Top-level sections of TOUCHPOINT_CONFIG; each is validated by the module that owns it. */
export const CONFIG_SECTIONS = [
  'channels',
  'rules',
  'webhooks',
  'notify',
  'identity',
  'profiles',
  'segments',
  'approvals',
] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/**
 * Reads the optional YAML config file once. An unknown top-level key is an error (a typo would
 * otherwise silently leave a whole section at its defaults).
 */
export function readConfigFile(file?: string): Partial<Record<ConfigSection, unknown>> {
  if (!file) return {};
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${file}: expected a mapping with ${CONFIG_SECTIONS.join(', ')}`);
  }
  for (const key of Object.keys(raw)) {
    if (!(CONFIG_SECTIONS as readonly string[]).includes(key)) {
      throw new Error(`${file}: unknown section \`${key}\` (expected ${CONFIG_SECTIONS.join(', ')})`);
    }
  }
  return raw as Partial<Record<ConfigSection, unknown>>;
}

/**
 * `file:line:column` of a path (as zod reports it, section first) in the config file, for error
 * messages; just `file` when the file cannot be read or parsed again.
 */
export function configLocation(file: string | undefined, path: readonly PropertyKey[]): string {
  if (!file) return '(config)';
  try {
    const lines = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lines });
    const at = locate(
      doc,
      lines,
      path.filter((p): p is string | number => typeof p !== 'symbol'),
    );
    return `${file}:${at.line}:${at.column}`;
  } catch {
    return file;
  }
}
