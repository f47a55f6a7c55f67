import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { templateHashes } from '../../audit-log/startup-changes';
import type { AuditEntry } from '../../audit-log/types';
import { loadSettings, projectRoot } from '../../config/settings';
import { startTouchpoint } from '../../main/touchpoint';
import { waitingJourney } from '../registry/support';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { createDevServerEnv } from '../support/temporal';

/*
 * Start-up as `npm start` wires it (main/touchpoint.ts): the seeded journey files and every
 * template file are in the audit log after the first start, a restart adds nothing, and the
 * audit API reads them with the admin key.
 */

const ADMIN_KEY = 'audit-startup-admin-key';
let env: TestWorkflowEnvironment;
let dir: string;
let keyPrefix: string;

beforeAll(async () => {
  env = await createDevServerEnv();
  dir = await mkdtemp(path.join(tmpdir(), 'tp-audit-startup-'));
  keyPrefix = uniquePrefix('audit-boot');
  await writeFile(path.join(dir, 'alpha.yaml'), waitingJourney('alpha'));
});
afterAll(async () => {
  const redis = testRedis();
  await deleteKeys(redis, keyPrefix);
  await deleteKeys(redis, `${keyPrefix}-bull`);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
  await env?.teardown();
});

async function startAndRead(): Promise<AuditEntry[]> {
  const settings = loadSettings({
    PORT: '0',
    TOUCHPOINT_DATA_DIR: path.join(dir, 'data'),
    TOUCHPOINT_JOURNEYS_DIR: dir,
    TOUCHPOINT_TEMPLATES_DIR: path.join(projectRoot, 'templates'),
    REDIS_URL: testRedisUrl(),
    TEMPORAL_ADDRESS: env.address,
    TOUCHPOINT_KEY_PREFIX: keyPrefix,
    TOUCHPOINT_QUEUE_PREFIX: `${keyPrefix}-bull`,
    TOUCHPOINT_ADMIN_KEY: ADMIN_KEY,
    TOUCHPOINT_WRITE_KEY: 'audit-startup-write-key',
  });
  const touchpoint = await startTouchpoint(settings, new Set(['api']), pino({ level: 'silent' }));
  try {
    const entries: AuditEntry[] = [];
    let after = 0;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${touchpoint.port}/v1/audit?limit=1000&after=${after}`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { entries: AuditEntry[]; next: number | null };
      entries.push(...page.entries);
      if (page.next === null) return entries;
      after = page.next;
    }
  } finally {
    await touchpoint.stop();
  }
}

test('the first start audits the seeded journey and every template; a restart adds nothing', async () => {
  const first = await startAndRead();
  const templates = templateHashes(path.join(projectRoot, 'templates'));
  expect(first.filter((e) => e.action === 'journey.seed')).toEqual([
    expect.objectContaining({
      seq: 1,
      actor: { name: 'system', role: 'system' },
      target: 'journey:alpha@1',
      from: { via: 'startup' },
    }),
  ]);
  const changed = first.filter((e) => e.action === 'template.change');
  expect(changed).toHaveLength(templates.size);
  expect(changed.map((e) => e.target).sort()).toEqual(
    [...templates.keys()].map((t) => `template:${t}`).sort(),
  );
  expect(changed.every((e) => e.detail?.added === true)).toBe(true);
  expect(first).toHaveLength(1 + templates.size);

  const second = await startAndRead();
  expect(second).toEqual(first);
});
