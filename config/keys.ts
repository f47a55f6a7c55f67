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
  if (writeKey && adminKey) return distinct({ writeKey, adminKey });

  const file = path.join(dataDir, KEYS_FILE);
  const stored = storedKeys(file);
  const keys = { writeKey: writeKey || stored.keys.writeKey, adminKey: adminKey || stored.keys.adminKey };
  if (stored.created) {
    const lines = [`Touchpoint generated API keys, saved to ${file} (printed only this once):`];
    if (!writeKey) lines.push(`  write key (ingestion): ${keys.writeKey}`);
    if (!adminKey) lines.push(`  admin key:             ${keys.adminKey}`);
    print(lines.join('\n'));
  }
  return distinct(keys);
}

function distinct(keys: ApiKeys): ApiKeys {
  if (keys.writeKey === keys.adminKey) {
    throw new Error(
      'The write key and the admin key must differ (TOUCHPOINT_WRITE_KEY, TOUCHPOINT_ADMIN_KEY)',
    );
  }
  return keys;
}

/** The keys in `file`, creating it with fresh keys when there is none. */
function storedKeys(file: string): { keys: ApiKeys; created: boolean } {
  const existing = readKeysFile(file);
  if (existing) return { keys: existing, created: false };

  const keys: ApiKeys = { writeKey: generateKey('write'), adminKey: generateKey('admin') };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    // 'wx': never overwrite; if another process created the file meanwhile, use its keys.
    fs.writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return storedKeys(file);
    throw err;
  }
  return { keys, created: true };
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
