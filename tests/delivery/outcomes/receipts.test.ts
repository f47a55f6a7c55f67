import request from 'supertest';
import type { DeliveryMessage } from '../../../delivery/message';
import { JourneyStats } from '../../../customers/journey-stats';
import { eventually } from '../../support/eventually';
import { sleep, testMessage } from '../support';
import { admin, Harness, write } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
  h.startWorkers();
});
afterEach(() => h.stop());

const receipt = (channel: string, body: object) =>
  request(h.app).post(`/v1/receipts/${channel}`).set('Authorization', write).send(body);

/** A message the sms worker has sent. */
async function sentMessage(): Promise<DeliveryMessage> {
  const message = testMessage();
  await h.send(message);
  await h.finished(message, 'completed');
  await eventually(async () =>
    (await h.eventsFor(message, 'message_sent')).length === 1 ? true : undefined,
  );
  return message;
}

test('a delivered receipt updates the touch and emits message_delivered, once', async () => {
  const message = await sentMessage();
  const at = '2024-05-01T20:00:00+08:00';
  const res = await receipt('sms', { idempotencyKey: message.idempotencyKey, status: 'delivered', at });
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ accepted: 1, idempotencyKey: message.idempotencyKey });
  expect(await h.touch(message)).toMatchObject({ status: 'delivered', deliveredAt: at });

  const [event] = await h.eventsFor(message, 'message_delivered');
  expect(event).toMatchObject({
    userId: message.customerId,
    messageId: `${message.idempotencyKey}#delivered`,
    timestamp: '2024-05-01T12:00:00.000Z',
    properties: { stepId: message.stepId, channel: 'sms', idempotencyKey: message.idempotencyKey },
  });

  // The gateway repeats itself: accepted, nothing new.
  expect((await receipt('sms', { idempotencyKey: message.idempotencyKey, status: 'delivered' })).status).toBe(
    202,
  );
  expect(await h.eventsFor(message, 'message_delivered')).toHaveLength(1);
  expect((await h.touch(message)).deliveredAt).toBe(at);
});

test('opens and clicks: one event each per message, every one counted; the status never goes back', async () => {
  const message = await sentMessage();
  for (const status of ['opened', 'clicked', 'opened', 'clicked', 'delivered'])
    expect((await receipt('sms', { idempotencyKey: message.idempotencyKey, status })).status).toBe(202);

  expect(await h.touch(message)).toMatchObject({ status: 'clicked', opens: '2', clicks: '2' });
  const names = (await h.eventsFor(message)).map((e) => e.event).sort();
  expect(names).toEqual(['message_clicked', 'message_delivered', 'message_opened', 'message_sent']);
  const stats = await new JourneyStats(h.redis, h.keys).get(message.journeyId, message.journeyVersion);
  expect(stats).toMatchObject({
    [`step:${message.stepId}:opened`]: 1,
    [`step:${message.stepId}:opens`]: 2,
    [`step:${message.stepId}:clicked`]: 1,
    [`step:${message.stepId}:clicks`]: 2,
    [`step:${message.stepId}:delivered`]: 1,
  });
});

test('a receipt may name the gateway’s message id instead', async () => {
  const message = await sentMessage();
  await h.touches.linkProviderMessage('sms', 'gw-123', message.idempotencyKey);

  const res = await receipt('sms', { providerMessageId: 'gw-123', status: 'failed', error: 'handset off' });
  expect(res.status).toBe(202);
  expect(await h.touch(message)).toMatchObject({
    status: 'failed',
    error: 'handset off',
    providerMessageId: 'gw-123',
  });
  const [event] = await h.eventsFor(message, 'message_failed');
  expect(event!.properties.error).toBe('handset off');

  expect((await receipt('email', { providerMessageId: 'gw-123', status: 'delivered' })).status).toBe(404);
  expect((await receipt('sms', { providerMessageId: 'gw-999', status: 'delivered' })).status).toBe(404);
});

test('a gateway’s own message id is remembered at send time, and a receipt can name it', async () => {
  // The sms gateway provider, configured to read the id from the answer, behind the real worker.
  await h.stopWorkers();
  h.useProvider('sms', {
    type: 'sms-gateway',
    url: h.webhook.url,
    body: { fields: { mobile: '{{to}}', content: '{{body}}' } },
    messageIdField: 'data.smsId',
  });
  h.startWorkers();
  h.okBody = JSON.stringify({ code: 'OK', data: { smsId: 'gw-77' } });
  const message = testMessage({ body: '回来看看 https://shop.example.com/c/8K2Q 退订回T' });
  await h.send(message);
  await h.finished(message, 'completed');

  // The gateway got the text with its link tracked.
  const sentText = JSON.parse(h.webhook.requests[0]!.body).content as string;
  expect(sentText).toMatch(/^回来看看 https:\/\/tp\.example\.com\/r\/[\w-]+\.[\w-]+ 退订回T$/);
  expect(await h.touch(message)).toMatchObject({ providerMessageId: 'gw-77' });

  expect((await receipt('sms', { providerMessageId: 'gw-77', status: 'delivered' })).status).toBe(202);
  expect((await h.touch(message)).status).toBe('delivered');
  expect(await h.eventsFor(message, 'message_delivered')).toHaveLength(1);
});

test('unknown messages, wrong channels, skipped touches and bad bodies are refused', async () => {
  const message = await sentMessage();
  expect((await receipt('sms', { idempotencyKey: 'no-such-key', status: 'delivered' })).status).toBe(404);
  expect(
    (await receipt('email', { idempotencyKey: message.idempotencyKey, status: 'delivered' })).status,
  ).toBe(404);
  expect((await receipt('fax', { idempotencyKey: message.idempotencyKey, status: 'delivered' })).status).toBe(
    404,
  );

  const skipped = testMessage();
  await h.touches.recordOnce(
    skipped.idempotencyKey,
    { ...skipped, status: 'skipped:no_consent', at: skipped.queuedAt },
    'step:x:skipped',
  );
  expect((await receipt('sms', { idempotencyKey: skipped.idempotencyKey, status: 'delivered' })).status).toBe(
    404,
  );

  const bad = await receipt('sms', { status: 'bounced', at: 'yesterday', url: 'javascript:alert(1)' });
  expect(bad.status).toBe(400);
  expect(bad.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['at', 'status', 'url']);
  const both = await receipt('sms', { idempotencyKey: 'a', providerMessageId: 'b', status: 'delivered' });
  expect(both.body.issues).toEqual([
    { path: 'idempotencyKey', message: 'give exactly one of idempotencyKey and providerMessageId' },
  ]);

  await sleep(100);
  expect((await h.touch(message)).status).toBe('sent');
});

test('receipts take the write key (or the admin key), nothing else', async () => {
  const message = await sentMessage();
  const body = { idempotencyKey: message.idempotencyKey, status: 'delivered' };
  expect((await request(h.app).post('/v1/receipts/sms').send(body)).status).toBe(401);
  expect(
    (await request(h.app).post('/v1/receipts/sms').set('Authorization', 'Bearer nope').send(body)).status,
  ).toBe(401);
  expect((await request(h.app).post('/v1/receipts/sms').set('Authorization', admin).send(body)).status).toBe(
    202,
  );
});
