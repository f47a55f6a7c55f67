import pino from 'pino';
import { lifecycleStageOf } from '../../customers/lifecycle-stage';
import { parseProfilesConfig } from '../../customers/profiles-config';
import { RfmModelBuilder, RfmScorer, thresholdScore } from '../../customers/rfm';
import { recomputeRfm, RfmSchedule, RFM_SCHEDULER_ID } from '../../customers/rfm-schedule';
import type { CustomerChange, SegmentMembership } from '../../router/customer-pipeline';
import { eventually } from '../support/eventually';
import { deleteKeys } from '../support/redis';
import { DAY, profilesHarness } from './support';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A deterministic pseudo-random sequence (mulberry32). */
function random(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class RecordingSegments implements SegmentMembership {
  readonly calls: { customerId: string; change: CustomerChange }[] = [];
  async onCustomerChanged(customerId: string, change: CustomerChange) {
    this.calls.push({ customerId, change });
  }
}

describe('RFM scores', () => {
  test('cut points: recency at or under, frequency and monetary at or over', () => {
    const days = [30, 90, 180, 365];
    expect([0, 30, 31, 90, 180, 365, 366].map((d) => thresholdScore('recency', d, days))).toEqual([
      5, 5, 4, 4, 3, 2, 1,
    ]);
    const counts = [2, 3, 5, 10];
    expect([0, 1, 2, 3, 4, 5, 9, 10, 50].map((n) => thresholdScore('frequency', n, counts))).toEqual([
      1, 1, 2, 3, 3, 4, 4, 5, 5,
    ]);
  });

  test('quantiles on a generated population: quintiles of spend, ties share a score', () => {
    const rand = random(42);
    const builder = new RfmModelBuilder(NOW);
    const buyers = Array.from({ length: 5000 }, (_, i) => ({
      // 70 % one order, 15 % two, 10 % three, 5 % five.
      orderCount: i < 3500 ? 1 : i < 4250 ? 2 : i < 4750 ? 3 : 5,
      totalSpend: Math.round((1 + rand() * 999) * 100) / 100,
      lastOrderMs: NOW - Math.floor(rand() * 500) * DAY,
    }));
    for (const b of buyers) builder.add(b);
    const model = builder.build();
    expect(model.buyers).toBe(5000);
    // The 20/40/60/80 % values, spend within a 2 % bucket of the uniform distribution's.
    model.quantiles.monetary.forEach((q, i) =>
      expect(Math.abs(q - (i + 1) * 200) / ((i + 1) * 200)).toBeLessThan(0.04),
    );
    expect(model.quantiles.frequency).toEqual([1, 1, 1, 2]);

    const config = parseProfilesConfig({ rfm: { recency: 'quantile' } }).rfm;
    const scorer = new RfmScorer(model, config);
    const spendScores = [0, 0, 0, 0, 0];
    for (const b of buyers) spendScores[scorer.score('monetary', b.totalSpend) - 1]! += 1;
    for (const n of spendScores) expect(Math.abs(n - 1000)).toBeLessThan(80);
    // One order: p = 0.35 → 2; two: (3500 + 375) / 5000 = 0.775 → 4; three and five: 5.
    expect([1, 2, 3, 5, 20].map((n) => scorer.score('frequency', n))).toEqual([2, 4, 5, 5, 5]);
    // Recency: fewer days is better; today beats everyone, 500 days ago no one.
    expect(scorer.score('recency', 0)).toBe(5);
    expect(scorer.score('recency', 499)).toBe(1);
    expect(scorer.score('recency', 250)).toBe(3);
    // No model yet: the middle score.
    expect(new RfmScorer(undefined, config).score('monetary', 1e6)).toBe(3);
  });

  test('lifecycle stages: the first rule that holds, else the default; rules from config', () => {
    const config = parseProfilesConfig({}).lifecycle;
    const stage = (traits: Record<string, unknown>) => lifecycleStageOf(traits, config, NOW);
    expect(stage({})).toBe('awareness');
    expect(stage({ lastSeenAt: iso(NOW) })).toBe('interest');
    expect(stage({ orderCount: 1, lastOrderAt: iso(NOW) })).toBe('purchase');
    expect(stage({ orderCount: 3, lastOrderAt: iso(NOW - 10 * DAY) })).toBe('loyalty');
    expect(stage({ orderCount: 3, lastOrderAt: iso(NOW - 400 * DAY) })).toBe('purchase');

    const custom = parseProfilesConfig({
      lifecycle: {
        stages: [
          { stage: 'advocate', when: { tag: 'referrer' } },
          { stage: 'member', when: { trait: 'memberId', exists: true } },
        ],
        default: 'prospect',
      },
    }).lifecycle;
    expect(lifecycleStageOf({ tags: ['referrer'], memberId: 'M1' }, custom, NOW)).toBe('advocate');
    expect(lifecycleStageOf({ tags: [], memberId: 'M1' }, custom, NOW)).toBe('member');
    expect(lifecycleStageOf({ tags: [] }, custom, NOW)).toBe('prospect');
  });
});

describe('RFM recompute over the profiles (real Redis)', () => {
  type Harness = Awaited<ReturnType<typeof profilesHarness>>;
  let h: Harness;
  beforeEach(async () => {
    h = await profilesHarness({}, { now: NOW });
  });
  afterEach(() => h.close());

  const buyer = (id: string, orderCount: number, totalSpend: number, daysAgo: number) =>
    h.profiles.merge(id, { orderCount, totalSpend, lastOrderAt: iso(NOW - daysAgo * DAY), name: id });

  /** 200 ordinary buyers (1–2 orders, 20–220 spent, 0–400 days ago) and the named ones. */
  async function population() {
    const rand = random(7);
    for (let i = 0; i < 200; i++)
      await buyer(
        `p${i}`,
        1 + Math.floor(rand() * 2),
        20 + Math.floor(rand() * 200),
        Math.floor(rand() * 400),
      );
    await buyer('vip', 12, 9000, 3);
    await buyer('first-timer', 1, 40, 1);
    await buyer('slipping', 8, 5000, 200);
    await buyer('gone', 1, 30, 500);
    await buyer('regular', 3, 260, 100);
    await h.profiles.merge('browser', { lastSeenAt: iso(NOW - DAY), email: 'b@example.com' });
    await h.profiles.merge('lead', { email: 'lead@example.com' });
  }

  test('scores, groups and stages for everyone; only changes are written and reported', async () => {
    await population();
    const segments = new RecordingSegments();
    const result = await recomputeRfm({ ...h, segments, pageSize: 50 }, NOW);
    expect(result).toMatchObject({ profiles: 207, buyers: 205 });
    const traits = async (id: string) => {
      const t = await h.profiles.get(id);
      return [t.rfmR, t.rfmF, t.rfmM, t.rfmGroup, t.lifecycleStage];
    };
    expect(await traits('vip')).toEqual([5, 5, 5, 'high-value', 'loyalty']);
    expect(await traits('first-timer')).toEqual([
      5,
      expect.any(Number),
      expect.any(Number),
      'new',
      'purchase',
    ]);
    expect(await traits('slipping')).toEqual([2, 5, 5, 'at-risk', 'loyalty']);
    expect(await traits('gone')).toEqual([1, expect.any(Number), expect.any(Number), 'dormant', 'purchase']);
    expect(await traits('regular')).toEqual([3, 5, 5, 'potential', 'loyalty']);
    expect(await traits('browser')).toEqual([undefined, undefined, undefined, undefined, 'interest']);
    expect(await traits('lead')).toEqual([undefined, undefined, undefined, undefined, 'awareness']);

    // Every customer got traits: each reported once, with the run's deterministic messageId.
    expect(segments.calls).toHaveLength(207);
    const vip = segments.calls.find((c) => c.customerId === 'vip')!;
    expect(vip.change).toEqual({
      messageId: `rfm:${iso(NOW)}:vip`,
      traits: ['rfmR', 'rfmF', 'rfmM', 'rfmGroup', 'lifecycleStage'],
    });
    const lead = segments.calls.find((c) => c.customerId === 'lead')!;
    expect(lead.change.traits).toEqual(['lifecycleStage']);

    // Again at the same time: nothing changes, nobody is reported.
    const again = new RecordingSegments();
    expect((await recomputeRfm({ ...h, segments: again }, NOW)).changed).toBe(0);
    expect(again.calls).toEqual([]);

    // 150 days later without any event: recency falls, the vip slips, loyalty lapses for some.
    const later = new RecordingSegments();
    await recomputeRfm({ ...h, segments: later }, NOW + 150 * DAY);
    expect(await traits('vip')).toEqual([3, 5, 5, 'potential', 'loyalty']);
    expect(await traits('first-timer')).toEqual([
      3,
      expect.any(Number),
      expect.any(Number),
      'others',
      'purchase',
    ]);
    const vipLater = later.calls.find((c) => c.customerId === 'vip')!;
    expect(vipLater.change).toEqual({
      messageId: `rfm:${iso(NOW + 150 * DAY)}:vip`,
      traits: ['rfmR', 'rfmGroup'],
    });
    expect(later.calls.find((c) => c.customerId === 'lead')).toBeUndefined();
  });

  test('an order between recomputes is scored against the last model', async () => {
    await population();
    await recomputeRfm(h, NOW);
    // A big first order today: recent, one order (frequency among buyers), top spend.
    await h.computed.onTrack('newcomer', h.event('order_completed', { orderId: 'x', total: 8000 }));
    const t = await h.profiles.get('newcomer');
    expect(t).toMatchObject({ rfmR: 5, rfmM: 5, rfmGroup: 'new', lifecycleStage: 'purchase' });
    // One order is the most common count: below the middle (p < 0.4).
    expect(t.rfmF).toBeLessThanOrEqual(2);
  });

  test('the job scheduler: cron and time zone from config; a first recompute when there is no model', async () => {
    const config = parseProfilesConfig({
      rfm: { schedule: { cron: '30 4 * * 1', timezone: 'Europe/Berlin' } },
    });
    await population();
    const segments = new RecordingSegments();
    const schedule = new RfmSchedule({
      ...h,
      config,
      segments,
      connection: h.redis,
      prefix: `${h.prefix}-bull`,
      logger: pino({ level: 'silent' }),
    });
    try {
      await schedule.start();
      const [scheduler] = await schedule.queue.getJobSchedulers(0, -1);
      expect(scheduler).toMatchObject({ key: RFM_SCHEDULER_ID, pattern: '30 4 * * 1', tz: 'Europe/Berlin' });
      await eventually(async () => (await h.rfm.exists()) || undefined, 15_000, 'the first model');
      await eventually(
        async () => (segments.calls.length === 207 ? true : undefined),
        15_000,
        'changes reported',
      );
      // The job measures recency to its own (real) time.
      expect((await h.profiles.get('vip')).rfmGroup).toEqual(expect.any(String));
      expect(segments.calls[0]!.change.messageId).toMatch(/^rfm:\d{4}-\d\d-\d\dT[\d:.]+Z:/);
      // Restarting keeps one scheduler and queues no second first run.
      await schedule.start({ worker: false });
      expect(await schedule.queue.getJobSchedulers(0, -1)).toHaveLength(1);
    } finally {
      await schedule.close();
      await deleteKeys(h.redis, `${h.prefix}-bull`);
    }
  });
});
