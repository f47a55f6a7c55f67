import request from 'supertest';
import { bearer, JOURNEYS, KEYS, startTestApp, type TestApp } from './fixture';

let t: TestApp;
const describeCalls: [string, string][] = [];
const RUN = { journeyId: 'reactivation', customerId: '会员 42', step: 'wait-purchase', status: 'running' };

beforeEach(async () => {
  describeCalls.length = 0;
  t = await startTestApp({
    runs: {
      describe: async (journeyId, customerId) => {
        describeCalls.push([journeyId, customerId]);
        return customerId === '会员 42' ? RUN : null;
      },
    },
  });
});
afterEach(() => t.close());

const get = (path: string) => request(t.app).get(path).set('Authorization', bearer(KEYS.adminKey));

test('GET /v1/journeys lists the loaded journeys with their steps’ ids and types (no registry: all published)', async () => {
  const res = await get('/v1/journeys');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    // The fixture's journey, its steps cut to their ids and types.
    journeys: [
      {
        ...JOURNEYS[0],
        steps: [
          { id: 'coupon', type: 'send' },
          { id: 'wait-purchase', type: 'waitFor' },
          { id: 'done', type: 'exit' },
        ],
        status: 'published',
        hasDraft: false,
      },
    ],
  });
});

test('GET /v1/journeys/:id answers the whole journey, or 404', async () => {
  const found = await get('/v1/journeys/reactivation');
  expect(found.status).toBe(200);
  expect(found.body).toEqual({ ...JOURNEYS[0], status: 'published', hasDraft: false });

  const missing = await get('/v1/journeys/nope');
  expect(missing.status).toBe(404);
  expect(missing.body).toEqual({ error: 'not_found', message: 'no journey "nope"' });
});

test('GET /v1/journeys/:id/customers/:customerId answers the run’s state, or 404', async () => {
  const found = await get(`/v1/journeys/reactivation/customers/${encodeURIComponent('会员 42')}`);
  expect(found.status).toBe(200);
  expect(found.body).toEqual(RUN);

  const missing = await get('/v1/journeys/reactivation/customers/u-unknown');
  expect(missing.status).toBe(404);
  expect(missing.body.error).toBe('not_found');
  expect(describeCalls).toEqual([
    ['reactivation', '会员 42'],
    ['reactivation', 'u-unknown'],
  ]);
});

test('without a registry the lifecycle routes do not exist', async () => {
  const res = await request(t.app)
    .post('/v1/journeys/reactivation/pause')
    .set('Authorization', bearer(KEYS.adminKey));
  expect(res.status).toBe(404);
});
