import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The two bootstrap API keys: the write key ingests events, the admin key does everything. */
export interface ApiKeys {
  writeKey: string;
  adminKey: string;
}

/** The bootstrap keys as the server keeps them: their SHA-256 (hex), never the keys themselves. */
export interface KeyDigests {
  writeKeySha256: string;
  adminKeySha256: string;
}

/** Either form authenticates the same requests (tests and env give keys, keys.json gives digests). */
export type BootstrapKeySet = ApiKeys | KeyDigests;

export interface LoadKeysOptions {
  /** keys.json lives here. */
  dataDir: string;
  /** From TOUCHPOINT_WRITE_KEY / TOUCHPOINT_ADMIN_KEY; they win over the file. */
  writeKey?: string;
  adminKey?: string;
  /** Where freshly generated keys are shown, once. Default: stdout. */
  print?: (text: string) => void;
  /** Where the conversion of an old plaintext keys.json is reported. Default: stderr. */
  log?: (text: string) => void;
}

export const KEYS_FILE = 'keys.json';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
const HEX64 = /^[0-9a-f]{64}$/;

/** 32 random bytes, url-safe, with a prefix so a leaked key says what it is. */
export function generateKey(kind: 'write' | 'admin'): string {
  return `tp_${kind}_${randomBytes(32).toString('base64url')}`;
}

export function keyDigests(keys: BootstrapKeySet): KeyDigests {
  if ('writeKeySha256' in keys) return keys;
  return { writeKeySha256: sha256(keys.writeKey), adminKeySha256: sha256(keys.adminKey) };
}

/**
 * The bootstrap keys to run with, as digests. A key set in the environment is used as is; any
 * other comes from `<dataDir>/keys.json`, which holds only the SHA-256 of each key. On the first
 * start that needs it the file is created (mode 0600) for fresh random keys, which are printed
 * that one time only: afterwards nobody can read them back, not even the CLI on this machine.
 * A keys.json from before (the keys in plain text) still works and is rewritten as digests.
 */
export function loadOrCreateKeys(options: LoadKeysOptions): KeyDigests {
  const {
    dataDir,
    writeKey,
    adminKey,
    print = (text) => process.stdout.write(`${text}\n`),
    log = (text) => process.stderr.write(`${text}\n`),
  } = options;
  if (writeKey && adminKey) return distinct(keyDigests({ writeKey, adminKey }));

  const file = path.join(dataDir, KEYS_FILE);
  const stored = storedKeys(file, log);
  const digests: KeyDigests = {
    writeKeySha256: writeKey ? sha256(writeKey) : stored.digests.writeKeySha256,
    adminKeySha256: adminKey ? sha256(adminKey) : stored.digests.adminKeySha256,
  };
  if (stored.created) {
    const lines = [
      `Touchpoint generated API keys; ${file} keeps only their SHA-256, so copy them now (printed only this once):`,
    ];
    if (!writeKey) lines.push(`  write key (ingestion): ${stored.created.writeKey}`);
    if (!adminKey) lines.push(`  admin key:             ${stored.created.adminKey}`);
    print(lines.join('\n'));
  }
  return distinct(digests);
}

function distinct(keys: KeyDigests): KeyDigests {
  if (keys.writeKeySha256 === keys.adminKeySha256) {
    throw new Error(
      'The write key and the admin key must differ (TOUCHPOINT_WRITE_KEY, TOUCHPOINT_ADMIN_KEY)',
    );
  }
  return keys;
}

/** The digests in `file`, creating it for fresh keys when there is none. */
function storedKeys(file: string, log: (text: string) => void): { digests: KeyDigests; created?: ApiKeys } {
  const existing = readKeysFile(file);
  if (existing && 'writeKeySha256' in existing) return { digests: existing };
  if (existing) {
    // A plaintext file from an earlier release: same keys from now on, stored as digests.
    const digests = keyDigests(existing);
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, fileText(digests), { mode: 0o600 });
    fs.renameSync(temp, file);
    log(`${file} held the API keys in plain text; it now holds only their SHA-256 (the keys are unchanged)`);
    return { digests };
  }

  const keys: ApiKeys = { writeKey: generateKey('write'), adminKey: generateKey('admin') };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    // 'wx': never overwrite; if another process created the file meanwhile, use its keys.
    fs.writeFileSync(file, fileText(keyDigests(keys)), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return storedKeys(file, log);
    throw err;
  }
  return { digests: keyDigests(keys), created: keys };
}

function fileText(digests: KeyDigests): string {
  return `${JSON.stringify(digests, null, 2)}\n`;
}

function readKeysFile(file: string): BootstrapKeySet | undefined {
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
  const data = (parsed ?? {}) as Record<string, unknown>;
  const { writeKeySha256, adminKeySha256, writeKey, adminKey } = data;
  if (typeof writeKeySha256 === 'string' && HEX64.test(writeKeySha256)) {
    if (typeof adminKeySha256 === 'string' && HEX64.test(adminKeySha256))
      return { writeKeySha256, adminKeySha256 };
  } else if (typeof writeKey === 'string' && writeKey && typeof adminKey === 'string' && adminKey) {
    return { writeKey, adminKey };
  }
  throw new Error(
    `${file} must hold {"writeKeySha256": "<64 hex>", "adminKeySha256": "<64 hex>"}; fix it or delete it to generate new keys`,
  );
}

/**
 * What the CLI says when it has no key: keys.json holds only digests, so the key must come from
 * the command line or the environment.
 */
export function noKeyMessage(
  kind: 'admin' | 'write',
  flag: string,
  envName: string,
  dataDir: string,
): string {
  return (
    `no ${kind} key: pass ${flag} or set ${envName} (${path.join(dataDir, KEYS_FILE)} keeps only the ` +
    `SHA-256 of the keys, so they cannot be read from it; the server printed them on its first start)`
  );
}
