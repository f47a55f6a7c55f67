import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpWebhookSender, type RecordingNotifySender } from '../../activities';
import { bucketOf, fnv1a, pickArm } from '../../workflows/buckets';
import { DAY, journey, trail, useWorkflowSuite } from './harness';

/** A receiver for webhook steps: answers by path (`/ok` 200, `/fail` 500, `/reject` 400). */
function receiver() {
  const calls: { path: string; headers: http.IncomingHttpHeaders; body: unknown }[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      calls.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text || 'null') });
      res.statusCode = req.url === '/ok' ? 200 : req.url === '/reject' ? 400 : 500;
      res.end(res.statusCode === 200 ? '{"ok":true}' : 'no');
    });
  });
  return {
    calls,
    listen: () => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
    url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('journey steps on the time-skipping server', () => {
  const suite = useWorkflowSuite({ webhooks: new HttpWebhookSender() });
  const { setup, start, send } = suite;
  const hook = receiver();
  beforeAll(() => hook.listen());
  afterAll(() => hook.close());

  test('tag, untag and setTrait write the profile, and later branches see the result', async () => {
    const j = journey('profile-steps', [
      { id: 'tag', type: 'tag', tags: ['vip', 'new'] },
      { id: 'untag', type: 'untag', tags: ['new'] },
      {
        id: 'set',
        type: 'setTrait',
        traits: { stage: 'newborn', size: { property: 'size' }, since: { now: '' }, gone: { trait: 'nope' } },
      },
      {
        id: 'check',
        type: 'branch',
        branches: [
          {
            when: { all: [{ tag: 'vip' }, { not: { tag: 'new' } }, { trait: 'stage', eq: 'newborn' }] },
            goto: 'yes',
          },
        ],
        else: 'no',
      },
      { id: 'no', type: 'exit' },
      { id: 'yes', type: 'exit' },
    ]);
    const run = await start(j, 'ps-1', {
      traits: { name: 'Li' },
      properties: { size: 'L' },
      clockStart: '2026-03-01T10:00:00+08:00',
    });
    const result = await run.handle.result();
    expect(result.status).toBe('completed');
    expect(trail(result)).toEqual(['tag:tagged', 'untag:untagged', 'set:set', 'check:branch:0', 'yes:exit']);
    const set = result.path[2]!;
    // `{ now: '' }` is the run's clock (the scenario's calendar), a missing trait leaves its key out.
    expect(set.detail).toEqual({ traits: { stage: 'newborn', size: 'L', since: set.at } });
    expect(set.at.startsWith('2026-03-01T02:00')).toBe(true);

    const profile = await setup.engine.profiles.getWithTags('ps-1');
    expect(profile).toMatchObject({ name: 'Li', stage: 'newborn', size: 'L', since: set.at, tags: ['vip'] });
    expect(profile).not.toHaveProperty('gone');
  });

  test('wait until a time of day uses the customer time zone and the run clock', async () => {
    const j = journey('wait-time', [
      { id: 'morning', type: 'wait', until: { time: '09:00' } },
      { id: 'monday', type: 'wait', until: { weekday: ['mon'], time: '10:00' } },
      { id: 'done', type: 'exit' },
    ]);
    // Sunday 2026-03-01, 10:00 in New York.
    const run = await start(j, 'wt-1', {
      traits: { timezone: 'America/New_York' },
      clockStart: '2026-03-01T10:00:00-05:00',
    });
    const result = await run.handle.result();
    expect(trail(result)).toEqual(['morning:waited', 'monday:waited', 'done:exit']);
    const [morning, monday, done] = result.path;
    expect(morning!.detail).toEqual({ wakeAt: '2026-03-02T14:00:00.000Z', timeZone: 'America/New_York' });
    // Monday 09:00 New York is when the second wait starts: 10:00 the same Monday is an hour on.
    expect(monday!.detail).toEqual({ wakeAt: '2026-03-02T15:00:00.000Z', timeZone: 'America/New_York' });
    const startedAfter = (entry: typeof done, wake: string) => Date.parse(entry!.at) - Date.parse(wake);
    expect(startedAfter(monday, '2026-03-02T14:00:00.000Z')).toBeGreaterThanOrEqual(0);
    expect(startedAfter(monday, '2026-03-02T14:00:00.000Z')).toBeLessThan(2000);
    expect(startedAfter(done, '2026-03-02T15:00:00.000Z')).toBeGreaterThanOrEqual(0);
    expect(startedAfter(done, '2026-03-02T15:00:00.000Z')).toBeLessThan(2000);
  });

  test('wait until a trait date with an offset; a missing trait takes onMissing', async () => {
    const j = journey('wait-trait', [
      {
        id: 'before-due',
        type: 'wait',
        until: { trait: 'dueDate', offsetMs: -30 * DAY, time: '10:00' },
        onMissing: 'ask',
      },
      { id: 'remind', type: 'exit' },
      { id: 'ask', type: 'exit' },
    ]);
    const clockStart = '2026-03-01T10:00:00+08:00';
    const known = await start(j, 'wtr-1', { traits: { dueDate: '2026-05-01' }, clockStart });
    const unknown = await start(j, 'wtr-2', { traits: { name: 'no due date' }, clockStart });

    const withDate = await known.handle.result();
    expect(trail(withDate)).toEqual(['before-due:waited', 'remind:exit']);
    // 30 days before 1 May is 1 April, at 10:00 Shanghai (the default zone).
    expect(withDate.path[0]!.detail).toEqual({
      wakeAt: '2026-04-01T02:00:00.000Z',
      timeZone: 'Asia/Shanghai',
    });
    expect(Date.parse(withDate.path[1]!.at) - Date.parse('2026-04-01T02:00:00.000Z')).toBeLessThan(2000);

    const without = await unknown.handle.result();
    expect(trail(without)).toEqual(['before-due:missing', 'ask:exit']);
    expect(without.path[0]!.detail).toEqual({ missing: 'dueDate' });
  });

  test('a wait until a moment already past ends at once', async () => {
    const j = journey('wait-past', [
      { id: 'past', type: 'wait', until: { at: '2026-02-01T10:00:00+08:00' } },
      { id: 'done', type: 'exit' },
    ]);
    const run = await start(j, 'wp-1', { clockStart: '2026-03-01T10:00:00+08:00' });
    const result = await run.handle.result();
    expect(trail(result)).toEqual(['past:waited', 'done:exit']);
    expect(Date.parse(result.path[1]!.at) - Date.parse(result.path[0]!.at)).toBeLessThan(1000);
  });

  test('split: each run takes the arm its own hash picks, keeps it on every visit, counted once', async () => {
    const arms = [
      { name: 'A', percent: 30, goto: 'a' },
      { name: 'B', percent: 70, goto: 'b' },
    ];
    const j = journey('split-ab', [
      { id: 'ab', type: 'split', arms },
      { id: 'a', type: 'goto', to: 'ab', maxIterations: 1, next: 'end' },
      { id: 'b', type: 'goto', to: 'ab', maxIterations: 1, next: 'end' },
      { id: 'end', type: 'exit' },
    ]);
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => start(j, `ab-${i}`)));
    const counts: Record<string, number> = {};
    for (const run of runs) {
      const result = await run.handle.result();
      const arm = pickArm(arms, bucketOf(`${run.runKey}/ab`));
      const leg = arm.goto;
      expect(trail(result)).toEqual([
        `ab:arm:${arm.name}`,
        `${leg}:goto:ab`,
        `ab:arm:${arm.name}`,
        `${leg}:guard`,
        'end:exit',
      ]);
      counts[`split:ab:${arm.name}`] = (counts[`split:ab:${arm.name}`] ?? 0) + 1;
    }
    const stats = await setup.engine.stats.get('split-ab', 1);
    expect(stats['split:ab:A'] ?? 0).toBe(counts['split:ab:A'] ?? 0);
    expect(stats['split:ab:B'] ?? 0).toBe(counts['split:ab:B'] ?? 0);
    expect((stats['split:ab:A'] ?? 0) + (stats['split:ab:B'] ?? 0)).toBe(10);
  });

  test('the split hash is FNV-1a and spreads runs by the percentages', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
    const arms = [
      { name: 'A', percent: 20, goto: 'a' },
      { name: 'B', percent: 30, goto: 'b' },
      { name: 'C', percent: 50, goto: 'c' },
    ];
    const tally: Record<string, number> = { A: 0, B: 0, C: 0 };
    for (let i = 0; i < 20_000; i++)
      tally[pickArm(arms, bucketOf(`journey:j:c${i}/run-${i * 7919}/ab`)).name]!++;
    expect(tally.A! / 20_000).toBeCloseTo(0.2, 1);
    expect(tally.B! / 20_000).toBeCloseTo(0.3, 1);
    expect(tally.C! / 20_000).toBeCloseTo(0.5, 1);
  });

  test('goto loops at most maxIterations times, then falls through to next', async () => {
    const j = journey('goto-guard', [
      { id: 'weekly', type: 'wait', durationMs: 7 * DAY },
      { id: 'again', type: 'goto', to: 'weekly', maxIterations: 3 },
      { id: 'end', type: 'exit' },
    ]);
    const run = await start(j, 'gg-1');
    const result = await run.handle.result();
    expect(trail(result)).toEqual([
      'weekly:waited',
      'again:goto:weekly',
      'weekly:waited',
      'again:goto:weekly',
      'weekly:waited',
      'again:goto:weekly',
      'weekly:waited',
      'again:guard',
      'end:exit',
    ]);
    expect(Date.parse(result.path[8]!.at) - Date.parse(result.path[0]!.at)).toBeGreaterThanOrEqual(28 * DAY);
  });

  test('webhook: the resolved body is POSTed once with the idempotency key', async () => {
    const j = journey('webhook-ok', [
      {
        id: 'alert',
        type: 'webhook',
        url: hook.url('/ok'),
        body: { sku: { property: 'sku' }, level: 'high', who: { trait: 'name' } },
        attempts: 3,
      },
      { id: 'end', type: 'exit' },
    ]);
    const run = await start(j, 'wh-1', { traits: { name: 'Li' }, properties: { sku: 'S-1' } });
    const result = await run.handle.result();
    expect(trail(result)).toEqual(['alert:sent', 'end:exit']);
    expect(result.path[0]!.detail).toMatchObject({
      status: 200,
      body: { sku: 'S-1', level: 'high', who: 'Li' },
    });
    const calls = hook.calls.filter((c) => (c.body as { customerId?: string }).customerId === 'wh-1');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers['idempotency-key']).toBe(`${run.runKey}/alert/0`);
    expect(calls[0]!.body).toMatchObject({
      journeyId: 'webhook-ok',
      stepId: 'alert',
      data: { sku: 'S-1', level: 'high', who: 'Li' },
    });
  });

  test('webhook: a failing receiver is tried `attempts` times, then onFailure; a 4xx is not retried', async () => {
    const j = (id: string, path: string) =>
      journey(id, [
        { id: 'alert', type: 'webhook', url: hook.url(path), body: { n: 1 }, attempts: 3, onFailure: 'flag' },
        { id: 'end', type: 'exit' },
        { id: 'flag', type: 'tag', tags: ['webhook-failed'] },
      ]);
    const failing = await start(j('webhook-500', '/fail'), 'wh-2');
    const rejected = await start(j('webhook-400', '/reject'), 'wh-3');

    const failed = await failing.handle.result();
    expect(trail(failed)).toEqual(['alert:failed', 'flag:tagged']);
    expect(failed.path[0]!.detail).toMatchObject({ attempts: 3, body: { n: 1 } });
    expect(String(failed.path[0]!.detail!.error)).toMatch(/500/);
    expect(hook.calls.filter((c) => (c.body as { customerId?: string }).customerId === 'wh-2')).toHaveLength(
      3,
    );
    expect(await setup.engine.profiles.getWithTags('wh-2')).toMatchObject({ tags: ['webhook-failed'] });

    const refused = await rejected.handle.result();
    expect(trail(refused)).toEqual(['alert:failed', 'flag:tagged']);
    expect(String(refused.path[0]!.detail!.error)).toMatch(/400/);
    expect(hook.calls.filter((c) => (c.body as { customerId?: string }).customerId === 'wh-3')).toHaveLength(
      1,
    );
  });

  test('notify renders the alert template with the event and sends it to the target once', async () => {
    const j = journey(
      'notify-staff',
      [
        { id: 'alert', type: 'notify', target: 'service-team', template: 'complaint-alert' },
        { id: 'end', type: 'exit' },
      ],
      { name: '差评挽回' },
    );
    const run = await start(j, 'nf-1', {
      traits: { name: '王芳' },
      properties: { orderId: 'O-42', content: '沙发有划痕' },
    });
    const result = await run.handle.result();
    expect(trail(result)).toEqual(['alert:sent', 'end:exit']);
    const detail = result.path[0]!.detail!;
    expect(detail).toMatchObject({ target: 'service-team', template: 'complaint-alert' });
    expect(detail.text).toEqual(expect.stringContaining('O-42'));
    const notifier = setup.engine.notifier as RecordingNotifySender;
    const sent = notifier.sent.filter((m) => m.customerId === 'nf-1');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      target: 'service-team',
      idempotencyKey: `${run.runKey}/alert/0`,
      text: detail.text,
    });
  });

  test('branch conditions see what the customer did in this run, and measure dates by the run clock', async () => {
    const j = journey('branch-context', [
      { id: 'offer', type: 'waitFor', event: 'go', timeoutMs: DAY },
      {
        id: 'check',
        type: 'branch',
        branches: [
          { when: { did: 'message_clicked' }, goto: 'clicked-elsewhere' },
          {
            when: {
              all: [
                { did: 'message_opened', step: 'offer' },
                { did: 'start', where: { property: 'channel', eq: 'app' } },
                { trait: 'lastOrderAt', before: '-90d' },
              ],
            },
            goto: 'lapsed-opener',
          },
        ],
        else: 'other',
      },
      { id: 'clicked-elsewhere', type: 'exit' },
      { id: 'lapsed-opener', type: 'exit' },
      { id: 'other', type: 'exit' },
    ]);
    const clockStart = '2026-03-01T10:00:00+08:00';
    // 90 days before the run's clock is 2025-12-01; before the real clock it is later than both.
    const lapsed = await start(j, 'bc-1', {
      traits: { lastOrderAt: '2025-10-01' },
      properties: { channel: 'app' },
      clockStart,
    });
    const recent = await start(j, 'bc-2', {
      traits: { lastOrderAt: '2026-01-15' },
      properties: { channel: 'app' },
      clockStart,
    });
    for (const run of [lapsed, recent]) {
      await send(run.handle, 'message_opened', { journeyId: 'branch-context', stepId: 'offer' });
      // A click on another journey's message is not something this run did.
      await send(run.handle, 'message_clicked', { journeyId: 'some-other-journey', stepId: 'offer' });
      await send(run.handle, 'go');
    }
    expect(trail(await lapsed.handle.result())).toEqual([
      'offer:event',
      'check:branch:1',
      'lapsed-opener:exit',
    ]);
    expect(trail(await recent.handle.result())).toEqual(['offer:event', 'check:else', 'other:exit']);
  });
});
