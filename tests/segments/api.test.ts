import path from 'node:path';
import request from 'supertest';
import { loadSegments } from '../../segmentation/load';
import { bearer, KEYS, startTestApp, type TestApp } from '../server/fixture';
import { startSegments, type SegmentsFixture } from './support';

/** The admin API: segments with their sizes, one segment, its members page by page. */
let s: SegmentsFixture;
let t: TestApp;
beforeAll(async () => {
  s = await startSegments(loadSegments(path.resolve(__dirname, '../../segments')));
  for (let i = 0; i < 25; i++)
    await s.identify(`hv-${String(i).padStart(2, '0')}`, { rfmGroup: 'high-value' });
  await s.identify('sleepy', { rfmGroup: 'dormant' });
  t = await startTestApp({ segments: { catalog: s.engine.catalog, members: s.engine.members } });
});
afterAll(async () => {
  await t?.close();
  await s?.close();
});

const get = (url: string, key = KEYS.adminKey) => request(t.app).get(url).set('Authorization', bearer(key));

test('GET /v1/segments lists every segment with its size', async () => {
  const res = await get('/v1/segments');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    segments: [
      expect.objectContaining({ id: 'at-risk', name: 'At-risk customers', size: 0 }),
      {
        id: 'dormant',
        name: 'Dormant customers',
        description: 'RFM group dormant; without an RFM group yet, no order in the last 90 days',
        size: 1,
      },
      expect.objectContaining({ id: 'high-value', size: 25 }),
      expect.objectContaining({ id: 'living-room-browsers', size: 0 }),
    ],
  });
});

test('GET /v1/segments/:id: the definition, what it depends on, and its size', async () => {
  const res = await get('/v1/segments/living-room-browsers');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    segment: {
      id: 'living-room-browsers',
      name: 'Living-room browsers',
      description: 'viewed living-room decoration content at least 3 times in 7 days',
      where: {
        count: { event: 'content_viewed', where: { property: 'category', eq: 'living-room-decoration' } },
        within: '7d',
        gte: 3,
      },
      traits: [],
      events: ['content_viewed'],
      timeBased: true,
    },
    size: 0,
  });
  expect((await get('/v1/segments/high-value')).body).toMatchObject({
    segment: { traits: ['rfmGroup'], events: [], timeBased: false },
    size: 25,
  });
});

test('GET /v1/segments/:id/members pages through the members with a cursor', async () => {
  const seen: string[] = [];
  let cursor: string | null = '0';
  let pages = 0;
  while (cursor !== null) {
    const res = await get(`/v1/segments/high-value/members?limit=10&cursor=${cursor}`);
    expect(res.status).toBe(200);
    expect(res.body.segment).toBe('high-value');
    seen.push(...(res.body.members as string[]));
    cursor = res.body.cursor as string | null;
    pages += 1;
    expect(pages).toBeLessThan(30);
  }
  expect([...new Set(seen)].sort()).toEqual(
    Array.from({ length: 25 }, (_, i) => `hv-${String(i).padStart(2, '0')}`),
  );
  expect((await get('/v1/segments/dormant/members')).body).toEqual({
    segment: 'dormant',
    members: ['sleepy'],
    cursor: null,
  });
});

test('404 for an unknown segment, 400 for a bad cursor or limit, 403 for the write key, 401 without a key', async () => {
  for (const url of ['/v1/segments/nope', '/v1/segments/nope/members']) {
    const res = await get(url);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', message: 'no segment "nope"' });
  }
  const bad = await get('/v1/segments/high-value/members?cursor=abc&limit=5000');
  expect(bad.status).toBe(400);
  expect(bad.body).toEqual({
    error: 'invalid_request',
    message: '2 invalid fields',
    issues: [
      { path: 'cursor', message: 'must be a cursor from a previous page (digits), or 0 to start' },
      { path: 'limit', message: 'must be at most 1000' },
    ],
  });
  expect((await get('/v1/segments/high-value/members?limit=0')).status).toBe(400);
  expect((await get('/v1/segments', KEYS.writeKey)).status).toBe(403);
  expect((await request(t.app).get('/v1/segments')).status).toBe(401);
});
