import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { RedisAuditLog } from '../../audit-log/redis-audit-log';
import {
  auditSeededJourneys,
  auditTemplateChanges,
  SYSTEM_ACTOR,
  templateHashes,
} from '../../audit-log/startup-changes';
import { RedisKeys } from '../../customers/keys';
import { readJourneyFiles, seedJourneys } from '../../registry/seed';
import { JourneyStore } from '../../registry/store';
import { fixtureTemplates } from '../simulation/support';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

/** What start-up writes to the audit log: journey files seeded, template files changed. */
let redis: Redis;
let prefix: string;
let log: RedisAuditLog;
let dir: string;

beforeAll(() => {
  redis = testRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('audit-start');
  log = new RedisAuditLog(redis, prefix);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-audit-templates-'));
  write('sms/welcome.zh-CN.hbs', '欢迎 {{profile.firstName}}');
  write('sms/welcome.en.hbs', 'Welcome {{profile.firstName}}');
  write('_partials/brand.en.hbs', 'Acme');
  write('sms/README.md', 'notes, not a template');
});
afterEach(async () => {
  await deleteKeys(redis, prefix);
  fs.rmSync(dir, { recursive: true, force: true });
});
afterAll(() => redis.quit());

function write(name: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), text);
}
const changes = () => auditTemplateChanges({ redis, keyPrefix: prefix, auditLog: log, templatesDir: dir });
const sha = (name: string) => templateHashes(dir).get(name);

test('the first start records every template file as added', async () => {
  const entries = await changes();
  expect(entries.map((e) => e.target)).toEqual([
    'template:_partials/brand.en',
    'template:sms/welcome.en',
    'template:sms/welcome.zh-CN',
  ]);
  expect(entries[2]).toMatchObject({
    seq: 3,
    actor: SYSTEM_ACTOR,
    action: 'template.change',
    detail: { added: true, sha256: sha('sms/welcome.zh-CN'), host: os.hostname() },
    from: { via: 'startup' },
  });
  expect(sha('sms/welcome.zh-CN')).toMatch(/^[0-9a-f]{64}$/);
});

test('a restart with the same files writes nothing; a changed, an added and a removed file one entry each', async () => {
  await changes();
  expect(await changes()).toEqual([]);

  const before = sha('sms/welcome.en');
  write('sms/welcome.en.hbs', 'Hello {{profile.firstName}}');
  write('sms/goodbye.en.hbs', 'Bye');
  fs.rmSync(path.join(dir, '_partials/brand.en.hbs'));
  const entries = await changes();
  expect(entries.map((e) => [e.seq, e.target, e.detail])).toEqual([
    [
      4,
      'template:_partials/brand.en',
      { removed: true, previousSha256: expect.any(String), host: os.hostname() },
    ],
    [5, 'template:sms/goodbye.en', { added: true, sha256: sha('sms/goodbye.en'), host: os.hostname() }],
    [
      6,
      'template:sms/welcome.en',
      { sha256: sha('sms/welcome.en'), previousSha256: before, host: os.hostname() },
    ],
  ]);
  expect(await changes()).toEqual([]);
  expect((await log.verify()).ok).toBe(true);
});

test('processes starting at once audit each change once', async () => {
  const other = new RedisAuditLog(redis, prefix);
  const [a, b] = await Promise.all([
    changes(),
    auditTemplateChanges({ redis, keyPrefix: prefix, auditLog: other, templatesDir: dir }),
  ]);
  expect([...a, ...b].map((e) => e.target).sort()).toEqual([
    'template:_partials/brand.en',
    'template:sms/welcome.en',
    'template:sms/welcome.zh-CN',
  ]);
  expect(await log.verify()).toMatchObject({ ok: true, entries: 3 });
});

test('journey files seeded as new versions get journey.seed; unchanged ones nothing', async () => {
  const store = new JourneyStore(redis, new RedisKeys(prefix), { check: { templates: fixtureTemplates() } });
  const files = readJourneyFiles(path.resolve(__dirname, '../fixtures/simulation/journeys'), {
    templates: fixtureTemplates(),
  });
  const first = await auditSeededJourneys(log, await seedJourneys(store, files));
  expect(first.map((e) => e.target)).toEqual([
    'journey:sim-alert@1',
    'journey:sim-morning@1',
    'journey:sim-welcome@1',
  ]);
  expect(first[0]).toMatchObject({
    actor: { name: 'system', role: 'system' },
    action: 'journey.seed',
    detail: { file: 'sim-alert.yaml', status: 'published' },
    from: { via: 'startup' },
  });
  expect(await auditSeededJourneys(log, await seedJourneys(store, files))).toEqual([]);
  expect(await log.verify()).toMatchObject({ ok: true, entries: 3 });
});
