import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import {
  createActivities,
  RecordingNotifySender,
  RecordingWebhookSender,
  type ActivityDeps,
  type NotifySender,
  type WebhookSender,
} from '../../activities';
import type { JourneyActivities } from '../../activities/types';
import { SignedTokens } from '../../config/signed-tokens';
import { CouponStore } from '../../coupons/store';
import { JourneyStats } from '../../customers/journey-stats';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { TouchLog } from '../../customers/touches';
import { loadChannelConfig } from '../../delivery/channel-config';
import { closeDeliveryQueues, createDeliveryQueues } from '../../delivery/queues';
import { loadTemplates } from '../../messages/templates';
import { createRules } from '../../rules';
import { parseRulesConfig } from '../../rules/config';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

export { closeAfterEach, json, reply, startHttpServer, type TestHttpServer } from '../delivery/support';

/** Writes files (relative path → content) under a fresh temp dir. */
export async function writeTree(files: Record<string, string>, name = 'tp-activities-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), name));
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), content);
  }
  return dir;
}

export interface ActivityHarness {
  activities: JourneyActivities;
  deps: ActivityDeps;
  profiles: ProfileStore;
  stats: JourneyStats;
  keys: RedisKeys;
  prefix: string;
  close(): Promise<void>;
}

/**
 * The real activities on the suite's Redis under a unique prefix, with templates from `templates`
 * (relative path → content, e.g. `notify/alert.en.hbs`) in a temp dir.
 */
export async function activityHarness(
  options: {
    templates?: Record<string, string>;
    webhooks?: WebhookSender;
    notifier?: NotifySender;
    clockOffsetMs?: number;
    onRunEnded?: ActivityDeps['onRunEnded'];
  } = {},
): Promise<ActivityHarness> {
  const redis = testRedis();
  const prefix = uniquePrefix('act');
  const keys = new RedisKeys(prefix);
  const templatesDir = await writeTree(options.templates ?? {}, 'tp-templates-');
  const profiles = new ProfileStore(redis, keys);
  const stats = new JourneyStats(redis, keys);
  const queues = createDeliveryQueues(redis, `${prefix}-bull`);
  const rules = createRules({
    redis,
    keys,
    config: parseRulesConfig({ quietHours: false }),
    tokens: new SignedTokens(Buffer.from(prefix)),
    publicUrl: 'https://touchpoint.test',
  });
  const deps: ActivityDeps = {
    profiles,
    touches: new TouchLog(redis, keys),
    stats,
    coupons: new CouponStore(redis, prefix),
    templates: loadTemplates(templatesDir),
    queues,
    channels: loadChannelConfig(),
    rules: rules.touch,
    webhooks: options.webhooks ?? new RecordingWebhookSender(),
    notifier: options.notifier ?? new RecordingNotifySender(),
    ...(options.clockOffsetMs !== undefined ? { clockOffsetMs: options.clockOffsetMs } : {}),
    ...(options.onRunEnded ? { onRunEnded: options.onRunEnded } : {}),
  };
  return {
    activities: createActivities(deps),
    deps,
    profiles,
    stats,
    keys,
    prefix,
    async close() {
      await closeDeliveryQueues(queues);
      await deleteKeys(redis, prefix);
      await redis.quit();
      await rm(templatesDir, { recursive: true, force: true });
    },
  };
}

/** The ApplicationFailure a promise rejects with; fails the test when it resolves or throws another error. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  }
  throw new Error('resolved, expected an ApplicationFailure');
}
