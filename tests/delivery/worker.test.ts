import type { ChannelConfig } from '../../delivery/channel-config';
import type { DeliveryMessage } from '../../delivery/message';
import { eventually } from '../support/eventually';
import { DeliveryHarness } from './harness';
import { reply, sleep, startHttpServer, testMessage, type TestHttpServer } from './support';

describe('delivery worker, end to end against a local webhook', () => {
  let h: DeliveryHarness;
  let server: TestHttpServer | undefined;

  beforeEach(async () => {
    h = await DeliveryHarness.start('dw');
  });
  afterEach(async () => {
    await h.close();
    await server?.close();
    server = undefined;
  });

  /** Workers for every channel, sms going to the local webhook with `overrides`. */
  function startWorkers(webhookUrl: string, overrides: Partial<ChannelConfig> = {}): void {
    h.useProvider('sms', { type: 'webhook', url: webhookUrl, timeoutMs: 2000 }, overrides);
    h.startWorkers();
  }

  async function touchStatus(message: DeliveryMessage, status: string) {
    return eventually(
      async () => {
        const touch = await h.redis.hgetall(h.keys.touch(message.idempotencyKey));
        return touch.status === status ? touch : undefined;
      },
      10_000,
      `touch status ${status}`,
    );
  }

  test('two 503s then a 200: delivered exactly once, touch `sent`', async () => {
    server = await startHttpServer((res) =>
      server!.requests.length <= 2 ? reply(res, 503, 'busy') : reply(res, 200),
    );
    startWorkers(server.url);
    const message = testMessage();
    await h.send(message);

    const { job, state } = await h.finished(message);
    expect(state).toBe('completed');
    expect(job.returnvalue).toBe('sent');
    expect(job.attemptsMade).toBe(3);
    await sleep(200); // room for a duplicate, if any
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((r) => r.headers['idempotency-key']))).toEqual(
      new Set([message.idempotencyKey]),
    );
    const touch = await touchStatus(message, 'sent');
    expect(touch.error).toBeUndefined();
    expect(await h.redis.get(h.keys.delivery(message.idempotencyKey))).toBe('sent');
  });

  test('a 400 fails the job at once, without retries; touch `failed` with the error', async () => {
    server = await startHttpServer((res) => reply(res, 400, 'invalid phone number'));
    startWorkers(server.url);
    const message = testMessage();
    await h.send(message);

    const { job, state } = await h.finished(message);
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    const touch = await touchStatus(message, 'failed');
    expect(touch.error).toContain('answered 400: invalid phone number');
    await sleep(300); // several backoff delays: a retry would have come by now
    expect(server.requests).toHaveLength(1);
  });

  test('5xx until the attempts run out: job failed after 3 requests, touch `failed`', async () => {
    server = await startHttpServer((res) => reply(res, 503, 'down for maintenance'));
    startWorkers(server.url);
    const message = testMessage();
    await h.send(message);

    const { job, state } = await h.finished(message);
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(3);
    const touch = await touchStatus(message, 'failed');
    expect(touch.error).toContain('answered 503: down for maintenance');
    expect(server.requests).toHaveLength(3);
  });

  test('a rate limit of 5 per second spreads 15 messages over at least ~2 s', async () => {
    server = await startHttpServer((res) => reply(res, 200));
    startWorkers(server.url, { rateLimit: { max: 5, perMs: 1000 }, concurrency: 5 });
    const messages = Array.from({ length: 15 }, () => testMessage());

    const started = Date.now();
    await Promise.all(messages.map((m) => h.send(m)));
    await eventually(
      async () => (server!.requests.length >= 15 ? true : undefined),
      10_000,
      '15 webhook calls',
    );
    const elapsed = Date.now() - started;

    // Three windows of five: the last five cannot start before ~2 s.
    expect(elapsed).toBeGreaterThanOrEqual(1800);
    expect(elapsed).toBeLessThan(6000);
    const arrivals = server.requests.map((r) => r.at).sort((a, b) => a - b);
    for (let i = 0; i + 5 < arrivals.length; i++)
      expect(arrivals[i + 5]! - arrivals[i]!).toBeGreaterThanOrEqual(800);
    await sleep(100);
    expect(server.requests).toHaveLength(15);
  });
});
