import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KEYS_FILE, loadOrCreateKeys } from '../../config/keys';

let dataDir: string;
let printed: string[];
const print = (text: string) => void printed.push(text);

beforeEach(() => {
  // A data dir that does not exist yet, as on a fresh machine.
  dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'touchpoint-keys-')), 'data');
  printed = [];
});
afterEach(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));

const keysFile = () => path.join(dataDir, KEYS_FILE);

test('first start generates both keys into keys.json (mode 0600) and prints them once', () => {
  const keys = loadOrCreateKeys({ dataDir, print });

  expect(keys.writeKey).toMatch(/^tp_write_[A-Za-z0-9_-]{43}$/);
  expect(keys.adminKey).toMatch(/^tp_admin_[A-Za-z0-9_-]{43}$/);
  expect(JSON.parse(fs.readFileSync(keysFile(), 'utf8'))).toEqual(keys);
  expect(fs.statSync(keysFile()).mode & 0o777).toBe(0o600);
  expect(printed).toHaveLength(1);
  expect(printed[0]).toContain(keys.writeKey);
  expect(printed[0]).toContain(keys.adminKey);
  expect(printed[0]).toContain(keysFile());
});

test('later starts reuse the file and print nothing', () => {
  const first = loadOrCreateKeys({ dataDir, print });
  const second = loadOrCreateKeys({ dataDir, print });
  expect(second).toEqual(first);
  expect(printed).toHaveLength(1);
});

test('every installation gets keys of its own', () => {
  const other = path.join(path.dirname(dataDir), 'other');
  const a = loadOrCreateKeys({ dataDir, print });
  const b = loadOrCreateKeys({ dataDir: other, print });
  expect(b.writeKey).not.toBe(a.writeKey);
  expect(b.adminKey).not.toBe(a.adminKey);
});

test('environment keys win over the file', () => {
  const stored = loadOrCreateKeys({ dataDir, print });
  printed = [];
  expect(loadOrCreateKeys({ dataDir, print, writeKey: 'env-write' })).toEqual({
    writeKey: 'env-write',
    adminKey: stored.adminKey,
  });
  expect(loadOrCreateKeys({ dataDir, print, writeKey: 'env-write', adminKey: 'env-admin' })).toEqual({
    writeKey: 'env-write',
    adminKey: 'env-admin',
  });
  expect(printed).toEqual([]);
  expect(JSON.parse(fs.readFileSync(keysFile(), 'utf8'))).toEqual(stored);
});

test('with both keys in the environment no file is written', () => {
  const keys = loadOrCreateKeys({ dataDir, print, writeKey: 'env-write', adminKey: 'env-admin' });
  expect(keys).toEqual({ writeKey: 'env-write', adminKey: 'env-admin' });
  expect(fs.existsSync(keysFile())).toBe(false);
  expect(printed).toEqual([]);
});

test('with one key in the environment only the generated key in use is printed', () => {
  const keys = loadOrCreateKeys({ dataDir, print, writeKey: 'env-write' });
  expect(keys.writeKey).toBe('env-write');
  expect(printed).toHaveLength(1);
  expect(printed[0]).toContain(keys.adminKey);
  expect(printed[0]).not.toContain('write key');
  expect(printed[0]).not.toContain('env-write');
});

test('a damaged keys.json stops start-up with what to do, and is left alone', () => {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(keysFile(), '{"writeKey": "only-one"}');
  expect(() => loadOrCreateKeys({ dataDir, print })).toThrow(/keys\.json must hold .*fix it or delete it/);
  fs.writeFileSync(keysFile(), 'not json');
  expect(() => loadOrCreateKeys({ dataDir, print })).toThrow(/keys\.json is not valid JSON/);
  expect(fs.readFileSync(keysFile(), 'utf8')).toBe('not json');
});

test('the same key for writing and administering is refused', () => {
  expect(() => loadOrCreateKeys({ dataDir, print, writeKey: 'same', adminKey: 'same' })).toThrow(
    /must differ/,
  );
});
