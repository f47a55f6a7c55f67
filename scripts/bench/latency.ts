import { OutboxTail } from './outbox';
import { log, type BenchContext } from './setup';
import { perSecond, round, sleep, summarize, until } from './stats';
import { dormantEntry, identifyCustomers, post } from './traffic';

/**
 * Event → touch latency: open-loop entry events (one every 1/rate s, whatever the answers) at a
 * fraction of the capacity the entry phase measured; for each, the time from just before its
 * POST /v1/track to the `at` of its SMS line in the outbox (written by the delivery worker on this
 * machine's clock). Each customer enters once, so every event starts a new journey.
 */
/** How long after the last send the run waits for the outbox to catch up. */
const DRAIN_LIMIT_MS = 60_000;

export async function runLatency(
  ctx: BenchContext,
  capacityPerSec: number,
  fractions: number[],
  durationS: number,
) {
  const runs = [];
  for (const fraction of fractions) {
    runs.push(await latencyAt(ctx, capacityPerSec * fraction, fraction, durationS));
  }
  return {
    method:
      `open loop for ${durationS} s per rate at fractions of the entry capacity (${capacityPerSec}/s); ` +
      'latency = POST /v1/track sent → `at` of the SMS line in the outbox',
    capacityPerSec,
    runs,
  };
}

async function latencyAt(ctx: BenchContext, rate: number, fraction: number, durationS: number) {
  const count = Math.max(10, Math.round(rate * durationS));
  const ids = Array.from({ length: count }, (_, i) => `${ctx.runId}-lat${Math.round(fraction * 100)}-${i}`);
  await identifyCustomers(ctx, ids);
  log(`latency: ${round(rate)} entries/s (${Math.round(fraction * 100)} % of capacity), ${count} customers`);

  const sms = await OutboxTail.start(ctx.outboxDir, 'sms');
  const wecom = await OutboxTail.start(ctx.outboxDir, 'wecom');
  try {
    const sentAt = new Map<string, number>();
    const answers: Promise<void>[] = [];
    let failed = 0;
    const interval = 1000 / rate;
    const t0 = Date.now();
    for (let i = 0; i < count; i++) {
      const wait = t0 + i * interval - Date.now();
      if (wait > 0) await sleep(wait);
      sentAt.set(ids[i]!, Date.now());
      answers.push(post(ctx, '/v1/track', dormantEntry(ids[i]!)).catch(() => void failed++));
    }
    const sendingMs = Date.now() - t0;
    await Promise.all(answers);
    // Then until every SMS is out, and the WeCom sends that follow, so the next run starts idle;
    // what has not come within the time limit is reported as missing.
    const allOut = async () => {
      await Promise.all([sms.poll(), wecom.poll()]);
      return wecom.countOf(ids) === count - failed && sms.countOf(ids) === count - failed;
    };
    await until('the sends', allOut, DRAIN_LIMIT_MS).catch(() => log('latency: drain time limit reached'));
    const latencies = ids.flatMap((id) => {
      const line = sms.firstByCustomer.get(id);
      return line ? [Date.parse(line.at) - sentAt.get(id)!] : [];
    });
    const summary = summarize(latencies, 0);
    log(`latency: p50 ${summary.p50} ms, p99 ${summary.p99} ms`);
    return {
      fractionOfCapacity: fraction,
      targetPerSec: round(rate),
      sentPerSec: perSecond(count - 1, sendingMs),
      customers: count,
      httpFailures: failed,
      /** Accepted entries without an SMS line within the time limit. */
      missing: count - failed - latencies.length,
      latencyMs: summary,
      duplicates: sms.duplicates() + wecom.duplicates(),
    };
  } finally {
    await Promise.all([sms.stop(), wecom.stop()]);
  }
}
