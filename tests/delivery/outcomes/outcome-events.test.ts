import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deliveryJobId } from '../../../delivery/message';
import { outcomeEvent } from '../../../delivery/outcomes';
import { matchesEvent } from '../../../language/conditions';
import { checkJourney } from '../../../language/load';
import { customerIdOf } from '../../../router/route-event';
import { eventually } from '../../support/eventually';
import { sleep, testMessage } from '../support';
import { Harness } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await Harness.start();
  h.startWorkers();
});
afterEach(() => h.stop());

async function oneEvent(message: ReturnType<typeof testMessage>, name: string) {
  return eventually(async () => (await h.eventsFor(message, name))[0], 10_000, `${name} event`);
}

test('a sent message comes back as one message_sent event, also when the send took retries', async () => {
  h.failFirst = 2;
  const message = testMessage();
  await h.send(message);
  const { job } = await h.finished(message, 'completed');
  expect(job.attemptsMade).toBe(3);

  const event = await oneEvent(message, 'message_sent');
  expect(event).toMatchObject({
    type: 'track',
    userId: message.customerId,
    event: 'message_sent',
    messageId: `${message.idempotencyKey}#sent`,
    properties: {
      journeyId: message.journeyId,
      journeyVersion: 1,
      stepId: message.stepId,
      channel: 'sms',
      template: message.template,
      idempotencyKey: message.idempotencyKey,
    },
  });
  await sleep(200);
  expect(await h.eventsFor(message)).toHaveLength(1);
});

test('the same message delivered again (job added anew) sends nothing and adds no event', async () => {
  const message = testMessage();
  await h.send(message);
  const { job } = await h.finished(message, 'completed');
  await oneEvent(message, 'message_sent');

  // The completed job is cleaned up and the activity re-queues the message: already sent.
  await job.remove();
  await h.send(message);
  const again = await h.finished(message, 'completed');
  expect(again.job.returnvalue).toBe('already-sent');
  await sleep(200);
  expect(h.webhook.requests).toHaveLength(1);
  expect(await h.eventsFor(message)).toHaveLength(1);
});

test('a permanent failure comes back as one message_failed event with the error', async () => {
  h.status = 400;
  const message = testMessage();
  await h.send(message);
  await h.finished(message, 'failed');

  const event = await oneEvent(message, 'message_failed');
  expect(event.messageId).toBe(`${message.idempotencyKey}#failed`);
  expect(event.properties).toMatchObject({
    stepId: message.stepId,
    error: expect.stringContaining('answered 400'),
  });
  expect(await h.touch(message)).toMatchObject({ status: 'failed', failedAt: expect.any(String) });
  await sleep(200);
  expect(await h.eventsFor(message)).toHaveLength(1);
});

test('exhausted retries: one message_failed event after the last attempt, none per attempt', async () => {
  h.status = 503;
  const message = testMessage();
  await h.send(message);
  const { job } = await h.finished(message, 'failed');
  expect(job.attemptsMade).toBe(3);

  await oneEvent(message, 'message_failed');
  await sleep(200);
  expect(await h.eventsFor(message)).toHaveLength(1);
  expect(h.webhook.requests).toHaveLength(3);
});

test('a failure replayed into a send: message_failed then message_sent, one of each', async () => {
  h.status = 400;
  const message = testMessage();
  await h.send(message);
  await h.finished(message, 'failed');
  h.status = 200;
  expect(await h.deadLetters.replay('sms', deliveryJobId(message.idempotencyKey))).toBe('done');
  await h.finished(message, 'completed');

  await oneEvent(message, 'message_sent');
  expect((await h.eventsFor(message)).map((e) => e.event).sort()).toEqual(['message_failed', 'message_sent']);
});

test('an anonymous customer gets the event under the same id the router uses', async () => {
  const message = testMessage({ customerId: 'anon:device-42' });
  await h.send(message);
  const event = await oneEvent(message, 'message_sent');
  expect(event.userId).toBeUndefined();
  expect(event.anonymousId).toBe('device-42');
  expect(customerIdOf(event)).toBe('anon:device-42');
});

test('the properties carry what a waitFor `where` needs to pick its own message', () => {
  const message = testMessage({ journeyId: 'dormant-reactivation', stepId: 'last-chance-email' });
  const clicked = outcomeEvent(message, 'clicked', { url: 'https://shop.example.com/sale' });
  const where = {
    all: [
      { property: 'journeyId', eq: 'dormant-reactivation' },
      { property: 'stepId', eq: 'last-chance-email' },
    ],
  };
  expect(clicked.event).toBe('message_clicked');
  expect(matchesEvent({ event: 'message_clicked', where }, clicked)).toBe(true);
  const other = outcomeEvent({ ...message, stepId: 'coupon-sms' }, 'clicked', {});
  expect(matchesEvent({ event: 'message_clicked', where }, other)).toBe(false);
});

test('the waitFor example of docs/deliveries.md loads and hears its own message’s click only', () => {
  const doc = readFileSync(path.join(__dirname, '../../../docs/deliveries.md'), 'utf8');
  const example = /### Branching on outcomes[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
  const text = [
    'id: dormant-reactivation',
    'name: Example',
    'version: 1',
    'entry: { event: segment_entered }',
    example,
    '  - { id: thank-you, type: exit }',
    '  - { id: sms-nudge, type: exit }',
  ].join('\n');
  const { journey, issues } = checkJourney(text, 'docs/deliveries.md');
  expect(issues).toEqual([]);
  const waitFor = journey!.steps.find((s) => s.type === 'waitFor')!;
  if (waitFor.type !== 'waitFor') throw new Error('no waitFor step');

  const message = testMessage({
    journeyId: 'dormant-reactivation',
    stepId: 'last-chance-email',
    channel: 'email',
  });
  const click = outcomeEvent(message, 'clicked', { url: 'https://qimu.example.com/new' });
  expect(matchesEvent(waitFor, click)).toBe(true);
  expect(matchesEvent(waitFor, outcomeEvent({ ...message, journeyId: 'browse-intent' }, 'clicked', {}))).toBe(
    false,
  );
  expect(matchesEvent(waitFor, outcomeEvent(message, 'opened', {}))).toBe(false);
});
