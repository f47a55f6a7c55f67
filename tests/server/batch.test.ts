import request from 'supertest';
import { MAX_BATCH_SIZE } from '../../server/ingest/schemas';
import { basic, KEYS, startTestApp, type TestApp } from './fixture';

let t: TestApp;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => t.close());

const batch = (body: unknown) =>
  request(t.app)
    .post('/v1/batch')
    .set('Authorization', basic(KEYS.writeKey))
    .send(body as object);

const trackItem = (n: number) => ({
  type: 'track',
  userId: `u-${n}`,
  event: 'Viewed Product',
  messageId: `m-${n}`,
});

describe('POST /v1/batch', () => {
  test('queues every message, merging the batch context into each (the message’s own keys win)', async () => {
    const res = await batch({
      batch: [
        {
          type: 'track',
          userId: 'u-1',
          event: 'Order Completed',
          properties: { sku: 'sofa-3' },
          messageId: 'm-1',
          context: { channel: 'pos', store: 'sh-01' },
        },
        { type: 'identify', userId: 'u-1', traits: { memberId: 'M-100' }, messageId: 'm-2' },
      ],
      context: { library: { name: 'pos-sync' }, channel: 'batch' },
      sentAt: '2024-05-01T12:00:00Z',
      integrations: {},
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 2 });

    const jobs = await t.jobs();
    expect(jobs.map((job) => [job.name, job.data.messageId])).toEqual([
      ['track', 'm-1'],
      ['identify', 'm-2'],
    ]);
    expect(jobs[0]!.data.context).toEqual({ library: { name: 'pos-sync' }, channel: 'pos', store: 'sh-01' });
    expect(jobs[1]!.data).toMatchObject({
      traits: { memberId: 'M-100' },
      context: { library: { name: 'pos-sync' }, channel: 'batch' },
    });
    // One receipt time for the whole request.
    expect(jobs[0]!.data.receivedAt).toBe(jobs[1]!.data.receivedAt);
  });

  test('one bad message rejects the whole batch: 400 naming every bad path, zero jobs', async () => {
    const res = await batch({
      batch: [
        trackItem(0),
        { type: 'track', userId: 'u-1' },
        { type: 'track', userId: 'u-2', event: 'e', properties: 'cheap' },
        { type: 'page', userId: 'u-3', name: 'Home' },
        { type: 'identify', userId: 'u-4', traits: { ok: true }, timestamp: 'soon' },
        42,
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      message: '5 invalid fields',
      issues: [
        { path: 'batch[1].event', message: 'is required' },
        { path: 'batch[2].properties', message: 'must be a JSON object' },
        {
          path: 'batch[3].type',
          message: 'unsupported type "page": supported types are "track", "identify"',
        },
        { path: 'batch[4].timestamp', message: expect.stringContaining('ISO-8601') },
        { path: 'batch[5]', message: 'must be a JSON object' },
      ],
    });
    expect(await t.jobs()).toHaveLength(0);
  });

  test.each(['screen', 'group', 'alias'])(
    'names the supported types when a message is a %s call',
    async (type) => {
      const res = await batch({ batch: [{ type, userId: 'u' }] });
      expect(res.status).toBe(400);
      expect(res.body.issues).toEqual([
        {
          path: 'batch[0].type',
          message: `unsupported type "${type}": supported types are "track", "identify"`,
        },
      ]);
    },
  );

  test('requires a type on every message', async () => {
    const res = await batch({ batch: [{ userId: 'u', event: 'e' }] });
    expect(res.body.issues).toEqual([
      { path: 'batch[0].type', message: 'is required: one of "track", "identify"' },
    ]);
  });

  test('reports nested paths from the batch context too', async () => {
    const res = await batch({ batch: [trackItem(1)], context: 'pos' });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: 'context', message: 'must be a JSON object' }]);
    expect(await t.jobs()).toHaveLength(0);
  });

  test('a messageId repeated inside a batch, or across batches, makes one job', async () => {
    const body = {
      batch: [
        { ...trackItem(1), properties: { first: true } },
        { ...trackItem(1), properties: { first: false } },
        trackItem(2),
      ],
    };
    const first = await batch(body);
    const again = await batch(body);
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(first.body).toEqual({ accepted: 3 });
    const jobs = await t.jobs();
    expect(jobs.map((job) => job.data.messageId)).toEqual(['m-1', 'm-2']);
    expect(jobs[0]!.data).toMatchObject({ properties: { first: true } });
  });

  test(`takes ${MAX_BATCH_SIZE} messages and refuses ${MAX_BATCH_SIZE + 1}`, async () => {
    const items = Array.from({ length: MAX_BATCH_SIZE + 1 }, (_, n) => trackItem(n));
    const tooMany = await batch({ batch: items });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.issues).toEqual([
      { path: 'batch', message: `must hold at most ${MAX_BATCH_SIZE} messages` },
    ]);
    expect(await t.jobs()).toHaveLength(0);

    const full = await batch({ batch: items.slice(0, MAX_BATCH_SIZE) });
    expect(full.status).toBe(202);
    expect(full.body).toEqual({ accepted: MAX_BATCH_SIZE });
    expect(await t.queue.count()).toBe(MAX_BATCH_SIZE);
  });

  test.each([
    ['missing', {}, 'is required'],
    ['not an array', { batch: { type: 'track' } }, 'must be an array'],
    ['empty', { batch: [] }, 'must hold at least one message'],
  ])('refuses a batch that is %s', async (_what, body, message) => {
    const res = await batch(body);
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: 'batch', message }]);
  });
});
