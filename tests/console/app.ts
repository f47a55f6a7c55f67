import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadSettings, projectRoot } from '../../config/settings';
import type { OutboxLine } from '../../delivery/providers/outbox';
import { startTouchpoint, type Touchpoint } from '../../main/touchpoint';
import { eventually } from '../support/eventually';
import { deleteKeys, testRedis, testRedisUrl, uniquePrefix } from '../support/redis';

/*
 * Touchpoint as `npm start` runs it (main/touchpoint.ts, every role in this process) on the test
 * Redis and its own embedded Temporal dev server (so the Temporal Web UI link is real), with
 * journeys/ and templates/ from the repo, and the HTTP calls the console tests use to put
 * customers at steps of a journey.
 */

export const ADMIN_KEY = 'console-test-admin-key';
export const WRITE_KEY = 'console-test-write-key';

/** The shipped journey the console tests drive: coupon, SMS, WeCom invite, a 7-day wait for an order. */
export const JOURNEY = 'dormant-reactivation';

export interface ConsoleApp {
  baseUrl: string;
  dataDir: string;
  call<T = Record<string, unknown>>(
    method: string,
    route: string,
    body?: unknown,
    key?: string,
  ): Promise<{ status: number; body: T }>;
  outbox(channel: string, customerId: string): Promise<OutboxLine[]>;
  stop(): Promise<void>;
}

export async function startConsoleApp(): Promise<ConsoleApp> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-console-'));
  const keyPrefix = uniquePrefix('console');
  // Every shipped journey (a full list to look at); no segments, so only the test's events enrol.
  const journeysDir = path.join(dir, 'journeys');
  const segmentsDir = path.join(dir, 'segments');
  await mkdir(journeysDir);
  await mkdir(segmentsDir);
  for (const file of [
    'dormant-reactivation.yaml',
    'browse-intent.yaml',
    'negative-review.yaml',
    'post-purchase-care.yaml',
  ]) {
    await copyFile(path.join(projectRoot, 'journeys', file), path.join(journeysDir, file));
  }
  // Quiet hours off: the test must not depend on the time of day it runs at.
  const config = path.join(dir, 'touchpoint.yaml');
  await writeFile(config, 'rules:\n  quietHours: false\n');
  const settings = loadSettings({
    PORT: '0',
    TOUCHPOINT_DATA_DIR: path.join(dir, 'data'),
    TOUCHPOINT_CONFIG: config,
    TOUCHPOINT_JOURNEYS_DIR: journeysDir,
    TOUCHPOINT_SEGMENTS_DIR: segmentsDir,
    TOUCHPOINT_TEMPLATES_DIR: path.join(projectRoot, 'templates'),
    REDIS_URL: testRedisUrl(),
    TOUCHPOINT_KEY_PREFIX: keyPrefix,
    TOUCHPOINT_QUEUE_PREFIX: `${keyPrefix}-bull`,
    TOUCHPOINT_ADMIN_KEY: ADMIN_KEY,
    TOUCHPOINT_WRITE_KEY: WRITE_KEY,
  });
  let touchpoint: Touchpoint;
  try {
    touchpoint = await startTouchpoint(
      settings,
      new Set(['api', 'journeys', 'router', 'delivery']),
      pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const baseUrl = `http://127.0.0.1:${touchpoint.port}`;

  return {
    baseUrl,
    dataDir: settings.dataDir,
    async call<T>(method: string, route: string, body?: unknown, key = ADMIN_KEY) {
      const res = await fetch(`${baseUrl}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async outbox(channel, customerId) {
      const text = await readFile(path.join(settings.outboxDir, `${channel}.jsonl`), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as OutboxLine)
        .filter((line) => line.customerId === customerId);
    },
    async stop() {
      await touchpoint.stop();
      const redis = testRedis();
      await deleteKeys(redis, keyPrefix);
      await deleteKeys(redis, `${keyPrefix}-bull`);
      await redis.quit();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A dormant customer with every address the journey sends to (phone, WeCom, email). */
export function dormantTraits(n: number, name: string) {
  return {
    name,
    phone: `+86138001380${String(n).padStart(2, '0')}`,
    email: `customer${n}@example.com`,
    wecomExternalUserId: `wm-console-${n}`,
    locale: 'zh-CN',
  };
}

/** Identifies the customer and sends the event that enrols them (the segment's entry event). */
export async function enrolDormant(app: ConsoleApp, customerId: string, traits: Record<string, unknown>) {
  const res = await app.call(
    'POST',
    '/v1/batch',
    {
      batch: [
        { type: 'identify', userId: customerId, traits },
        {
          type: 'track',
          userId: customerId,
          event: 'segment_entered',
          messageId: `${customerId}-dormant`,
          properties: { segment: 'dormant' },
        },
      ],
    },
    WRITE_KEY,
  );
  if (res.status !== 202)
    throw new Error(`batch for ${customerId}: ${res.status} ${JSON.stringify(res.body)}`);
}

export interface RunAnswer {
  status: string;
  version: number | null;
  currentStep: string | null;
  coupons: { code: string; redemption: unknown }[];
}

/** Waits until the customer's run of the journey answers `ok`. */
export function runWhere(
  app: ConsoleApp,
  customerId: string,
  ok: (run: RunAnswer) => boolean,
  what: string,
): Promise<RunAnswer> {
  return eventually(
    async () => {
      const res = await app.call<RunAnswer>('GET', `/v1/journeys/${JOURNEY}/customers/${customerId}`);
      return res.status === 200 && ok(res.body) ? res.body : undefined;
    },
    60_000,
    `${customerId}: ${what}`,
  );
}
