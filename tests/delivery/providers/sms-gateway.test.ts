import { createHash } from 'node:crypto';
import { PermanentDeliveryError } from '../../../delivery/providers/provider';
import { SmsGatewayProvider, type SmsGatewayOptions } from '../../../delivery/providers/sms-gateway';
import {
  closeAfterEach,
  json,
  reply,
  sendError,
  startHttpServer,
  testMessage,
  type TestHttpServer,
} from '../support';
import { queueOnce, queueTwiceThenAgain, startDeliveryHarness } from './harness';

/** A gateway in the common style: JSON in, `{"code": "0"}` out, error codes for the rest. */
function gateway(api: TestHttpServer, overrides: Partial<SmsGatewayOptions> = {}): SmsGatewayProvider {
  return new SmsGatewayProvider({
    url: `${api.baseUrl}/v1/sms/send`,
    body: { fields: { mobile: '{{to}}', content: '{{body}}', outId: '{{messageId}}' } },
    success: { field: 'code', equals: ['0'] },
    errorCodes: { permanent: ['1001', '1002', '1003'], retryable: ['9001'] },
    messageIdField: 'data.smsId',
    timeoutMs: 2000,
    ...overrides,
  });
}

describe('SmsGatewayProvider against a local gateway', () => {
  let api: TestHttpServer | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  test('renders the JSON body, headers, basic auth and Idempotency-Key; returns the gateway id', async () => {
    api = await startHttpServer((res) => json(res, 200, { code: '0', data: { smsId: 'gw-42' } }));
    const provider = gateway(api, {
      url: `${api.baseUrl}/v1/sms/send?sign={{template}}&to={{to}}`,
      headers: { 'X-Request-Id': '{{messageId}}', 'X-App': 'qimu' },
      auth: { type: 'basic', username: 'qimu', password: 's3cret' },
      body: {
        fields: {
          mobile: '{{toLocal}}',
          content: '{{body}}',
          meta: {
            journey: '{{journeyId}}',
            step: '{{stepId}}',
            priority: 1,
            flash: false,
            tags: ['{{locale}}'],
          },
        },
      },
    });
    const message = testMessage({ to: '+86 138-0013-8000', body: '【栖木】Ünïcode "quoted" & more' });

    expect(await provider.send(message)).toEqual({ providerMessageId: 'gw-42' });

    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    const messageId = createHash('sha256').update(message.idempotencyKey).digest('hex').slice(0, 32);
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/v1/sms/send');
    expect(request!.query.get('to')).toBe('+86 138-0013-8000'); // URL-encoded on the way, intact on arrival
    expect(request!.query.get('sign')).toBe('hello');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['idempotency-key']).toBe(message.idempotencyKey);
    expect(request!.headers['x-request-id']).toBe(messageId);
    expect(request!.headers['x-app']).toBe('qimu');
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from('qimu:s3cret').toString('base64')}`);
    expect(JSON.parse(request!.body)).toEqual({
      mobile: '13800138000',
      content: '【栖木】Ünïcode "quoted" & more',
      meta: { journey: 'welcome', step: 'hello-sms', priority: 1, flash: false, tags: ['en'] },
    });
  });

  test('form-encoded POST with a bearer token and a custom idempotency header', async () => {
    api = await startHttpServer((res) => json(res, 200, { code: 0 }));
    const provider = gateway(api, {
      auth: { type: 'bearer', token: 't0k3n' },
      idempotencyHeader: 'X-Dedupe-Key',
      body: { format: 'form', fields: { phone: '{{toDigits}}', text: '{{body}}', ts: '{{timestamp}}' } },
    });
    const message = testMessage({ to: '+15550001111', body: 'a&b=c d' });
    await provider.send(message);

    const [request] = api.requests;
    expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request!.headers.authorization).toBe('Bearer t0k3n');
    expect(request!.headers['x-dedupe-key']).toBe(message.idempotencyKey);
    expect(request!.headers['idempotency-key']).toBeUndefined();
    const form = new URLSearchParams(request!.body);
    expect(form.get('phone')).toBe('15550001111');
    expect(form.get('text')).toBe('a&b=c d');
    expect(Math.abs(Number(form.get('ts')) - Date.now() / 1000)).toBeLessThan(60);
  });

  test('GET puts the fields in the query string, and idempotencyHeader: false sends none', async () => {
    api = await startHttpServer((res) => reply(res, 200, 'OK'));
    const provider = new SmsGatewayProvider({
      url: `${api.baseUrl}/send.do?user=qimu`,
      method: 'GET',
      idempotencyHeader: false,
      body: { fields: { to: '{{to}}', msg: '{{body}}' } },
    });
    await provider.send(testMessage({ body: '你好 world' }));
    const [request] = api.requests;
    expect(request!.method).toBe('GET');
    expect(request!.body).toBe('');
    expect(request!.query.get('user')).toBe('qimu');
    expect(request!.query.get('msg')).toBe('你好 world');
    expect(request!.headers['idempotency-key']).toBeUndefined();
  });

  test('a custom success status range: 202 is success, 200 is not (and, outside the range, goes by status)', async () => {
    api = await startHttpServer((res) => reply(res, api!.requests.length === 1 ? 202 : 200, 'queued'));
    const provider = gateway(api, { success: { status: [202, 202] }, errorCodes: undefined });
    await expect(provider.send(testMessage())).resolves.toEqual({ providerMessageId: undefined });
    const err = await sendError(provider);
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('answered 200: queued');
  });

  test.each([
    ['1001', 'invalid number'],
    ['1002', 'blacklisted'],
    ['1003', 'content rejected'],
  ])('HTTP 200 with permanent code %s (%s) is permanent', async (code, meaning) => {
    api = await startHttpServer((res) => json(res, 200, { code, msg: meaning }));
    const err = await sendError(gateway(api));
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain(`answered 200 with code ${code}`);
    expect(err.message).toContain(meaning);
    expect(api.requests).toHaveLength(1);
  });

  test('a retryable code, and an unlisted code, are retryable; `otherwise: permanent` turns the unlisted one permanent', async () => {
    api = await startHttpServer((res, request) =>
      json(res, 200, { code: request.query.get('c'), msg: 'see code' }),
    );
    const at = (c: string, overrides: Partial<SmsGatewayOptions> = {}) =>
      gateway(api!, { url: `${api!.baseUrl}/send?c=${c}`, ...overrides });

    expect(await sendError(at('9001'))).not.toBeInstanceOf(PermanentDeliveryError);
    expect(await sendError(at('7777'))).not.toBeInstanceOf(PermanentDeliveryError);
    const strict = at('7777', { errorCodes: { permanent: ['1001'], otherwise: 'permanent' } });
    expect(await sendError(strict)).toBeInstanceOf(PermanentDeliveryError);
  });

  test.each([500, 502, 503, 429, 408])('HTTP %i is retryable', async (status) => {
    api = await startHttpServer((res) => reply(res, status, 'try later'));
    const err = await sendError(gateway(api));
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain(`answered ${status}: try later`);
  });

  test.each([400, 401, 404, 422])('HTTP %i is permanent', async (status) => {
    api = await startHttpServer((res) => reply(res, status, 'bad request'));
    expect(await sendError(gateway(api))).toBeInstanceOf(PermanentDeliveryError);
  });

  test('a listed code wins over the status: 400 with a retryable code is retried', async () => {
    api = await startHttpServer((res) => json(res, 400, { code: '9001', msg: 'throttled' }));
    const err = await sendError(gateway(api));
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('code 9001');
  });

  test('a redirect is not followed and is permanent', async () => {
    api = await startHttpServer((res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    expect(await sendError(gateway(api))).toBeInstanceOf(PermanentDeliveryError);
    expect(api.requests).toHaveLength(1);
  });

  test('a gateway that never answers times out with a retryable error', async () => {
    api = await startHttpServer(() => {
      // never answers
    });
    const started = Date.now();
    const err = await sendError(gateway(api, { timeoutMs: 200 }));
    const elapsed = Date.now() - started;
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toMatch(/sms gateway unreachable: .*timeout/i);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(3000);
  });

  test('a refused connection is retryable', async () => {
    const closed = await startHttpServer((res) => reply(res, 200));
    await closed.close();
    const err = await sendError(gateway(closed));
    expect(err).not.toBeInstanceOf(PermanentDeliveryError);
    expect(err.message).toContain('ECONNREFUSED');
  });

  test('a header that would carry a line break is refused before anything is sent', async () => {
    api = await startHttpServer((res) => json(res, 200, { code: '0' }));
    const provider = gateway(api, { headers: { 'X-Preview': '{{body}}' } });
    const err = await sendError(provider, testMessage({ body: 'line one\nline two' }));
    expect(err).toBeInstanceOf(PermanentDeliveryError);
    expect(api.requests).toHaveLength(0);
  });
});

/** The delivery workers with the sms channel on the gateway at `api`, code 0 meaning sent. */
function startGatewayHarness(
  api: TestHttpServer,
  options: { timeoutMs?: number; errorCodes?: { permanent: string[] } },
) {
  return startDeliveryHarness('sms', {
    type: 'sms-gateway',
    url: `${api.baseUrl}/v1/sms/send`,
    body: { fields: { mobile: '{{to}}', content: '{{body}}' } },
    success: { field: 'code', equals: ['0'] },
    ...options,
  });
}

describe('sms-gateway through the delivery worker', () => {
  const closeAfterTest = closeAfterEach();

  test('a 503 then code 0: one message at the gateway per key, even queued again after it was sent', async () => {
    const api: TestHttpServer = closeAfterTest(
      await startHttpServer((res) =>
        api.requests.length === 1 ? reply(res, 503, 'busy') : json(res, 200, { code: '0' }),
      ),
    );
    const harness = closeAfterTest(await startGatewayHarness(api, { timeoutMs: 2000 }));
    const message = testMessage();
    const { first, again } = await queueTwiceThenAgain(harness, message, {
      ...message,
      body: 'a retried activity re-queueing',
    });
    expect(first.state).toBe('completed');
    expect(first.job.returnvalue).toBe('sent');
    expect(first.job.attemptsMade).toBe(2);
    expect(again.job.returnvalue).toBe('already-sent');
    expect(api.requests).toHaveLength(2); // the 503 and the one accepted send
    expect(new Set(api.requests.map((r) => r.headers['idempotency-key']))).toEqual(
      new Set([message.idempotencyKey]),
    );
    expect(JSON.parse(api.requests[1]!.body).content).toBe(message.body);
  });

  test('an invalid-number code fails the job at once; touch `failed` with the reason', async () => {
    const api = closeAfterTest(
      await startHttpServer((res) => json(res, 200, { code: '1001', msg: 'invalid mobile number' })),
    );
    const harness = closeAfterTest(await startGatewayHarness(api, { errorCodes: { permanent: ['1001'] } }));
    const { job, state, touchError } = await queueOnce(harness, testMessage());
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(touchError).toContain('invalid mobile number');
    expect(api.requests).toHaveLength(1);
  });
});
