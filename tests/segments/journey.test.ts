import { DORMANT_CUSTOMER, eventually } from '../support/engine';
import { useTimeSkippingEngine } from '../support/time-skipping';
import { journeyWorkflowId } from '../../workflows/definitions';
import { reevaluationCause } from '../../segmentation/schedule';
import { reevaluateAll } from '../../segmentation/reevaluate';
import { parseProfilesConfig } from '../../customers/profiles-config';
import { RfmModelStore } from '../../customers/rfm';
import { recomputeRfm } from '../../customers/rfm-schedule';

/**
 * End to end through the router: the shipped dormant segment (segments/dormant.yaml) queues
 * `segment_entered` on the `events` queue, a real router worker routes it, and the shipped
 * dormant-reactivation journey starts on it (real workflow on the time-skipping server, real
 * activities, the SMS in the outbox). Once on an identify, once by time alone.
 */
const DAY = 86_400_000;
const clock = { now: Date.parse('2026-03-10T10:00:00+08:00') };
const setup = useTimeSkippingEngine({ segments: true, profiles: true, now: () => clock.now });

const smsTo = async (customerId: string) =>
  eventually(async () => {
    const lines = (await setup.engine.outbox('sms')).filter((l) => l.customerId === customerId);
    return lines.length > 0 ? lines : undefined;
  }, 30_000);

const running = async (customerId: string) =>
  (
    await setup.env.client.workflow
      .getHandle(journeyWorkflowId('dormant-reactivation', customerId))
      .describe()
  ).status.name;

test('an identify with a last order 100 days ago: dormant → segment_entered → the journey', async () => {
  const lastOrderAt = new Date(clock.now - 100 * DAY).toISOString();
  await setup.engine.identify('qimu-1', { ...DORMANT_CUSTOMER, lastOrderAt });
  expect(await setup.engine.segments!.members.of('qimu-1')).toEqual(['dormant']);
  const [sms] = await smsTo('qimu-1');
  expect(sms!.body).toMatch(/^【栖木家居】王芳，好久不见！送您一张50元专属回归券/);
  expect(await running('qimu-1')).toBe('RUNNING');
  // The router routed the segment's event once, under its deterministic messageId.
  const processed = await setup.engine.redis.keys(
    `${setup.engine.keys.processedEvent('segment:entered:dormant:qimu-1:')}*`,
  );
  expect(processed).toHaveLength(1);
});

test('no event at all: the scheduled re-evaluation finds the 91st day and the journey starts', async () => {
  const lastOrderAt = new Date(clock.now - 85 * DAY).toISOString();
  await setup.engine.identify('qimu-2', { ...DORMANT_CUSTOMER, name: '唐宁', lastOrderAt });
  expect(await setup.engine.segments!.members.of('qimu-2')).toEqual([]);

  clock.now += 6 * DAY;
  const tick = clock.now;
  const result = await reevaluateAll(setup.engine.segments!, setup.engine.keys, {
    nowMs: tick,
    causeId: reevaluationCause(tick),
  });
  expect(result).toMatchObject({ entered: 1 });
  const [sms] = await smsTo('qimu-2');
  expect(sms!.body).toMatch(/^【栖木家居】唐宁，好久不见！/);
  expect(await running('qimu-2')).toBe('RUNNING');
});

test('from an order: computed traits and the RFM recompute make the customer dormant, the journey starts', async () => {
  // An order 80 days ago (imported history: the event carries its own time).
  const orderedAt = new Date(clock.now - 80 * DAY).toISOString();
  await setup.engine.identify('qimu-3', { ...DORMANT_CUSTOMER, name: '于晴' });
  await setup.engine.route({
    type: 'track',
    userId: 'qimu-3',
    event: 'order_completed',
    properties: { orderId: 'QM-2025-1201', total: 3200, category: 'sofa' },
    messageId: 'import:orders:QM-2025-1201',
    timestamp: orderedAt,
    receivedAt: new Date(clock.now).toISOString(),
  });
  expect(await setup.engine.profiles.get('qimu-3')).toMatchObject({ orderCount: 1, lastOrderAt: orderedAt });
  expect(await setup.engine.segments!.members.of('qimu-3')).toEqual([]);

  // Half a year without an order: the nightly RFM recompute moves the customer to `dormant`
  // and tells segments, which queue segment_entered.
  clock.now += 110 * DAY;
  const config = parseProfilesConfig({});
  const { redis, keys, profiles } = setup.engine;
  await recomputeRfm(
    {
      redis,
      keys,
      profiles,
      config,
      rfm: new RfmModelStore(redis, keys, config.rfm),
      segments: setup.engine.segments,
    },
    clock.now,
  );
  expect(await profiles.get('qimu-3')).toMatchObject({ rfmGroup: 'dormant' });
  expect(await setup.engine.segments!.members.of('qimu-3')).toEqual(['dormant']);
  const [sms] = await smsTo('qimu-3');
  expect(sms!.body).toMatch(/^【栖木家居】于晴，好久不见！/);
});
