import request from 'supertest';
import type { HealthCheck } from '../../server/app';
import { startTestApp, type TestApp } from './fixture';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function healthz(health: HealthCheck, healthTimeoutMs?: number) {
  t = await startTestApp({ health, healthTimeoutMs });
  return request(t.app).get('/healthz');
}

test('200 {"status":"ok"} without any key when every part is ready', async () => {
  const res = await healthz(async () => ({ temporal: true, redis: true, workers: true }));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ status: 'ok' });
  expect(res.headers['cache-control']).toBe('no-store');
});

test('503 naming the parts that are down', async () => {
  const res = await healthz(async () => ({ temporal: true, redis: false, workers: false }));
  expect(res.status).toBe(503);
  expect(res.body).toEqual({
    status: 'down',
    down: ['redis', 'workers'],
    parts: { temporal: true, redis: false, workers: false },
  });
});

test('a failing check is 503, not 500', async () => {
  const res = await healthz(async () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:7233');
  });
  expect(res.status).toBe(503);
  expect(res.body).toEqual({ status: 'down', down: ['health-check'], parts: {} });
  expect(t!.logs.join('\n')).toContain('ECONNREFUSED 127.0.0.1:7233');
});

test('a hanging check is 503 after the timeout', async () => {
  const started = Date.now();
  const res = await healthz(() => new Promise(() => {}), 200);
  expect(res.status).toBe(503);
  expect(res.body).toEqual({ status: 'down', down: ['health-check'], parts: {} });
  expect(t!.logs.join('\n')).toMatch(/health check timed out after 200 ms/);
  expect(Date.now() - started).toBeLessThan(5000);
});
