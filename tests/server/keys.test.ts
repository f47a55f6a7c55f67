import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KEYS_FILE, loadOrCreateKeys } from '../../config/keys';
import { BootstrapKeys } from '../../server/auth';

let dataDir: string;
let printed: string[];
let logged: string[];
const print = (text: string) => void printed.push(text);
const log = (text: string) => void logged.push(text);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

beforeEach(() => {
  // A data dir that does not exist yet, as on a fresh machine.
  dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'touchpoint-keys-')), 'data');
  printed = [];
  logged = [];
});
afterEach(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));

const keysFile = () => path.join(dataDir, KEYS_FILE);
const fileText = () => fs.readFileSync(keysFile(), 'utf8');
/** The keys the first start printed, read back from its message. */
const printedKeys = () => ({
  writeKey: /write key \(ingestion\): (\S+)/.exec(printed[0] ?? '')?.[1],
  adminKey: /admin key: +(\S+)/.exec(printed[0] ?? '')?.[1],
});

test('first start generates both keys, prints them once, and keys.json (0600) holds only their SHA-256', async () => {
  const digests = loadOrCreateKeys({ dataDir, print, log });

  expect(printed).toHaveLength(1);
  expect(printed[0]).toContain(keysFile());
  const { writeKey, adminKey } = printedKeys();
  expect(writeKey).toMatch(/^tp_write_[A-Za-z0-9_-]{43}$/);
  expect(adminKey).toMatch(/^tp_admin_[A-Za-z0-9_-]{43}$/);
  expect(digests).toEqual({ writeKeySha256: sha256(writeKey!), adminKeySha256: sha256(adminKey!) });
  expect(JSON.parse(fileText())).toEqual(digests);
  expect(fileText()).not.toContain(writeKey!);
  expect(fileText()).not.toContain(adminKey!);
  expect(fs.statSync(keysFile()).mode & 0o777).toBe(0o600);

  // The printed keys are the ones that authenticate.
  const bootstrap = new BootstrapKeys(digests);
  expect(await bootstrap.resolve(adminKey!)).toEqual({
    keyId: 'bootstrap-admin',
    name: 'admin',
    role: 'admin',
  });
  expect(await bootstrap.resolve(writeKey!)).toEqual({
    keyId: 'bootstrap-write',
    name: 'write-key',
    role: 'ingest',
  });
  expect(await bootstrap.resolve(sha256(adminKey!))).toBeUndefined();
});

test('later starts reuse the file and print nothing', () => {
  const first = loadOrCreateKeys({ dataDir, print, log });
  const second = loadOrCreateKeys({ dataDir, print, log });
  expect(second).toEqual(first);
  expect(printed).toHaveLength(1);
  expect(logged).toEqual([]);
});

test('every installation gets keys of its own', () => {
  const other = path.join(path.dirname(dataDir), 'other');
  const a = loadOrCreateKeys({ dataDir, print, log });
  const b = loadOrCreateKeys({ dataDir: other, print, log });
  expect(b.writeKeySha256).not.toBe(a.writeKeySha256);
  expect(b.adminKeySha256).not.toBe(a.adminKeySha256);
});

test('a plaintext keys.json from before is converted to hashes at start; the same keys go on working', async () => {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(keysFile(), JSON.stringify({ writeKey: 'old-write', adminKey: 'old-admin' }), {
    mode: 0o600,
  });
  const digests = loadOrCreateKeys({ dataDir, print, log });
  expect(digests).toEqual({ writeKeySha256: sha256('old-write'), adminKeySha256: sha256('old-admin') });
  expect(JSON.parse(fileText())).toEqual(digests);
  expect(fileText()).not.toContain('old-admin');
  expect(fs.statSync(keysFile()).mode & 0o777).toBe(0o600);
  expect(logged).toEqual([expect.stringMatching(/plain text; it now holds only their SHA-256/)]);
  expect(printed).toEqual([]);
  expect((await new BootstrapKeys(digests).resolve('old-admin'))?.role).toBe('admin');

  // The next start reads the hashes and logs nothing.
  logged = [];
  expect(loadOrCreateKeys({ dataDir, print, log })).toEqual(digests);
  expect(logged).toEqual([]);
});

test('environment keys win over the file', () => {
  const stored = loadOrCreateKeys({ dataDir, print, log });
  printed = [];
  expect(loadOrCreateKeys({ dataDir, print, log, writeKey: 'env-write' })).toEqual({
    writeKeySha256: sha256('env-write'),
    adminKeySha256: stored.adminKeySha256,
  });
  expect(loadOrCreateKeys({ dataDir, print, log, writeKey: 'env-write', adminKey: 'env-admin' })).toEqual({
    writeKeySha256: sha256('env-write'),
    adminKeySha256: sha256('env-admin'),
  });
  expect(printed).toEqual([]);
  expect(JSON.parse(fileText())).toEqual(stored);
});

test('with both keys in the environment no file is written', () => {
  const keys = loadOrCreateKeys({ dataDir, print, log, writeKey: 'env-write', adminKey: 'env-admin' });
  expect(keys).toEqual({ writeKeySha256: sha256('env-write'), adminKeySha256: sha256('env-admin') });
  expect(fs.existsSync(keysFile())).toBe(false);
  expect(printed).toEqual([]);
});

test('with one key in the environment only the generated key in use is printed', () => {
  const keys = loadOrCreateKeys({ dataDir, print, log, writeKey: 'env-write' });
  expect(keys.writeKeySha256).toBe(sha256('env-write'));
  expect(printed).toHaveLength(1);
  const { adminKey } = printedKeys();
  expect(keys.adminKeySha256).toBe(sha256(adminKey!));
  expect(printed[0]).not.toContain('write key');
  expect(printed[0]).not.toContain('env-write');
});

test('a damaged keys.json stops start-up with what to do, and is left alone', () => {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(keysFile(), '{"writeKey": "only-one"}');
  expect(() => loadOrCreateKeys({ dataDir, print, log })).toThrow(
    /keys\.json must hold .*fix it or delete it/,
  );
  fs.writeFileSync(keysFile(), '{"writeKeySha256": "abc", "adminKeySha256": "def"}');
  expect(() => loadOrCreateKeys({ dataDir, print, log })).toThrow(/keys\.json must hold .*64 hex/);
  fs.writeFileSync(keysFile(), 'not json');
  expect(() => loadOrCreateKeys({ dataDir, print, log })).toThrow(/keys\.json is not valid JSON/);
  expect(fileText()).toBe('not json');
});

test('the same key for writing and administering is refused', () => {
  expect(() => loadOrCreateKeys({ dataDir, print, log, writeKey: 'same', adminKey: 'same' })).toThrow(
    /must differ/,
  );
});
