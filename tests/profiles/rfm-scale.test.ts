import { recomputeRfm } from '../../customers/rfm-schedule';
import { DAY, profilesHarness } from './support';

/**
 * The recompute at scale: SCAN pages, bounded memory. 10 000 customers by default;
 * TOUCHPOINT_RFM_SCALE=100000 (or more) measures a larger population and prints the time.
 */
const CUSTOMERS = Number(process.env.TOUCHPOINT_RFM_SCALE ?? 10_000);

test(`RFM recompute over ${CUSTOMERS} customers (real Redis)`, async () => {
  const now = Date.parse('2025-06-01T00:00:00Z');
  const h = await profilesHarness({}, { now });
  try {
    const loadStarted = Date.now();
    for (let start = 0; start < CUSTOMERS; start += 1000) {
      const pipeline = h.redis.pipeline();
      for (let i = start; i < Math.min(CUSTOMERS, start + 1000); i++) {
        // Two in three are buyers; every profile has a name and an encrypted phone (decrypted on read).
        const fields: Record<string, string> = {
          name: JSON.stringify(`customer ${i}`),
          phone: h.cipher.encrypt(JSON.stringify(`+86138${String(i).padStart(8, '0')}`), 'phone'),
          lastSeenAt: JSON.stringify(new Date(now - (i % 90) * DAY).toISOString()),
        };
        if (i % 3 !== 0) {
          fields.orderCount = String(1 + (i % 7));
          fields.totalSpend = String(((i * 7919) % 100_000) / 100);
          fields.lastOrderAt = JSON.stringify(new Date(now - (i % 500) * DAY).toISOString());
        }
        pipeline.hset(h.keys.profile(`c${i}`), fields);
      }
      await pipeline.exec();
    }
    const loadMs = Date.now() - loadStarted;
    const memoryBefore = process.memoryUsage().heapUsed;
    const result = await recomputeRfm(h, now);
    const heapGrowthMb = (process.memoryUsage().heapUsed - memoryBefore) / 1e6;
    expect(result.profiles).toBeGreaterThanOrEqual(CUSTOMERS);
    expect(result.buyers).toBe(CUSTOMERS - Math.ceil(CUSTOMERS / 3));
    expect(result.changed).toBe(result.profiles);
    // Groups and stages were written for everyone.
    const sample = await h.profiles.get('c1');
    expect(sample).toMatchObject({ rfmGroup: expect.any(String), lifecycleStage: expect.any(String) });
    const again = await recomputeRfm(h, now);
    expect(again.changed).toBe(0);
    process.stdout.write(
      `RFM recompute, ${CUSTOMERS} customers: load ${loadMs} ms; first run ${result.ms} ms (model ${result.modelMs} ms) ` +
        `(${Math.round(CUSTOMERS / (result.ms / 1000))}/s, all changed); second run ${again.ms} ms (no changes); ` +
        `heap growth ${heapGrowthMb.toFixed(1)} MB\n`,
    );
  } finally {
    await h.close();
  }
}, 600_000);
