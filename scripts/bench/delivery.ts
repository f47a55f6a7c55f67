import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RedisKeys } from '../../customers/keys';
import { TouchLog } from '../../customers/touches';
import { loadChannelConfig } from '../../delivery/channel-config';
import type { DeliveryMessage } from '../../delivery/message';
import { closeDeliveryQueues, createDeliveryQueues, enqueueDelivery } from '../../delivery/queues';
import type { Channel } from '../../language/types';
import { AppProcess } from '../lib/app-process';
import { CpuMeter } from './machine';
import { OutboxTail } from './outbox';
import { log, stopApp, type BenchContext } from './setup';
import { forEachConcurrently, perSecond, round, until } from './stats';

/** Channels measured: two with a gateway limit, one without as the baseline. */
const PLAN: { channel: Channel; rateLimit?: { max: number; perMs: number }; messages: number }[] = [
  { channel: 'sms', rateLimit: { max: 50, perMs: 1000 }, messages: 500 },
  { channel: 'wecom', rateLimit: { max: 200, perMs: 1000 }, messages: 2000 },
  { channel: 'email', messages: 3000 },
];

/**
 * Delivery: a process with only the delivery role and a TOUCHPOINT_CONFIG setting rate limits
 * (outbox provider), on queue and key prefixes of its own so that no other delivery worker takes
 * these jobs. Per channel, a backlog is queued on the paused queue (as send activities queue
 * them), then released; the outbox lines' `at` times show the rate and how the limit is kept.
 */
export async function runDelivery(ctx: BenchContext) {
  const dir = path.join(ctx.dir, 'delivery');
  const outboxDir = path.join(dir, 'outbox');
  await mkdir(outboxDir, { recursive: true });
  const configFile = path.join(dir, 'touchpoint.yaml');
  await writeFile(configFile, channelsYaml());
  const channels = loadChannelConfig(configFile);
  const prefix = `${ctx.queuePrefix}-delivery`;
  const keyPrefix = `${ctx.keyPrefix}-delivery`;
  const app = new AppProcess(
    dir,
    0,
    ctx.appEnv({
      TOUCHPOINT_CONFIG: configFile,
      TOUCHPOINT_QUEUE_PREFIX: prefix,
      TOUCHPOINT_KEY_PREFIX: keyPrefix,
      TOUCHPOINT_OUTBOX_DIR: outboxDir,
    }),
    'delivery',
  );
  const queues = createDeliveryQueues(ctx.redis, prefix);
  const touches = new TouchLog(ctx.redis, new RedisKeys(keyPrefix));
  try {
    await app.start();
    const results: Record<string, unknown> = {};
    for (const plan of PLAN) {
      const queue = queues[plan.channel];
      await queue.pause();
      const messages = Array.from({ length: plan.messages }, (_, i) => message(ctx, plan.channel, i));
      // As the send activity does: the touch first (its outcome is recorded on it), then the job.
      await forEachConcurrently(messages, 50, async (m) => {
        const { journeyId, journeyVersion, customerId, stepId, channel, template } = m;
        const step = { journeyId, journeyVersion, customerId, stepId, channel, template };
        const touch = { ...step, status: 'queued', at: m.queuedAt, message: JSON.stringify(m) };
        await touches.recordOnce(m.idempotencyKey, touch, `step:${stepId}:sent`);
        await enqueueDelivery(queue, m, channels[plan.channel]);
      });
      const tail = await OutboxTail.start(outboxDir, plan.channel);
      const limit = plan.rateLimit ? `${plan.rateLimit.max}/${plan.rateLimit.perMs} ms` : 'no limit';
      log(`delivery: ${plan.messages} ${plan.channel} messages, ${limit}`);
      const cpu = new CpuMeter({ delivery: app.pid, redis: ctx.serverPids.redis });
      await queue.resume();
      const expectedS = plan.rateLimit
        ? (plan.messages / plan.rateLimit.max) * (plan.rateLimit.perMs / 1000)
        : 10;
      await until(
        `${plan.messages} ${plan.channel} lines`,
        async () => (await tail.poll(), tail.lines >= plan.messages),
        expectedS * 2000 + 15_000,
      );
      const cpuPercent = cpu.stop();
      await tail.stop();
      results[plan.channel] = { ...keptLimit(tail, plan), cpuPercent };
      log(`delivery: ${plan.channel} ${JSON.stringify(results[plan.channel])}`);
    }
    return {
      method:
        'delivery role alone (concurrency 5 per channel, outbox provider); a backlog per channel ' +
        'released at once; rates and windows from the outbox lines’ `at`',
      ...results,
    };
  } finally {
    await stopApp(app);
    for (const queue of Object.values(queues)) await queue.obliterate({ force: true }).catch(() => {});
    await closeDeliveryQueues(queues);
  }
}

function channelsYaml(): string {
  const lines = ['channels:'];
  for (const { channel, rateLimit } of PLAN) {
    lines.push(`  ${channel}:`, '    provider: { type: outbox }');
    if (rateLimit) lines.push(`    rateLimit: { max: ${rateLimit.max}, perMs: ${rateLimit.perMs} }`);
  }
  return `${lines.join('\n')}\n`;
}

function message(ctx: BenchContext, channel: Channel, i: number): DeliveryMessage {
  const customerId = `${ctx.runId}-delivery-${i}`;
  return {
    journeyId: 'dormant-reactivation',
    journeyVersion: 1,
    customerId,
    stepId: 'offer-sms',
    channel,
    template: 'dormant-offer',
    locale: 'zh-CN',
    to: channel === 'email' ? `${customerId}@example.com` : '+8613800138000',
    subject: channel === 'email' ? '最后机会：您的专属优惠' : null,
    body: '【家居生活】李先生，好久不见！您的专属优惠码 BACK-8K2Q 已到账，7 天内下单立减 200 元。回 T 退订',
    idempotencyKey: `${ctx.runId}/delivery/${channel}/${i}`,
    queuedAt: new Date().toISOString(),
  };
}

/**
 * How the limit was kept. BullMQ's limiter is a fixed window opened by the first job taken: up to
 * `max` jobs go at once, then the worker waits for the window to end. So the lines come in
 * bursts; per burst (window) we count messages and the spacing of burst starts. A sliding window
 * of the same length can straddle two bursts, hence `maxInAnySlidingWindow` (up to 2 × max).
 */
function keptLimit(tail: OutboxTail, plan: (typeof PLAN)[number]) {
  const times = [...tail.times].sort((a, b) => a - b);
  const windowMs = plan.rateLimit?.perMs ?? 1000;
  let maxInSliding = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    maxInSliding = Math.max(maxInSliding, end - start + 1);
  }
  const base = {
    messages: tail.lines,
    duplicates: tail.duplicates(),
    spanS: round((times[times.length - 1]! - times[0]!) / 1000, 2),
    maxInAnySlidingWindow: maxInSliding,
    windowMs,
  };
  if (!plan.rateLimit)
    return { ...base, messagesPerSec: perSecond(times.length - 1, times[times.length - 1]! - times[0]!) };

  const windows = bursts(times, windowMs / 4);
  const spacing = windows.slice(1).map((w, i) => w.start - windows[i]!.start);
  const last = windows[windows.length - 1]!;
  return {
    ...base,
    rateLimit: plan.rateLimit,
    limitPerSec: round((plan.rateLimit.max * 1000) / plan.rateLimit.perMs),
    /** Messages in all windows but the last, over the time from the first window's start to the last's. */
    messagesPerSec: perSecond(times.length - last.count, last.start - windows[0]!.start),
    windows: windows.length,
    maxPerWindow: Math.max(...windows.map((w) => w.count)),
    windowSpacingMs: { min: Math.min(...spacing), max: Math.max(...spacing) },
  };
}

/** Lines grouped into bursts: a gap longer than `gapMs` starts a new one. */
function bursts(times: number[], gapMs: number): { start: number; count: number }[] {
  const out: { start: number; count: number }[] = [];
  times.forEach((t, i) => {
    if (i === 0 || t - times[i - 1]! > gapMs) out.push({ start: t, count: 0 });
    out[out.length - 1]!.count++;
  });
  return out;
}
