import { Queue } from 'bullmq';
import { createRouterWorker } from '../../router/worker';
import { EVENTS_QUEUE, eventJobId, type IngestEvent } from '../../queues/events';
import { journeyWorkflowId, type JourneyResult } from '../../workflows/definitions';
import { eventually, startEngine } from '../support/engine';
import { uniquePrefix } from '../support/redis';
import { useTimeSkippingEnv } from '../support/time-skipping';
import pino from 'pino';

const TRAITS = {
  name: 'Chen',
  phone: '+8613900139000',
  email: 'chen@example.com',
  wecomExternalUserId: 'wm-2',
};

describe('nothing is sent twice', () => {
  const setup = useTimeSkippingEnv();

  test('a send activity that dies after queueing is retried without a second message', async () => {
    const crashed = new Set<string>();
    const engine = await startEngine({
      client: setup.env.client,
      nativeConnection: setup.env.nativeConnection,
      // The real activity runs, then the attempt "crashes" before reporting back, once per step.
      wrapActivities: (real) => ({
        ...real,
        async sendMessage(request) {
          const outcome = await real.sendMessage(request);
          if (!crashed.has(request.idempotencyKey)) {
            crashed.add(request.idempotencyKey);
            throw new Error('worker lost after queueing the message');
          }
          return outcome;
        },
      }),
    });
    try {
      await engine.identify('idem-retry', TRAITS);
      await engine.track('idem-retry', 'segment_entered', { segment: 'dormant' });
      const handle = setup.env.client.workflow.getHandle(
        journeyWorkflowId('dormant-reactivation', 'idem-retry'),
      );
      const result: JourneyResult = await handle.result();
      expect(result.status).toBe('completed');
      expect(crashed.size).toBe(3); // sms, wecom, email: each attempted twice

      for (const channel of ['sms', 'wecom', 'email']) {
        const lines = await eventually(async () => {
          const found = await engine.outbox(channel);
          return found.length ? found : undefined;
        });
        await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up, if any
        expect(await engine.outbox(channel)).toHaveLength(1);
        expect(lines[0]!.customerId).toBe('idem-retry');
      }
      const stats = await engine.stats.get('dormant-reactivation', 1);
      expect(stats).toMatchObject({
        'step:offer-sms:sent': 1,
        'step:group-buy-invite:sent': 1,
        'step:last-chance-email:sent': 1,
      });
    } finally {
      await engine.stop();
    }
  });

  test('a replayed event (same messageId) after its run ended starts nothing and sends nothing', async () => {
    const engine = await startEngine({
      client: setup.env.client,
      nativeConnection: setup.env.nativeConnection,
    });
    const bullPrefix = uniquePrefix('router');
    const queue = new Queue<IngestEvent>(EVENTS_QUEUE, { connection: engine.redis, prefix: bullPrefix });
    const router = createRouterWorker({
      connection: engine.redis,
      prefix: bullPrefix,
      redis: engine.redis,
      keys: engine.keys,
      temporal: setup.env.client,
      taskQueue: engine.taskQueue,
      profiles: engine.profiles,
      catalog: engine.catalog,
      admission: engine.admission,
      logger: pino({ level: 'silent' }),
    });
    try {
      await engine.profiles.merge('idem-replay', TRAITS);
      const event: IngestEvent = {
        type: 'track',
        userId: 'idem-replay',
        event: 'segment_entered',
        properties: { segment: 'dormant' },
        messageId: 'crm-export-line-42',
        timestamp: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
      };
      const first = await queue.add('event', event, { jobId: eventJobId(event.messageId) });
      await eventually(async () => ((await first.isCompleted()) ? true : undefined));
      const handle = setup.env.client.workflow.getHandle(
        journeyWorkflowId('dormant-reactivation', 'idem-replay'),
      );
      const { runId } = await handle.describe();
      await handle.result();

      // The job record is gone (as after its retention): the replay gets a fresh job.
      await first.remove();
      const replay = await queue.add('event', event, { jobId: eventJobId(event.messageId) });
      await eventually(async () => ((await replay.isCompleted()) ? true : undefined));
      expect(replay.id).toBe(first.id);
      expect(await queue.getJob(replay.id!).then((j) => j?.returnvalue)).toEqual({ duplicate: true });
      expect((await handle.describe()).runId).toBe(runId);
      expect(await engine.outbox('sms')).toHaveLength(1);
    } finally {
      await router.close();
      await queue.close();
      await engine.stop();
    }
  });

  test('a retried entry job whose first attempt started a run that has ended since enters nothing', async () => {
    // The drill found this: a worker killed after signalWithStart but before marking the event
    // processed; BullMQ retries the job after the run completed, which must not start a second run.
    const engine = await startEngine({
      client: setup.env.client,
      nativeConnection: setup.env.nativeConnection,
    });
    try {
      await engine.profiles.merge('idem-retried-entry', TRAITS);
      const first = await engine.track(
        'idem-retried-entry',
        'segment_entered',
        { segment: 'dormant' },
        'entry-1',
      );
      expect(first.entered).toEqual(['dormant-reactivation']);
      const handle = setup.env.client.workflow.getHandle(
        journeyWorkflowId('dormant-reactivation', 'idem-retried-entry'),
      );
      const { runId } = await handle.describe();
      await handle.result();

      const retried = await engine.track(
        'idem-retried-entry',
        'segment_entered',
        { segment: 'dormant' },
        'entry-1',
        true,
      );
      expect(retried.entered).toEqual([]);
      expect((await handle.describe()).runId).toBe(runId);
      // A new entry event (another messageId) does start a new run: re-entry after the end is allowed.
      const again = await engine.track(
        'idem-retried-entry',
        'segment_entered',
        { segment: 'dormant' },
        'entry-2',
        true,
      );
      expect(again.entered).toEqual(['dormant-reactivation']);
      expect((await handle.describe()).runId).not.toBe(runId);
    } finally {
      await engine.stop();
    }
  });
});
