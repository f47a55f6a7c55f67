import { HttpWebhookSender, RecordingWebhookSender } from '../../activities';
import type { WebhookRequest } from '../../activities/types';
import { WEBHOOK_FAILURES } from '../../activities/webhooks';
import { parseIntegrationsConfig } from '../../config/integrations';
import { activityHarness, closeAfterEach, failureOf, reply, startHttpServer } from './support';

let seq = 0;
function request(overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  seq += 1;
  return {
    journeyId: 'complaint-care',
    journeyVersion: 3,
    customerId: 'c-42',
    stepId: 'alert-supply',
    target: 'supply-chain',
    body: { sku: 'SOFA-9', reason: '质量问题', level: 'high', count: 2 },
    idempotencyKey: `complaint-care:c-42:alert-supply:${process.pid}-${seq}`,
    ...overrides,
  };
}

/** A sender whose `supply-chain` target points at `url`, configured as the config file would. */
function senderFor(url: string, extra: Record<string, unknown> = {}): HttpWebhookSender {
  const config = parseIntegrationsConfig({ webhooks: { 'supply-chain': { url, ...extra } } });
  return new HttpWebhookSender(config.webhooks);
}

describe('callWebhook over HTTP (HttpWebhookSender against a local server)', () => {
  const track = closeAfterEach();

  test('POSTs the envelope as JSON with Idempotency-Key, Content-Type, User-Agent and the configured headers', async () => {
    const server = track(await startHttpServer((res) => reply(res, 201, 'created')));
    const sender = senderFor(`${server.url}?token=s3cret`, { headers: { 'X-Team': 'supply' } });
    const req = request();

    const outcome = await sender.send(req);

    expect(outcome).toEqual({ status: 201, url: server.url }); // no query: it may hold a secret
    expect(server.requests).toHaveLength(1);
    const [seen] = server.requests;
    expect(seen!.method).toBe('POST');
    expect(seen!.query.get('token')).toBe('s3cret');
    expect(seen!.headers['content-type']).toBe('application/json');
    expect(seen!.headers['idempotency-key']).toBe(req.idempotencyKey);
    expect(seen!.headers['user-agent']).toBe('touchpoint');
    expect(seen!.headers['x-team']).toBe('supply');
    expect(JSON.parse(seen!.body)).toEqual({
      journeyId: 'complaint-care',
      journeyVersion: 3,
      customerId: 'c-42',
      stepId: 'alert-supply',
      idempotencyKey: req.idempotencyKey,
      data: { sku: 'SOFA-9', reason: '质量问题', level: 'high', count: 2 },
    });
  });

  test('the activity calls the configured sender (createActivities().callWebhook)', async () => {
    const server = track(await startHttpServer((res) => reply(res, 200)));
    const harness = track(await activityHarness({ webhooks: senderFor(server.url) }));
    await expect(harness.activities.callWebhook(request())).resolves.toEqual({
      status: 200,
      url: server.url,
    });
    expect(server.requests).toHaveLength(1);
  });

  test('a 5xx throws a retryable failure; the retry (a second call) succeeds with the same key and body', async () => {
    let calls = 0;
    const server = track(
      await startHttpServer((res) => {
        calls += 1;
        if (calls === 1) reply(res, 503, 'maintenance');
        else reply(res, 200, 'ok');
      }),
    );
    const sender = senderFor(server.url);
    const req = request();

    const failure = await failureOf(sender.send(req));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(WEBHOOK_FAILURES.unavailable);
    expect(failure.message).toBe('webhook target `supply-chain` answered 503: maintenance');

    await expect(sender.send(req)).resolves.toEqual({ status: 200, url: server.url });
    const [first, second] = server.requests;
    expect(second!.headers['idempotency-key']).toBe(first!.headers['idempotency-key']);
    expect(second!.body).toBe(first!.body);
  });

  test.each([408, 429, 500, 502])('%i is retryable', async (status) => {
    const server = track(await startHttpServer((res) => reply(res, status, 'later')));
    const failure = await failureOf(senderFor(server.url).send(request()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.details).toEqual([{ status, body: 'later' }]);
  });

  test('a 429 with Retry-After asks Temporal to wait that long before the next attempt', async () => {
    const server = track(
      await startHttpServer((res) => {
        res.writeHead(429, { 'retry-after': '30' });
        res.end('slow down');
      }),
    );
    const failure = await failureOf(senderFor(server.url).send(request()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(30_000);
  });

  test.each([400, 401, 404, 422])(
    '%i is non-retryable, with the status and an excerpt of the body',
    async (status) => {
      const long = `sku unknown: ${'x'.repeat(500)}`;
      const server = track(await startHttpServer((res) => reply(res, status, long)));
      const failure = await failureOf(senderFor(server.url).send(request()));
      expect(failure.nonRetryable).toBe(true);
      expect(failure.type).toBe(WEBHOOK_FAILURES.rejected);
      expect(failure.message).toContain(`answered ${status}: sku unknown: xxx`);
      expect(failure.message.length).toBeLessThan(300);
      expect(failure.details).toEqual([{ status, body: expect.stringMatching(/^sku unknown: x+…$/) }]);
    },
  );

  test('a redirect is not followed and is non-retryable', async () => {
    const server = track(
      await startHttpServer((res) => {
        res.writeHead(302, { location: '/elsewhere' });
        res.end();
      }),
    );
    const failure = await failureOf(senderFor(server.url).send(request()));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('answered 302');
    expect(server.requests).toHaveLength(1);
  });

  test('a receiver that never answers times out after the configured timeout: retryable', async () => {
    const server = track(
      await startHttpServer(() => {
        // never answers
      }),
    );
    const started = Date.now();
    const failure = await failureOf(senderFor(server.url, { timeout: 300 }).send(request()));
    const elapsed = Date.now() - started;
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/webhook target `supply-chain` unreachable: .*timeout/i);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(5000);
  });

  test('a refused connection is retryable and says why', async () => {
    const closed = await startHttpServer((res) => reply(res, 200));
    await closed.close();
    const failure = await failureOf(senderFor(closed.url).send(request()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('ECONNREFUSED');
  });

  test('header values take ${ENV} from the environment when the config is loaded', async () => {
    const server = track(await startHttpServer((res) => reply(res, 204)));
    process.env.TP_TEST_SUPPLY_TOKEN = 'tok-123';
    try {
      const sender = senderFor(server.url, { headers: { Authorization: 'Bearer ${TP_TEST_SUPPLY_TOKEN}' } });
      await sender.send(request());
    } finally {
      delete process.env.TP_TEST_SUPPLY_TOKEN;
    }
    expect(server.requests[0]!.headers.authorization).toBe('Bearer tok-123');
  });

  test('configured headers cannot replace the idempotency key, content type or user agent', async () => {
    const server = track(await startHttpServer((res) => reply(res, 200)));
    const sender = senderFor(server.url, {
      headers: { 'idempotency-key': 'mine', 'User-Agent': 'other', 'Content-Type': 'text/plain' },
    });
    const req = request();
    await sender.send(req);
    const [seen] = server.requests;
    expect(seen!.headers['idempotency-key']).toBe(req.idempotencyKey);
    expect(seen!.headers['user-agent']).toBe('touchpoint');
    expect(seen!.headers['content-type']).toBe('application/json');
  });

  test('an unknown target is non-retryable and names the configured ones', async () => {
    const failure = await failureOf(senderFor('http://127.0.0.1:9/hook').send(request({ target: 'crm' })));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(WEBHOOK_FAILURES.unknownTarget);
    expect(failure.message).toBe(
      "webhook target `crm` is not configured (the config file's `webhooks:` section has `supply-chain`)",
    );
    const none = await failureOf(new HttpWebhookSender().send(request()));
    expect(none.message).toContain('section has none');
  });

  test('a target named like an Object.prototype property is unknown too', async () => {
    const failure = await failureOf(new HttpWebhookSender({}).send(request({ target: 'constructor' })));
    expect(failure.type).toBe(WEBHOOK_FAILURES.unknownTarget);
  });

  test("a step's literal url is POSTed without extra headers", async () => {
    const server = track(await startHttpServer((res) => reply(res, 200)));
    const req = request({ target: undefined, url: server.url });
    await expect(new HttpWebhookSender().send(req)).resolves.toEqual({ status: 200, url: server.url });
    expect(server.requests[0]!.headers['idempotency-key']).toBe(req.idempotencyKey);
    const bad = await failureOf(new HttpWebhookSender().send(request({ target: undefined, url: 'ftp://x' })));
    expect(bad.nonRetryable).toBe(true);
  });

  test('targets() lists the configured names', () => {
    const config = parseIntegrationsConfig({
      webhooks: { b: { url: 'http://127.0.0.1/b' }, a: { url: 'http://127.0.0.1/a' } },
    });
    expect(new HttpWebhookSender(config.webhooks).targets()).toEqual(['a', 'b']);
  });
});

describe('RecordingWebhookSender (the simulator dry run)', () => {
  test('records what would be sent, with configured header values redacted, and sends nothing', async () => {
    const config = parseIntegrationsConfig({
      webhooks: {
        'supply-chain': { url: 'http://127.0.0.1:9/hook?key=k', headers: { Authorization: 'Bearer x' } },
      },
    });
    const sender = new RecordingWebhookSender({ targets: config.webhooks });
    const req = request();
    await expect(sender.send(req)).resolves.toEqual({ status: 200, url: 'http://127.0.0.1:9/hook' });
    expect(sender.calls).toEqual([
      {
        target: 'supply-chain',
        url: 'http://127.0.0.1:9/hook',
        headers: {
          Authorization: '<redacted>',
          'Content-Type': 'application/json',
          'Idempotency-Key': req.idempotencyKey,
          'User-Agent': 'touchpoint',
        },
        body: expect.objectContaining({ stepId: 'alert-supply', data: req.body }),
        status: 200,
      },
    ]);
    const failure = await failureOf(sender.send(request({ target: 'nope' })));
    expect(failure.type).toBe(WEBHOOK_FAILURES.unknownTarget);
  });

  test('without targets any name is accepted; `respond` plays a failing receiver', async () => {
    const sender = new RecordingWebhookSender({ respond: (call) => (call.target === 'down' ? 503 : 200) });
    await expect(sender.send(request({ target: 'anything' }))).resolves.toEqual({
      status: 200,
      url: 'webhook-target:anything',
    });
    const failure = await failureOf(sender.send(request({ target: 'down' })));
    expect(failure.nonRetryable).toBe(false);
    const rejecting = new RecordingWebhookSender({ respond: () => ({ status: 422, body: 'no' }) });
    expect((await failureOf(rejecting.send(request()))).nonRetryable).toBe(true);
    expect(sender.calls.map((c) => c.status)).toEqual([200, 503]);
  });
});
