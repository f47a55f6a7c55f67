import type { Redis } from 'ioredis';
import { sendMessage, type SendDeps } from '../../activities/send-message';
import type { SendRequest } from '../../activities/types';
import { SignedTokens } from '../../config/signed-tokens';
import { RedisKeys } from '../../customers/keys';
import { ProfileStore } from '../../customers/profiles';
import { TouchLog } from '../../customers/touches';
import { loadChannelConfig } from '../../delivery/channel-config';
import { closeDeliveryQueues, createDeliveryQueues } from '../../delivery/queues';
import { loadTemplates } from '../../messages/templates';
import { createRules } from '../../rules';
import { parseRulesConfig } from '../../rules/config';
import { testRedis, uniquePrefix } from '../support/redis';
import { templateDir, type TemplateDir } from './support';

/** The send activity against real Redis and queues, with a template that may render too long. */
let redis: Redis;
let prefix: string;
let t: TemplateDir;
let deps: SendDeps;

beforeEach(async () => {
  redis = testRedis();
  prefix = uniquePrefix('too-long');
  const keys = new RedisKeys(prefix);
  t = templateDir();
  t.write('sms/offer.zh-CN.hbs', '【栖木家居】{{event.text}}退订回TD');
  t.write('sms/offer.en.hbs', 'Qimu Home: {{event.text}}');
  deps = {
    profiles: new ProfileStore(redis, keys),
    touches: new TouchLog(redis, keys),
    templates: loadTemplates(t.dir),
    queues: createDeliveryQueues(redis, `${prefix}-bull`),
    channels: loadChannelConfig(),
    rules: createRules({
      redis,
      keys,
      config: parseRulesConfig({ quietHours: false }),
      tokens: new SignedTokens(Buffer.from(prefix)),
      publicUrl: 'https://touchpoint.test',
    }).touch,
  };
  await deps.profiles.merge('c-1', { name: '李娜', phone: '+8613800138000', locale: 'zh-CN' });
});

afterEach(async () => {
  await Promise.all(Object.values(deps.queues).map((q) => q.obliterate({ force: true })));
  await closeDeliveryQueues(deps.queues);
  for await (const found of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
    if ((found as string[]).length > 0) await redis.del(...(found as string[]));
  }
  await redis.quit();
  t.remove();
});

const request = (stepId: string, text: string): SendRequest => ({
  journeyId: 'dormant-reactivation',
  journeyVersion: 1,
  journeyName: 'Dormant reactivation',
  customerId: 'c-1',
  stepId,
  channel: 'sms',
  template: 'offer',
  defaultLocale: 'zh-CN',
  event: {
    messageId: 'm-1',
    event: 'segment_entered',
    properties: { text },
    timestamp: new Date().toISOString(),
  },
  idempotencyKey: `wf/run/${stepId}/0`,
});

test('an SMS that renders longer than 3 parts is recorded as skipped:content_too_long, not retried, not queued', async () => {
  const long = request('offer-sms', '字'.repeat(200));
  expect(await sendMessage(deps, long)).toEqual({ status: 'skipped', reason: 'content_too_long' });
  expect(await deps.touches.get(long.idempotencyKey)).toMatchObject({ status: 'skipped:content_too_long' });
  // A retry of the activity finds the record and gives the same answer.
  expect(await sendMessage(deps, long)).toEqual({ status: 'skipped', reason: 'content_too_long' });
  expect(await deps.queues.sms.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0 });

  const fits = request('offer-sms-2', '好久不见');
  expect(await sendMessage(deps, fits)).toMatchObject({ status: 'queued', locale: 'zh-CN' });
  const [job] = await deps.queues.sms.getJobs(['waiting']);
  expect(job?.data.body).toBe('【栖木家居】好久不见退订回TD');
});
