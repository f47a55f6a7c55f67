import request from 'supertest';
import { deliveryJobId } from '../../../delivery/message';
import { eventually } from '../../support/eventually';
import { sleep, testMessage } from '../support';
import { admin, Harness, write } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
  h.startWorkers();
});
afterEach(() => h.stop());

const list = (query = '') =>
  request(h.app).get(`/v1/deliveries/dead-letters${query}`).set('Authorization', admin);
const replay = (jobId: string, channel = 'sms') =>
  request(h.app)
    .post(`/v1/deliveries/dead-letters/${channel}/${jobId}/replay`)
    .set('Authorization', admin)
    .send({ reason: 'gateway fixed' });
const audited = async () => (await h.auditLog.list({})).entries;

test('a permanent failure is a dead letter at once: listed with its message, error and 1 attempt', async () => {
  h.status = 400;
  const message = testMessage({ to: '+8613800138000' });
  await h.send(message);
  await h.finished(message, 'failed');

  const res = await list();
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    deadLetters: [
      {
        channel: 'sms',
        jobId: deliveryJobId(message.idempotencyKey),
        idempotencyKey: message.idempotencyKey,
        journeyId: message.journeyId,
        journeyVersion: 1,
        stepId: message.stepId,
        customerId: message.customerId,
        template: message.template,
        to: '+86138****8000',
        error: expect.stringContaining('answered 400: gateway says no'),
        attempts: 1,
        failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ],
    nextCursor: null,
  });
  expect(h.webhook.requests).toHaveLength(1);
});

test('a message out of retries is a dead letter after its 3 attempts', async () => {
  h.status = 503;
  const message = testMessage();
  await h.send(message);
  await h.finished(message, 'failed');

  const { body } = await list('?channel=sms');
  expect(body.deadLetters).toHaveLength(1);
  expect(body.deadLetters[0]).toMatchObject({ attempts: 3, error: expect.stringContaining('answered 503') });
  expect(h.webhook.requests).toHaveLength(3);
  expect((await list('?channel=email')).body).toEqual({ deadLetters: [], nextCursor: null });
});

test('pages newest first; the cursor stays good while dead letters are replayed', async () => {
  h.status = 400;
  const messages = Array.from({ length: 5 }, () => testMessage());
  for (const m of messages) {
    await h.send(m);
    await h.finished(m, 'failed');
  }
  const first = await list('?limit=2');
  expect(first.body.deadLetters.map((d: { idempotencyKey: string }) => d.idempotencyKey)).toEqual([
    messages[4]!.idempotencyKey,
    messages[3]!.idempotencyKey,
  ]);
  expect(first.body.nextCursor).toEqual(expect.any(String));

  // Replaying (and so removing) one of the first page does not shift the next page.
  h.status = 200;
  expect((await replay(first.body.deadLetters[0].jobId)).status).toBe(202);
  const seen = first.body.deadLetters.map((d: { idempotencyKey: string }) => d.idempotencyKey);
  let cursor: string | null = first.body.nextCursor;
  while (cursor) {
    const page = await list(`?limit=2&cursor=${cursor}`);
    expect(page.status).toBe(200);
    seen.push(...page.body.deadLetters.map((d: { idempotencyKey: string }) => d.idempotencyKey));
    cursor = page.body.nextCursor;
  }
  expect(seen).toEqual(messages.map((m) => m.idempotencyKey).reverse());

  const bad = await list('?limit=0&cursor=nonsense');
  expect(bad.status).toBe(400);
  expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(['limit']);
  expect((await list('?cursor=nonsense')).body.issues).toEqual([
    { path: 'cursor', message: 'cursor is not one this API handed out' },
  ]);
});

test('replay sends the message once more, exactly once; the touch goes failed → sent', async () => {
  h.status = 400;
  const message = testMessage();
  await h.send(message);
  const { job } = await h.finished(message, 'failed');
  expect((await h.touch(message)).status).toBe('failed');

  h.status = 200;
  const noReason = await request(h.app)
    .post(`/v1/deliveries/dead-letters/sms/${job.id}/replay`)
    .set('Authorization', admin);
  expect(noReason.status).toBe(400);
  expect(noReason.body.issues).toEqual([
    { path: 'reason', message: 'is required: say why it is sent again' },
  ]);
  expect(await audited()).toEqual([]);
  const res = await replay(job.id!);
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ channel: 'sms', jobId: job.id, replayed: 1 });
  expect(await audited()).toEqual([
    expect.objectContaining({
      seq: 1,
      actor: { name: 'admin', keyId: 'bootstrap-admin', role: 'admin' },
      action: 'dead-letter.replay',
      target: `dead-letter:sms/${job.id}`,
      reason: 'gateway fixed',
      from: expect.objectContaining({ via: 'api' }),
    }),
  ]);
  const done = await h.finished(message, 'completed');
  expect(done.job.returnvalue).toBe('sent');

  await sleep(200); // room for a duplicate, if any
  expect(h.webhook.requests).toHaveLength(2); // the refused one and the replay
  const touch = await h.touch(message);
  expect(touch).toMatchObject({ status: 'sent', replays: '1' });
  expect(touch.error).toBeUndefined();
  expect((await list()).body.deadLetters).toEqual([]);
  // The replay is a dead letter no more: replaying again is refused, and nothing is sent.
  expect((await replay(job.id!)).status).toBe(409);
  expect((await replay('touch-unknown')).status).toBe(404);
  expect(h.webhook.requests).toHaveLength(2);
  // Refused replays are not in the audit log.
  expect(await audited()).toHaveLength(1);
});

test('replay of a message that did go out (marker `sent`) completes as already sent, sending nothing', async () => {
  h.status = 503;
  const message = testMessage();
  await h.send(message);
  const { job } = await h.finished(message, 'failed');
  // The gateway did take it after all: the attempt that marked it sent died before its job did.
  await h.redis.set(h.keys.delivery(message.idempotencyKey), 'sent');
  const before = h.webhook.requests.length;

  h.status = 200;
  expect((await replay(job.id!)).status).toBe(202);
  const done = await h.finished(message, 'completed');
  expect(done.job.returnvalue).toBe('already-sent');
  await sleep(200);
  expect(h.webhook.requests).toHaveLength(before);
  expect((await h.touch(message)).status).toBe('sent');
});

test('two replays at once: one is taken, the other refused, and the message goes out once', async () => {
  h.status = 400;
  const message = testMessage();
  await h.send(message);
  const { job } = await h.finished(message, 'failed');

  h.status = 200;
  const answers = await Promise.all([replay(job.id!), replay(job.id!)]);
  expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
  expect(await audited()).toHaveLength(1);
  await h.finished(message, 'completed');
  await sleep(200);
  expect(h.webhook.requests).toHaveLength(2);
});

test('bulk replay puts back every dead letter of a channel', async () => {
  h.status = 400;
  const messages = Array.from({ length: 4 }, () => testMessage());
  for (const m of messages) await h.send(m);
  for (const m of messages) await h.finished(m, 'failed');

  h.status = 200;
  const res = await request(h.app)
    .post('/v1/deliveries/dead-letters/sms/replay?reason=provider%20outage%20over')
    .set('Authorization', admin);
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ channel: 'sms', replayed: 4 });
  expect(await audited()).toEqual([
    expect.objectContaining({
      action: 'dead-letter.replay',
      target: 'dead-letters:sms',
      reason: 'provider outage over',
      detail: { replayed: 4 },
    }),
  ]);
  for (const m of messages) await h.finished(m, 'completed');
  await sleep(200);
  expect(h.webhook.requests).toHaveLength(8);
  expect((await list()).body.deadLetters).toEqual([]);
  expect(
    (
      await request(h.app)
        .post('/v1/deliveries/dead-letters/fax/replay')
        .set('Authorization', admin)
        .send({ reason: 'x' })
    ).status,
  ).toBe(404);
  expect(await audited()).toHaveLength(1);
});

test('discard needs a reason, removes the dead letter and logs the reason', async () => {
  h.status = 400;
  const message = testMessage();
  await h.send(message);
  const { job } = await h.finished(message, 'failed');
  const discard = () =>
    request(h.app).delete(`/v1/deliveries/dead-letters/sms/${job.id}`).set('Authorization', admin);

  const noReason = await discard();
  expect(noReason.status).toBe(400);
  expect(noReason.body.issues[0].path).toBe('reason');
  expect(await audited()).toEqual([]);

  const res = await discard().send({ reason: 'number no longer in service' });
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    channel: 'sms',
    jobId: job.id,
    discarded: 1,
    reason: 'number no longer in service',
  });
  expect((await list()).body.deadLetters).toEqual([]);
  expect(await h.touch(message)).toMatchObject({
    status: 'failed',
    discardReason: 'number no longer in service',
  });
  const logged = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'dead letter discarded');
  expect(logged).toMatchObject({ jobId: job.id, reason: 'number no longer in service' });

  expect((await discard().query({ reason: 'again' })).status).toBe(404);
  expect(await audited()).toEqual([
    expect.objectContaining({
      action: 'dead-letter.discard',
      target: `dead-letter:sms/${job.id}`,
      reason: 'number no longer in service',
    }),
  ]);
  expect((await h.auditLog.verify()).ok).toBe(true);
});

test('the dead-letter routes need a key whose role reads runs: 401 without one, 403 for the write key', async () => {
  expect((await request(h.app).get('/v1/deliveries/dead-letters')).status).toBe(401);
  expect((await request(h.app).get('/v1/deliveries/dead-letters').set('Authorization', write)).status).toBe(
    403,
  );
});

test('the audit lists a customer’s touches with their outcomes, the address masked', async () => {
  const message = testMessage({ to: '+8613800138000' });
  await h.send(message);
  await h.finished(message, 'completed');
  await eventually(async () => ((await h.touch(message)).status === 'sent' ? true : undefined));

  const res = await request(h.app)
    .get(`/v1/deliveries/customers/${message.customerId}/touches`)
    .set('Authorization', admin);
  expect(res.status).toBe(200);
  expect(res.body.touches).toEqual([
    expect.objectContaining({
      idempotencyKey: message.idempotencyKey,
      status: 'sent',
      to: '+86138****8000',
      sentAt: expect.any(String),
      opens: 0,
      clicks: 0,
      replays: 0,
    }),
  ]);
  expect(JSON.stringify(res.body)).not.toContain(message.body);
});
