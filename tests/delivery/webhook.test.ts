import { PermanentDeliveryError } from '../../delivery/providers/provider';
import { WebhookProvider } from '../../delivery/providers/webhook';
import { reply, sendError, startHttpServer, testMessage, type TestHttpServer } from './support';

describe('WebhookProvider against a local HTTP server', () => {
  let server: TestHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('POSTs the message as JSON with its Idempotency-Key and the configured headers', async () => {
    server = await startHttpServer((res) => reply(res, 200, 'ok'));
    const provider = new WebhookProvider({ url: server.url, headers: { authorization: 'Bearer t0k3n' } });
    const message = testMessage({ subject: 'Hi', body: 'Ünïcode body "quoted"' });

    await provider.send(message);

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['idempotency-key']).toBe(message.idempotencyKey);
    expect(request!.headers.authorization).toBe('Bearer t0k3n');
    expect(JSON.parse(request!.body)).toEqual(message);
  });

  test.each([200, 201, 202, 204])('%i is a success', async (status) => {
    server = await startHttpServer((res) => reply(res, status));
    await expect(new WebhookProvider({ url: server.url }).send(testMessage())).resolves.toBeUndefined();
  });

  test.each([500, 503, 429, 408])('%i is a retryable error', async (status) => {
    server = await startHttpServer((res) => reply(res, status, 'try later'));
    const err = await sendError(new WebhookProvider({ url: server.url }));
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain(`answered ${status}: try later`);
  });

  test.each([400, 404, 422])('%i is a permanent error', async (status) => {
    server = await startHttpServer((res) => reply(res, status, 'bad phone number'));
    const err = await sendError(new WebhookProvider({ url: server.url }));
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain(`answered ${status}: bad phone number`);
  });

  test('a redirect is not followed (it would turn the POST into a GET) and is permanent', async () => {
    server = await startHttpServer((res, request) => {
      if (request.method === 'POST') {
        res.writeHead(302, { location: '/elsewhere' });
        res.end();
      } else reply(res, 200);
    });
    const err = await sendError(new WebhookProvider({ url: server.url }));
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('answered 302');
    expect(server.requests).toHaveLength(1);
  });

  test('a server that never answers times out with a retryable error', async () => {
    server = await startHttpServer(() => {
      // never answers
    });
    const started = Date.now();
    const err = await sendError(new WebhookProvider({ url: server.url, timeoutMs: 200 }));
    const elapsed = Date.now() - started;
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toMatch(/unreachable: .*timeout/i);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(2000);
  });

  test('a refused connection is a retryable error', async () => {
    // A port that was just free: nothing listens there any more.
    const closed = await startHttpServer((res) => reply(res, 200));
    await closed.close();
    const err = await sendError(new WebhookProvider({ url: closed.url, timeoutMs: 2000 }));
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('unreachable');
    expect(err.message).toContain('ECONNREFUSED');
  });
});
