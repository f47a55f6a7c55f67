import { HttpNotifySender, RecordingNotifySender } from '../../activities';
import { NOTIFY_FAILURES, truncateUtf8 } from '../../activities/notify';
import type { NotifyRequest } from '../../activities/types';
import { parseIntegrationsConfig } from '../../config/integrations';
import { activityHarness, closeAfterEach, failureOf, json, reply, startHttpServer } from './support';

const TEMPLATES = {
  'notify/complaint-alert.zh-CN.hbs':
    '---\nsubject: 投诉提醒\n---\n客户 {{customer.name}}（{{customer.id}}）投诉 {{event.sku}}：{{event.keyword}} <{{journey.name}}>\n标签：{{#each customer.tags}}{{this}} {{/each}}',
  'notify/complaint-alert.en.hbs': 'Complaint from {{customer.name}} about {{event.sku}}',
  'notify/long.en.hbs': '{{event.text}}',
};

let seq = 0;
function request(overrides: Partial<NotifyRequest> = {}): NotifyRequest {
  seq += 1;
  return {
    journeyId: 'complaint-care',
    journeyVersion: 2,
    journeyName: '投诉关怀',
    customerId: 'c-7',
    stepId: 'tell-service',
    target: 'service-team',
    template: 'complaint-alert',
    defaultLocale: 'zh-CN',
    event: {
      event: 'complaint_filed',
      properties: { sku: 'SOFA-9', keyword: '开裂' },
      messageId: 'm-1',
      timestamp: '2026-03-01T10:00:00.000Z',
    },
    idempotencyKey: `complaint-care:c-7:tell-service:${process.pid}-${seq}`,
    ...overrides,
  };
}

function robotSender(url: string, extra: Record<string, unknown> = {}): HttpNotifySender {
  const config = parseIntegrationsConfig({
    notify: { 'service-team': { type: 'wecom-robot', url, ...extra } },
  });
  return new HttpNotifySender(config.notify);
}

describe('notify to a WeCom group robot (local server playing qyapi)', () => {
  const track = closeAfterEach();

  test('renders templates/notify/<name>.<locale>.hbs like a send and POSTs a text message', async () => {
    const server = track(await startHttpServer((res) => json(res, 200, { errcode: 0, errmsg: 'ok' })));
    const notifier = robotSender(`${server.url}?key=robot-key`, { mentionedList: ['@all'] });
    const harness = track(await activityHarness({ templates: TEMPLATES, notifier }));
    await harness.profiles.merge('c-7', { name: '<李雷>', locale: 'en' });
    await harness.profiles.addTags('c-7', ['vip', 'complained']);

    const outcome = await harness.activities.notify(request());

    // Staff read alerts: the journey's default locale (zh-CN), not the customer's (en); no escaping.
    const text = '投诉提醒\n客户 <李雷>（c-7）投诉 SOFA-9：开裂 <投诉关怀>\n标签：complained vip';
    expect(outcome).toEqual({ status: 'sent', target: 'service-team', text });
    expect(server.requests).toHaveLength(1);
    const [seen] = server.requests;
    expect(seen!.query.get('key')).toBe('robot-key');
    expect(seen!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen!.body)).toEqual({
      msgtype: 'text',
      text: { content: text, mentioned_list: ['@all'] },
    });
  });

  test('a second call with the same idempotency key is a duplicate and sends nothing', async () => {
    const server = track(await startHttpServer((res) => json(res, 200, { errcode: 0, errmsg: 'ok' })));
    const harness = track(await activityHarness({ templates: TEMPLATES, notifier: robotSender(server.url) }));
    const req = request();

    const first = await harness.activities.notify(req);
    const second = await harness.activities.notify(req);
    const [third, fourth] = await Promise.all([
      harness.activities.notify(req),
      harness.activities.notify(request()), // another key: sent
    ]);

    expect(first.status).toBe('sent');
    expect(second).toEqual({ status: 'duplicate', target: 'service-team', text: first.text });
    expect(third.status).toBe('duplicate');
    expect(fourth.status).toBe('sent');
    expect(server.requests).toHaveLength(2);
  });

  test('a non-zero errcode is a non-retryable failure with the code and message', async () => {
    const server = track(
      await startHttpServer((res) => json(res, 200, { errcode: 93000, errmsg: 'invalid webhook url' })),
    );
    const harness = track(await activityHarness({ templates: TEMPLATES, notifier: robotSender(server.url) }));
    const failure = await failureOf(harness.activities.notify(request()));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(NOTIFY_FAILURES.rejected);
    expect(failure.message).toContain('WeCom errcode 93000 invalid webhook url');
  });

  test('errcode 45009 (rate limit) is retryable; the retry sends once the robot accepts', async () => {
    let calls = 0;
    const server = track(
      await startHttpServer((res) => {
        calls += 1;
        json(res, 200, calls === 1 ? { errcode: 45009, errmsg: 'api freq out of limit' } : { errcode: 0 });
      }),
    );
    const harness = track(await activityHarness({ templates: TEMPLATES, notifier: robotSender(server.url) }));
    const req = request();

    const failure = await failureOf(harness.activities.notify(req));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(NOTIFY_FAILURES.unavailable);
    // The failed attempt gave its claim back: the retry sends, and only then is it a duplicate.
    expect((await harness.activities.notify(req)).status).toBe('sent');
    expect((await harness.activities.notify(req)).status).toBe('duplicate');
    expect(server.requests).toHaveLength(2);
  });

  test('a 5xx is retryable, a 4xx and an answer without errcode are not', async () => {
    const statuses = [502, 404, 200];
    const server = track(
      await startHttpServer((res) => {
        const status = statuses.shift()!;
        reply(res, status, status === 200 ? '<html>proxy</html>' : 'nope');
      }),
    );
    const harness = track(await activityHarness({ templates: TEMPLATES, notifier: robotSender(server.url) }));
    expect((await failureOf(harness.activities.notify(request()))).nonRetryable).toBe(false);
    expect((await failureOf(harness.activities.notify(request()))).nonRetryable).toBe(true);
    const noCode = await failureOf(harness.activities.notify(request()));
    expect(noCode.nonRetryable).toBe(true);
    expect(noCode.message).toContain("is its url a group robot's webhook?");
  });

  test('a text over 2048 bytes is cut to fit, between characters', async () => {
    const server = track(await startHttpServer((res) => json(res, 200, { errcode: 0 })));
    const harness = track(await activityHarness({ templates: TEMPLATES, notifier: robotSender(server.url) }));
    const long = '投'.repeat(1000); // 3000 bytes
    await harness.activities.notify(
      request({
        template: 'long',
        defaultLocale: 'en',
        event: {
          event: 'x',
          properties: { text: long },
          messageId: 'm-2',
          timestamp: '2026-03-01T10:00:00.000Z',
        },
      }),
    );
    const content = JSON.parse(server.requests[0]!.body).text.content as string;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(2048);
    expect(content.endsWith('…')).toBe(true);
    expect(truncateUtf8('short', 2048)).toBe('short');
  });

  test('a timeout is retryable', async () => {
    const server = track(
      await startHttpServer(() => {
        // never answers
      }),
    );
    const notifier = robotSender(server.url, { timeout: 300 });
    const harness = track(await activityHarness({ templates: TEMPLATES, notifier }));
    const failure = await failureOf(harness.activities.notify(request()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/unreachable/);
  });
});

describe('notify to a webhook target, unknown targets and templates', () => {
  const track = closeAfterEach();

  test('POSTs {text, journeyId, customerId, stepId} with the Idempotency-Key', async () => {
    const server = track(await startHttpServer((res) => reply(res, 200)));
    const config = parseIntegrationsConfig({
      notify: { 'ops-hook': { type: 'webhook', url: server.url, headers: { 'X-Ops': '1' } } },
    });
    const harness = track(
      await activityHarness({ templates: TEMPLATES, notifier: new HttpNotifySender(config.notify) }),
    );
    const req = request({ target: 'ops-hook', defaultLocale: 'en' });
    const outcome = await harness.activities.notify(req);
    expect(outcome.text).toBe('Complaint from  about SOFA-9');
    const [seen] = server.requests;
    expect(seen!.headers['idempotency-key']).toBe(req.idempotencyKey);
    expect(seen!.headers['x-ops']).toBe('1');
    expect(JSON.parse(seen!.body)).toEqual({
      text: 'Complaint from  about SOFA-9',
      journeyId: 'complaint-care',
      customerId: 'c-7',
      stepId: 'tell-service',
    });
  });

  test('an unknown target is non-retryable, and a failed attempt leaves the key free', async () => {
    const harness = track(
      await activityHarness({ templates: TEMPLATES, notifier: new HttpNotifySender({}) }),
    );
    const req = request();
    const failure = await failureOf(harness.activities.notify(req));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(NOTIFY_FAILURES.unknownTarget);
    expect(failure.message).toContain('notify target `service-team` is not configured');
    expect(await harness.deps.stats.redis.exists(harness.keys.notified(req.idempotencyKey))).toBe(0);
  });

  test('a missing template is non-retryable', async () => {
    const harness = track(await activityHarness({ templates: TEMPLATES }));
    const failure = await failureOf(harness.activities.notify(request({ template: 'nope' })));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(NOTIFY_FAILURES.template);
    expect(failure.message).toContain('no template notify/nope');
  });

  test('another attempt holding the key makes this one retry later', async () => {
    const harness = track(await activityHarness({ templates: TEMPLATES }));
    const req = request();
    await harness.deps.stats.redis.set(
      harness.keys.notified(req.idempotencyKey),
      JSON.stringify({ state: 'sending', text: 'x', owner: 'other', at: new Date().toISOString() }),
    );
    const failure = await failureOf(harness.activities.notify(req));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(NOTIFY_FAILURES.inProgress);
  });

  test('RecordingNotifySender records the alert and what the target would receive', async () => {
    const config = parseIntegrationsConfig({
      notify: { 'service-team': { type: 'wecom-robot', url: 'https://qyapi.example/send?key=secret' } },
    });
    const notifier = new RecordingNotifySender({ targets: config.notify });
    const harness = track(await activityHarness({ templates: TEMPLATES, notifier }));
    const req = request({ defaultLocale: 'en' });
    await harness.activities.notify(req);
    expect(notifier.sent).toEqual([
      expect.objectContaining({
        target: 'service-team',
        type: 'wecom-robot',
        url: 'https://qyapi.example/send',
        text: 'Complaint from  about SOFA-9',
        idempotencyKey: req.idempotencyKey,
        body: { msgtype: 'text', text: { content: 'Complaint from  about SOFA-9' } },
      }),
    ]);
    const unknown = await failureOf(harness.activities.notify(request({ target: 'nobody' })));
    expect(unknown.type).toBe(NOTIFY_FAILURES.unknownTarget);
    // Without targets (no config file): any name, recorded as a webhook-style body.
    const lenient = new RecordingNotifySender();
    await lenient.send({ ...req, text: 'hi' });
    expect(lenient.sent[0]).toMatchObject({ target: 'service-team', body: { text: 'hi' } });
  });
});
