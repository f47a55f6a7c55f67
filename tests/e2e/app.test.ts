import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../config/settings';
import type { RunView } from '../../audit/runs';
import type { OutboxLine } from '../../delivery/providers/outbox';
import { freePort, isPidAlive } from '../../runtime/child-process';
import { AppProcess } from '../../scripts/lib/app-process';
import { eventually } from '../support/engine';

const WRITE_KEY = 'e2e-write-key';
const ADMIN_KEY = 'e2e-admin-key';
const TRAITS = { name: 'Zhou', locale: 'en', openId: 'o-zhou', pushToken: 'tok-zhou' };

/**
 * The real app as users run it: `node dist/main/index.js` with no TEMPORAL_ADDRESS or REDIS_URL,
 * so it starts its own Temporal dev server and redis-server under its data dir. Events go in
 * over HTTP; touches come out in the outbox.
 */
describe('Touchpoint end to end', () => {
  let app: AppProcess;

  beforeAll(async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tp-e2e-'));
    // Quiet hours off: the test must not depend on the time of day (tests/rules covers them).
    const config = path.join(dataDir, 'touchpoint.yaml');
    await writeFile(config, 'rules:\n  quietHours: false\n');
    app = new AppProcess(dataDir, await freePort(), {
      TOUCHPOINT_CONFIG: config,
      TOUCHPOINT_JOURNEYS_DIR: path.join(projectRoot, 'tests/fixtures/journeys'),
      TOUCHPOINT_WRITE_KEY: WRITE_KEY,
      TOUCHPOINT_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: 'warn',
    });
    await app.start();
  });
  afterAll(async () => {
    await app?.destroy();
  });

  const post = (route: string, body: unknown, key = WRITE_KEY) =>
    fetch(`${app.baseUrl}${route}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
      },
      body: JSON.stringify(body),
    });
  const outbox = async (channel: string, customerId: string): Promise<OutboxLine[]> => {
    const text = await readFile(path.join(app.dataDir, 'outbox', `${channel}.jsonl`), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as OutboxLine)
      .filter((l) => l.customerId === customerId);
  };
  const lines = (channel: string, customerId: string, count: number) =>
    eventually(
      async () => {
        const found = await outbox(channel, customerId);
        return found.length >= count ? found : undefined;
      },
      30_000,
      `${count} ${channel} line(s) for ${customerId}`,
    );
  const run = async (customerId: string): Promise<RunView | null> => {
    const res = await fetch(`${app.baseUrl}/v1/journeys/quick-browse/customers/${customerId}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    return res.status === 200 ? ((await res.json()) as RunView) : null;
  };
  const enter = async (customerId: string, messageId = `${customerId}-view`) => {
    const res = await post('/v1/batch', {
      batch: [
        { type: 'identify', userId: customerId, traits: TRAITS },
        {
          type: 'track',
          userId: customerId,
          event: 'content_viewed',
          messageId,
          properties: { category: 'living-room-decoration', title: 'Nordic living room' },
        },
      ],
    });
    expect(res.status).toBe(202);
  };

  test('health is ok once Temporal, Redis and the workers are ready', async () => {
    const res = await fetch(`${app.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('a wrong key is refused and nothing happens', async () => {
    const res = await post(
      '/v1/track',
      { userId: 'intruder', event: 'content_viewed', properties: { category: 'living-room-decoration' } },
      'nope',
    );
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await run('intruder')).toBeNull();
  });

  test('every operation in docs/openapi.yaml is routed by the running app', async () => {
    const spec = parse(await readFile(path.join(projectRoot, 'docs/openapi.yaml'), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const METHODS = ['get', 'post', 'put', 'delete', 'patch'];
    const unrouted: string[] = [];
    let checked = 0;
    for (const [template, operations] of Object.entries(spec.paths)) {
      const route = template.replace(/\{version\}/g, '1').replace(/\{[^}]+\}/g, 'x');
      for (const method of Object.keys(operations).filter((m) => METHODS.includes(m))) {
        // The admin key first; routes for senders (ingest) refuse it and take the write key.
        let answer: { status: number; text: string } | undefined;
        for (const key of [ADMIN_KEY, WRITE_KEY]) {
          const res = await fetch(`${app.baseUrl}${route}`, {
            method: method.toUpperCase(),
            redirect: 'manual',
            headers: {
              'content-type': 'application/json',
              authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
            },
            ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }),
          });
          answer = { status: res.status, text: await res.text() };
          if (res.status !== 401) break;
        }
        checked++;
        if (answer!.text.includes('no route for')) unrouted.push(`${method.toUpperCase()} ${template}`);
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(unrouted).toEqual([]);
  });

  test('a view enters the journey, the plan is pushed; an order converts, no reminder', async () => {
    await enter('e2e-buyer');
    const [push] = await lines('push', 'e2e-buyer', 1);
    expect(push).toMatchObject({
      journeyId: 'quick-browse',
      stepId: 'push-plan',
      locale: 'en',
      to: 'tok-zhou',
    });
    expect(push!.body).toContain('Nordic living room');
    expect(
      (
        await post('/v1/track', {
          userId: 'e2e-buyer',
          event: 'order_completed',
          properties: { amount: 1999 },
        })
      ).status,
    ).toBe(202);
    const converted = await eventually(async () => {
      const view = await run('e2e-buyer');
      return view?.temporalStatus === 'COMPLETED' ? view : undefined;
    });
    expect(converted.state?.status).toBe('converted');
    await new Promise((r) => setTimeout(r, 7000)); // past the 6 s timeout: still no reminder
    expect(await outbox('miniprogram', 'e2e-buyer')).toHaveLength(0);
    expect(await outbox('push', 'e2e-buyer')).toHaveLength(1);
  });

  test('a repeated messageId is accepted and ignored', async () => {
    await enter('e2e-repeat', 'same-message');
    await enter('e2e-repeat', 'same-message');
    await lines('push', 'e2e-repeat', 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await outbox('push', 'e2e-repeat')).toHaveLength(1);
  });

  test('kill -9 mid-journey, restart: the reminder is sent exactly once, nothing doubled', async () => {
    await enter('e2e-crash');
    await lines('push', 'e2e-crash', 1);
    const servers = await app.serverPids();
    await app.kill9();
    await app.start(); // reuses the dev server and redis-server the killed process left running
    expect(await app.serverPids()).toEqual(servers);
    const reminders = await lines('miniprogram', 'e2e-crash', 1);
    expect(reminders[0]).toMatchObject({ stepId: 'remind-plan', to: 'o-zhou' });
    await eventually(async () =>
      (await run('e2e-crash'))?.state?.status === 'completed' ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await outbox('miniprogram', 'e2e-crash')).toHaveLength(1);
    expect(await outbox('push', 'e2e-crash')).toHaveLength(1);
  });

  test('SIGTERM shuts down cleanly, child servers included', async () => {
    const servers = await app.serverPids();
    expect(await app.stop()).toBe(0);
    await eventually(
      async () => (!isPidAlive(servers.temporal!) && !isPidAlive(servers.redis!) ? true : undefined),
      20_000,
    );
  });
});
