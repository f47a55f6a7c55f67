import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The two API keys: the write key ingests events, the admin key does everything. */
export interface ApiKeys {
  writeKey: string;
  adminKey: string;
}

export interface LoadKeysOptions {
  /** keys.json lives here. */
  dataDir: string;
  /** From TOUCHPOINT_WRITE_KEY / TOUCHPOINT_ADMIN_KEY; they win over the file. */
  writeKey?: string;
  adminKey?: string;
  /** Where freshly generated keys are shown, once. Default: stdout. */
  print?: (text: string) => void;
}

export const KEYS_FILE = 'keys.json';

/** 32 random bytes, url-safe, with a prefix so a leaked key says what it is. */
export function generateKey(kind: 'write' | 'admin'): string {
  return `tp_${kind}_${randomBytes(32).toString('base64url')}`;
}

/**
 * The keys to run with. A key set in the environment is used as is; any other comes from
 * `<dataDir>/keys.json`, which is created (mode 0600) with fresh random keys on the first start
 * that needs it. Freshly generated keys are printed that one time only.
 */
export function loadOrCreateKeys(options: LoadKeysOptions): ApiKeys {
  const { dataDir, writeKey, adminKey, print = (text) => process.stdout.write(`${text}\n`) } = options;
  const keys = writeKey && adminKey ? { writeKey, adminKey } : fromFile(dataDir, options, print);
  if (keys.writeKey === keys.adminKey) {
    throw new Error(
      'The write key and the admin key must differ (TOUCHPOINT_WRITE_KEY, TOUCHPOINT_ADMIN_KEY)',
    );
  }
  return keys;
}

function fromFile(dataDir: string, env: LoadKeysOptions, print: (text: string) => void): ApiKeys {
  const file = path.join(dataDir, KEYS_FILE);
  const stored = readKeysFile(file);
  if (stored) return { writeKey: env.writeKey || stored.writeKey, adminKey: env.adminKey || stored.adminKey };

  const generated: ApiKeys = { writeKey: generateKey('write'), adminKey: generateKey('admin') };
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    // 'wx': never overwrite; if another process created the file meanwhile, use its keys.
    fs.writeFileSync(file, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fromFile(dataDir, env, print);
    throw err;
  }

  const keys = { writeKey: env.writeKey || generated.writeKey, adminKey: env.adminKey || generated.adminKey };
  const shown = [
    env.writeKey ? undefined : `  write key (ingestion): ${keys.writeKey}`,
    env.adminKey ? undefined : `  admin key:             ${keys.adminKey}`,
  ].filter((line) => line !== undefined);
  print([`Touchpoint generated API keys, saved to ${file} (printed only this once):`, ...shown].join('\n'));
  return keys;
}

function readKeysFile(file: string): ApiKeys | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; fix it or delete it to generate new keys`);
  }
  const { writeKey, adminKey } = (parsed ?? {}) as Partial<Record<keyof ApiKeys, unknown>>;
  if (typeof writeKey !== 'string' || !writeKey || typeof adminKey !== 'string' || !adminKey) {
    throw new Error(`${file} must hold {"writeKey": "...", "adminKey": "..."}; fix it or delete it`);
  }
  return { writeKey, adminKey };
}
