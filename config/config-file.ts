import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** Top-level sections of TOUCHPOINT_CONFIG; each is validated by the module that owns it. */
export const CONFIG_SECTIONS = ['channels', 'rules'] as const;
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
