import { gzipSync } from 'node:zlib';
import { Worker } from 'bullmq';
import request from 'supertest';
import { EVENTS_QUEUE, eventJobId } from '../../queues/events';
import { testRedis } from '../support/redis';
import { basic, bearer, KEYS, startTestApp, type TestApp } from './fixture';

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => t.close());

const track = (body: object, auth = basic(KEYS.writeKey)) =>
  request(t.app).post('/v1/track').set('Authorization', auth).send(body);
const identify = (body: object, auth = basic(KEYS.writeKey)) =>
  request(t.app).post('/v1/identify').set('Authorization', auth).send(body);

describe('POST /v1/track', () => {
  test('queues the normalised event as a job keyed by its messageId, then answers 202', async () => {
    const before = new Date().toISOString();
    const res = await track({
      userId: 'u-1',
      event: 'Order Completed',
      properties: { orderId: 'o-9', amount: 129.5, items: [{ sku: 'sofa-3' }] },
      timestamp: '2024-05-01T20:00:00.250+08:00',
      messageId: 'm-track-1',
      context: { ip: '203.0.113.9', library: { name: 'analytics-node' } },
    });
    const after = new Date().toISOString();

    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1 });
    const jobs = await t.jobs();
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job.id).toBe(eventJobId('m-track-1'));
    expect(job.name).toBe('track');
    expect(job.data).toEqual({
      type: 'track',
      userId: 'u-1',
      messageId: 'm-track-1',
      event: 'Order Completed',
      properties: { orderId: 'o-9', amount: 129.5, items: [{ sku: 'sofa-3' }] },
      timestamp: '2024-05-01T12:00:00.250Z',
      receivedAt: expect.any(String),
      context: { ip: '203.0.113.9', library: { name: 'analytics-node' } },
    });
    expect(job.data.receivedAt >= before && job.data.receivedAt <= after).toBe(true);
    expect(job.opts).toMatchObject({
      attempts: 10,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: { age: 86_400, count: 100_000 },
      removeOnFail: { age: 604_800 },
    });
  });

  test('generates the messageId, uses receipt time and defaults properties when the client sent none', async () => {
    const res = await track({ anonymousId: 'anon-1', event: 'Viewed Living Room' });
    expect(res.status).toBe(202);
    const [job] = await t.jobs();
    expect(job!.data.messageId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(job!.id).toBe(eventJobId(job!.data.messageId));
    expect(job!.data.timestamp).toBe(job!.data.receivedAt);
    expect(job!.data).toMatchObject({ type: 'track', properties: {} });
    expect(job!.data).not.toHaveProperty('userId');
    expect(job!.data).not.toHaveProperty('context');
  });

  test("accepts and drops Segment's extra fields, and nulls where a field is optional", async () => {
    const res = await track({
      type: 'identify', // the endpoint decides the type
      userId: null,
      anonymousId: 'anon-2',
      event: 'Signed Up',
      properties: null,
      messageId: 'm-extra',
      sentAt: '2024-05-01T12:00:01Z',
      originalTimestamp: '2024-05-01T12:00:00Z',
      integrations: { All: true },
      writeKey: 'ignored',
      channel: 'server',
      version: 2,
    });
    expect(res.status).toBe(202);
    const job = await t.job('m-extra');
    expect(Object.keys(job!.data).sort()).toEqual(
      ['anonymousId', 'event', 'messageId', 'properties', 'receivedAt', 'timestamp', 'type'].sort(),
    );
    expect(job!.data).toMatchObject({ type: 'track', anonymousId: 'anon-2', properties: {} });
  });

  test('a repeated messageId is accepted and ignored: still one job, the first one', async () => {
    const first = await track({
      userId: 'u-1',
      event: 'Order Completed',
      messageId: 'm-dup',
      properties: { n: 1 },
    });
    const again = await track({
      userId: 'u-1',
      event: 'Order Completed',
      messageId: 'm-dup',
      properties: { n: 2 },
    });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.body).toEqual({ accepted: 1 });
    const jobs = await t.jobs();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data).toMatchObject({ properties: { n: 1 } });
  });

  test('a messageId repeated after the event was processed is still ignored (the completed record is kept)', async () => {
    const connection = testRedis();
    const processed: string[] = [];
    const worker = new Worker(EVENTS_QUEUE, async (job) => void processed.push(job.data.messageId), {
      connection,
      prefix: t.prefix,
    });
    try {
      expect((await track({ userId: 'u-1', event: 'Order Completed', messageId: 'm-done' })).status).toBe(
        202,
      );
      while ((await t.job('m-done'))?.finishedOn === undefined) await new Promise((r) => setTimeout(r, 20));
      expect((await track({ userId: 'u-1', event: 'Order Completed', messageId: 'm-done' })).status).toBe(
        202,
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(processed).toEqual(['m-done']);
      expect(await t.queue.getJobState(eventJobId('m-done'))).toBe('completed');
      expect(await t.queue.count()).toBe(0);
    } finally {
      await worker.close();
      await connection.quit();
    }
  });

  test('takes a gzip-compressed body, as some Segment libraries send', async () => {
    const res = await request(t.app)
      .post('/v1/track')
      .set('Authorization', basic(KEYS.writeKey))
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      // Send the bytes as they are (superagent would JSON-encode a Buffer for a JSON content type).
      .serialize((bytes: Buffer) => bytes as unknown as string)
      .send(gzipSync(JSON.stringify({ userId: 'u-1', event: 'Zipped', messageId: 'm-gzip' })));
    expect(res.status).toBe(202);
    expect((await t.job('m-gzip'))!.data).toMatchObject({ event: 'Zipped' });
  });

  test('takes the write key as a Bearer token too', async () => {
    const res = await track({ userId: 'u-1', event: 'e' }, bearer(KEYS.writeKey));
    expect(res.status).toBe(202);
  });

  test('lists every bad field at once and queues nothing', async () => {
    const res = await track({
      event: '',
      properties: ['not', 'an', 'object'],
      timestamp: 'yesterday',
      messageId: 'm'.repeat(257),
      context: 'web',
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.issues).toEqual(
      expect.arrayContaining([
        { path: 'userId', message: 'userId or anonymousId is required' },
        { path: 'event', message: 'must not be empty' },
        { path: 'properties', message: 'must be a JSON object' },
        { path: 'timestamp', message: expect.stringContaining('ISO-8601') },
        { path: 'messageId', message: 'must be at most 256 characters' },
        { path: 'context', message: 'must be a JSON object' },
      ]),
    );
    expect(res.body.issues).toHaveLength(6);
    expect(await t.jobs()).toHaveLength(0);
  });

  test.each([
    ['a missing event', { userId: 'u' }, 'event', 'is required'],
    [
      'an event name over 200 characters',
      { userId: 'u', event: 'e'.repeat(201) },
      'event',
      'must be at most 200 characters',
    ],
    [
      'a userId over 256 characters',
      { userId: 'u'.repeat(257), event: 'e' },
      'userId',
      'must be at most 256 characters',
    ],
    ['a numeric userId', { userId: 42, event: 'e' }, 'userId', 'must be a string'],
    [
      'an impossible date',
      { userId: 'u', event: 'e', timestamp: '2024-02-30T10:00:00Z' },
      'timestamp',
      expect.any(String),
    ],
    [
      'a timestamp without time zone',
      { userId: 'u', event: 'e', timestamp: '2024-05-01T10:00:00' },
      'timestamp',
      expect.any(String),
    ],
  ])('refuses %s', async (_what, body, path, message) => {
    const res = await track(body);
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path, message }]);
    expect(await t.jobs()).toHaveLength(0);
  });

  test('takes names and ids right at the limits', async () => {
    const res = await track({ userId: 'u'.repeat(256), event: 'e'.repeat(200), messageId: 'm'.repeat(256) });
    expect(res.status).toBe(202);
    expect(await t.job('m'.repeat(256))).toBeDefined();
  });
});

describe('POST /v1/identify', () => {
  test('queues traits under the identify type', async () => {
    const res = await identify({
      userId: 'u-7',
      anonymousId: 'anon-7',
      traits: { phone: '+8613800000000', dueDate: '2024-09-01', tags: ['vip'] },
      messageId: 'm-identify',
      timestamp: '2024-05-01T12:00:00Z',
    });
    expect(res.status).toBe(202);
    const job = await t.job('m-identify');
    expect(job!.name).toBe('identify');
    expect(job!.data).toEqual({
      type: 'identify',
      userId: 'u-7',
      anonymousId: 'anon-7',
      messageId: 'm-identify',
      traits: { phone: '+8613800000000', dueDate: '2024-09-01', tags: ['vip'] },
      timestamp: '2024-05-01T12:00:00.000Z',
      receivedAt: expect.any(String),
    });
  });

  test('defaults traits to {} and needs no event name', async () => {
    const res = await identify({ anonymousId: 'anon-8', messageId: 'm-identify-2' });
    expect(res.status).toBe(202);
    expect((await t.job('m-identify-2'))!.data).toMatchObject({ type: 'identify', traits: {} });
  });

  test('refuses traits that are not an object, and a missing identity', async () => {
    const res = await identify({ traits: 'vip' });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([
      { path: 'userId', message: 'userId or anonymousId is required' },
      { path: 'traits', message: 'must be a JSON object' },
    ]);
    expect(await t.jobs()).toHaveLength(0);
  });
});
