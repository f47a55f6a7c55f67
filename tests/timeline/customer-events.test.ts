import { CustomerEventKeys } from '../../audit/customer-event-keys';
import { CustomerEventLog, EVENTS_KEPT } from '../../audit/customer-events';
import { newKeyLine, parseKeyRing, TraitCipher } from '../../customers/encryption';
import type { IngestEvent } from '../../queues/events';
import { deleteKeys, testRedis, uniquePrefix } from '../support/redis';

const redis = testRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(redis, prefix);
  await redis.quit();
});

function log(options: ConstructorParameters<typeof CustomerEventLog>[2] = {}) {
  const prefix = uniquePrefix('events');
  prefixes.push(prefix);
  const keys = new CustomerEventKeys(prefix);
  return { keys, events: new CustomerEventLog(redis, keys, options) };
}

const at = (ms: number) => new Date(Date.UTC(2026, 2, 1) + ms).toISOString();

function track(messageId: string, ms: number, properties: Record<string, unknown> = {}): IngestEvent {
  return {
    type: 'track',
    userId: 'c1',
    event: 'viewed',
    properties,
    messageId,
    timestamp: at(ms),
    receivedAt: at(ms),
  };
}

describe('the customer event log (real Redis)', () => {
  test('an event is logged once per messageId (a retried router job adds nothing), newest first', async () => {
    const { events, keys } = log();
    await events.record('c1', track('m1', 0, { sku: 'A' }));
    await events.record('c1', track('m2', 1000, { sku: 'B' }));
    await events.record('c1', track('m1', 0, { sku: 'A' }));
    // The same messageId again with other content (a client reusing ids): the first one stays.
    await events.record('c1', { ...track('m2', 5000), properties: { sku: 'changed' } } as IngestEvent);
    const listed = await events.list('c1');
    expect(listed.map((e) => [e.messageId, e.properties.sku])).toEqual([
      ['m2', 'B'],
      ['m1', 'A'],
    ]);
    expect(listed[0]).toEqual({
      messageId: 'm2',
      type: 'track',
      event: 'viewed',
      timestamp: at(1000),
      receivedAt: at(1000),
      properties: { sku: 'B' },
    });
    expect(await redis.zcard(keys.index('c1'))).toBe(2);
    expect(await redis.hlen(keys.records('c1'))).toBe(2);
    expect(await events.list('someone-else')).toEqual([]);
  });

  test(`keeps the newest ${EVENTS_KEPT}: older ones leave the index and the records`, async () => {
    const { events, keys } = log();
    const total = EVENTS_KEPT + 12;
    // Received out of order: the cap goes by received time, not by arrival at the log.
    const order = Array.from({ length: total }, (_, i) => i).sort((a, b) => (a % 7) - (b % 7) || a - b);
    for (let i = 0; i < order.length; i += 50)
      await Promise.all(order.slice(i, i + 50).map((n) => events.record('c1', track(`m${n}`, n * 1000))));
    expect(await redis.zcard(keys.index('c1'))).toBe(EVENTS_KEPT);
    expect(await redis.hlen(keys.records('c1'))).toBe(EVENTS_KEPT);
    const listed = await events.list('c1');
    expect(listed).toHaveLength(EVENTS_KEPT);
    expect(listed[0]!.messageId).toBe(`m${total - 1}`);
    expect(listed.at(-1)!.messageId).toBe(`m${total - EVENTS_KEPT}`);
    // Bounds are on the received time, both ends included.
    const window = await events.list('c1', {
      since: Date.parse(at(100_000)),
      until: Date.parse(at(102_000)),
    });
    expect(window.map((e) => e.messageId)).toEqual(['m102', 'm101', 'm100']);
    expect((await events.list('c1', { limit: 2 })).map((e) => e.messageId)).toEqual([
      `m${total - 1}`,
      `m${total - 2}`,
    ]);
  });

  test('identify traits and enrolments, with source, channel and whether Touchpoint queued it', async () => {
    const { events } = log();
    await events.record('c1', {
      type: 'identify',
      userId: 'c1',
      traits: { name: 'Li', level: 'gold' },
      messageId: 'i1',
      timestamp: at(0),
      receivedAt: at(10),
      context: { library: { name: 'analytics-node' }, channel: 'server' },
    });
    await events.record('c1', {
      type: 'enrol',
      journeyId: 'welcome',
      userId: 'c1',
      customerId: 'c1',
      messageId: 'e1',
      properties: { batch: 7 },
      timestamp: at(20),
      receivedAt: at(20),
    });
    expect(await events.list('c1')).toEqual([
      {
        messageId: 'e1',
        type: 'enrol',
        event: 'journey_enrolled',
        journeyId: 'welcome',
        timestamp: at(20),
        receivedAt: at(20),
        internal: true,
        properties: { batch: 7 },
      },
      {
        messageId: 'i1',
        type: 'identify',
        timestamp: at(0),
        receivedAt: at(10),
        source: 'analytics-node',
        channel: 'server',
        properties: { name: 'Li', level: 'gold' },
      },
    ]);
  });

  test('sensitive values are never stored in clear: masked, sealed with the cipher, opened on reveal', async () => {
    const cipher = new TraitCipher(parseKeyRing(newKeyLine('t1')), Buffer.from('blind-index-key-16+'));
    const { events, keys } = log({ cipher, sensitive: ['phone', 'email', 'name'] });
    await events.record(
      'c1',
      track('s1', 0, { phone: '+8613800138000', email: 'wang@example.com', name: '王芳', sku: 'A' }),
    );
    const stored = JSON.stringify(await redis.hgetall(keys.records('c1')));
    for (const secret of ['13800138000', 'wang@example.com', '王芳']) expect(stored).not.toContain(secret);

    const [masked] = await events.list('c1');
    expect(masked!.properties).toEqual({
      phone: '+86 138****8000',
      email: 'w***@example.com',
      name: '***',
      sku: 'A',
    });
    const [revealed] = await events.list('c1', { reveal: true });
    expect(revealed!.properties).toEqual({
      phone: '+8613800138000',
      email: 'wang@example.com',
      name: '王芳',
      sku: 'A',
    });
    // Without a cipher the values are kept masked only: a reveal cannot bring them back.
    const plain = log();
    await plain.events.record('c1', track('s2', 0, { phone: '+8613800138000' }));
    expect((await plain.events.list('c1', { reveal: true }))[0]!.properties).toEqual({
      phone: '+86 138****8000',
    });
    expect(JSON.stringify(await redis.hgetall(plain.keys.records('c1')))).not.toContain('13800138000');
  });

  test('large properties are cut down for display and marked truncated', async () => {
    const { events } = log();
    const properties: Record<string, unknown> = {
      note: 'x'.repeat(5000),
      nested: { deep: 'y'.repeat(100) },
      n: 3,
    };
    for (let i = 0; i < 100; i++) properties[`field${i}`] = 'v'.repeat(50);
    await events.record('c1', track('big', 0, properties));
    const [logged] = await events.list('c1');
    expect(logged!.truncated).toBe(true);
    expect(logged!.properties.note).toBe(`${'x'.repeat(200)}…`);
    expect(logged!.properties.nested).toBe('[…]');
    expect(logged!.properties.n).toBe(3);
    expect(JSON.stringify(logged!.properties).length).toBeLessThanOrEqual(4000);
    expect(Object.keys(logged!.properties).length).toBeLessThan(Object.keys(properties).length);
  });
});
