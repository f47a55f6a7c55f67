import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatIssue, type ConfigIssue } from '../../language/errors';
import { checkJourney } from '../../language/load';
import fc from 'fast-check';
import { evaluate } from '../../language/conditions';
import { readDate, resolveTimeRef } from '../../language/dates';
import { conditionSummary } from '../../language/graph';
import type { CountedEvent } from '../../language/types';
import { SegmentCatalog } from '../../segmentation/catalog';
import { loadSegmentsConfig, parseSegmentsConfig } from '../../segmentation/config';
import { checkSegment, loadSegments, SegmentConfigError } from '../../segmentation/load';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'touchpoint-segments-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes a fixture; lines joined with \n so line numbers are easy to count. */
function write(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function issuesOf(load: () => unknown): ConfigIssue[] {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(SegmentConfigError);
    return (err as SegmentConfigError).issues;
  }
  throw new Error('expected the load to fail');
}

describe('segment files', () => {
  it('load with the file name as id, sorted, conditions as written', () => {
    write('b-buyers.yaml', ['name: Buyers', 'where: { trait: orderCount, gte: 1 }']);
    write('a-browsers.yml', [
      'name: Browsers',
      'description: three views in a week',
      'where:',
      '  count: { event: content_viewed, where: { property: category, eq: sofa } }',
      '  within: 7d',
      '  gte: 3',
    ]);
    fs.writeFileSync(path.join(dir, 'notes.md'), 'not a segment');
    expect(loadSegments(dir)).toEqual([
      {
        id: 'a-browsers',
        name: 'Browsers',
        description: 'three views in a week',
        where: {
          count: { event: 'content_viewed', where: { property: 'category', eq: 'sofa' } },
          within: '7d',
          gte: 3,
        },
      },
      { id: 'b-buyers', name: 'Buyers', where: { trait: 'orderCount', gte: 1 } },
    ]);
  });

  it('a missing directory is no segments', () => {
    expect(loadSegments(path.join(dir, 'nope'))).toEqual([]);
  });

  it('report every problem of every file with line, column, path and hint', () => {
    write('dormant.yaml', [
      'id: sleeping', // 1: not the file name
      'name: Dormant',
      'where:',
      '  any:',
      '    - { trait: lastOrderAt, befor: -90d }', // 5: typo
      '    - { property: category, eq: sofa }', // 6: no event in a segment
      '    - { did: message_opened }', // 7: no run
    ]);
    write('browsers.yaml', [
      'name: Browsers',
      'where:',
      '  count:',
      '    event: content_viewed',
      '    where: { trait: city, eq: 杭州 }', // 5: a count's where reads the event only
      '  within: 36h', // 6: not whole days
      '  gte: 2.5', // 7: not a whole number
    ]);
    write('Bad Name.yaml', ['name: x', 'where: { tag: vip }']);
    write('empty.yaml', ['']);
    write('syntax.yaml', ['name: x', 'where: { tag: vip', '']);
    const issues = issuesOf(() => loadSegments(dir));
    expect(issues.map(formatIssue).map((line) => line.replace(dir + path.sep, ''))).toEqual([
      'Bad Name.yaml:1:1 the file name `Bad Name.yaml` is not a segment id: a lowercase slug such as `high-value.yaml`',
      'browsers.yaml:5:14 where.count.where.trait: a count’s `where` tests the counted event’s properties only (put conditions on the customer next to the count, inside `all:`)',
      'browsers.yaml:6:3 where.within: "36h" is not a whole number of days: events are counted per day (e.g. `2d`)',
      'browsers.yaml:7:3 where.gte: must be a whole number of events (0 or more), got number 2.5',
      'dormant.yaml:1:1 id: id `sleeping` does not match the file name `dormant.yaml` (the file name is the id: rename the file to `sleeping.yaml`, or drop `id:`)',
      'dormant.yaml:5:29 where.any[0].befor: unknown key `befor` (did you mean `before`?)',
      'dormant.yaml:6:9 where.any[1].property: a segment has no current event: `property` reads only inside a `count`’s `where` (use `trait:` for the customer, or `{ count: { event: …, where: { property: … } }, within: 7d, gte: 1 }`)',
      'dormant.yaml:7:9 where.any[2].did: `did` reads a journey run’s history: a segment has none (count the customer’s events instead: `{ count: { event: message_clicked }, within: 30d, gte: 1 }`)',
      'empty.yaml:1:1 the file is empty (start with `name:` and `where:`)',
      expect.stringMatching(/^syntax\.yaml:\d+:\d+ YAML syntax: /),
    ]);
  });

  it('refuse a count without window or comparison, mixed forms, and counting segment events', () => {
    const check = (where: string) =>
      checkSegment(['name: x', `where: ${where}`].join('\n'), path.join(dir, 'x.yaml')).issues.map(
        (i) => `${i.path}: ${i.message}`,
      );
    expect(check('{ count: { event: a } , gte: 1 }')).toEqual([
      'where: a count needs `within:`, a window in whole days',
    ]);
    expect(check('{ count: { event: a }, within: 7d }')).toEqual([
      'where: a count needs a comparison: one of `gte`, `gt`, `lte`, `lt`, `eq`',
    ]);
    expect(check('{ count: { event: a }, within: 7d, gte: 1, trait: x }')).toEqual([
      'where: mixes `count`, `within`, `trait`, `gte` in one condition',
    ]);
    expect(check('{ trait: x, eq: 1, within: 7d }')).toEqual([
      'where.within: `within` only goes with `count:`',
    ]);
    expect(check('{ count: { event: a, wher: {} }, within: 7d, gte: 1 }')).toEqual([
      'where.count.wher: unknown key `wher`',
    ]);
    expect(check('{ count: { event: segment_entered }, within: 7d, gte: 1 }')).toEqual([
      'where.count.event: `segment_entered` cannot be counted: segment events would let segments change each other in a loop',
    ]);
    expect(check('{ count: { event: a }, within: 731d, gte: 1 }')).toEqual([
      'where.within: "731d" is longer than 730 days, the longest count window',
    ]);
    expect(
      check(
        '{ count: { event: a, where: { count: { event: b }, within: 1d, gte: 1 } }, within: 7d, gte: 1 }',
      ),
    ).toEqual(['where.count.where.count: a count’s `where` cannot hold another `count`']);
    expect(check('{ count: { event: order_completed }, within: P90D, eq: 0 }')).toEqual([]);
  });

  it('the shipped segments load, with the dependencies the router indexes them by', () => {
    const shipped = loadSegments(path.resolve(__dirname, '../../segments'));
    expect(shipped.map((s) => s.id)).toEqual(['at-risk', 'dormant', 'high-value', 'living-room-browsers']);
    const catalog = new SegmentCatalog(shipped);
    expect(catalog.dependencies('dormant')).toMatchObject({
      traits: ['lastOrderAt', 'rfmGroup', 'timezone'],
      counters: [],
      timeBased: true,
    });
    expect(catalog.dependencies('high-value')).toMatchObject({ traits: ['rfmGroup'], timeBased: false });
    expect(catalog.dependencies('living-room-browsers')).toMatchObject({
      traits: [],
      counters: [{ counted: { event: 'content_viewed' } }],
      timeBased: true,
      windowDays: 7,
    });
    expect(catalog.retentionDays).toBe(7);
    expect(catalog.affectedBy({ traits: ['rfmGroup'] }).map((s) => s.id)).toEqual([
      'at-risk',
      'dormant',
      'high-value',
    ]);
    expect(catalog.affectedBy({ traits: ['lastOrderAt', 'name'] }).map((s) => s.id)).toEqual(['dormant']);
    expect(catalog.affectedBy({ event: 'content_viewed', traits: [] }).map((s) => s.id)).toEqual([
      'living-room-browsers',
    ]);
    expect(catalog.affectedBy({ event: 'order_completed', traits: ['lastSeenAt'] })).toEqual([]);
    expect(
      catalog.countersFor({ event: 'content_viewed', properties: { category: 'living-room-decoration' } }),
    ).toHaveLength(1);
    expect(catalog.countersFor({ event: 'content_viewed', properties: { category: 'sofa' } })).toEqual([]);
  });
});

describe('the count condition in the language', () => {
  const counted: CountedEvent = { event: 'content_viewed' };
  const cond = { count: counted, within: '7d', gte: 3, lt: 10 };

  it('is evaluated from the counts the caller gives, every operator holding', () => {
    const withCount = (n: number) => ({ traits: {}, properties: {}, eventCounts: () => n });
    expect([2, 3, 9, 10].map((n) => evaluate(cond, withCount(n)))).toEqual([false, true, true, false]);
    expect(evaluate({ count: counted, within: '7d', eq: 0 }, withCount(0))).toBe(true);
    let asked: [CountedEvent, number] | undefined;
    evaluate(cond, { traits: {}, properties: {}, eventCounts: (c, ms) => ((asked = [c, ms]), 0) });
    expect(asked).toEqual([counted, 7 * 86_400_000]);
  });

  it('is false without counts (a journey has none)', () => {
    expect(evaluate({ count: counted, within: '7d', eq: 0 }, { traits: {}, properties: {} })).toBe(false);
  });

  it('is refused in a journey, at its position', () => {
    const text = [
      'id: j',
      'name: j',
      'entry:',
      '  event: content_viewed',
      '  where: { count: { event: content_viewed }, within: 7d, gte: 3 }',
      'steps:',
      '  - { id: done, type: exit }',
    ].join('\n');
    const result = checkJourney(text, 'j.yaml');
    expect(result.issues.map(formatIssue)).toEqual([
      'j.yaml:5:12 entry.where.count: `count` conditions work in segments only: journeys do not keep event counts (define a segment with the count (segments/<id>.yaml) and enter on `segment_entered`)',
    ]);
  });

  it('date math reads a date-time the way readDate does (its fast path for segment passes)', () => {
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    const dateTime = fc
      .record({
        y: fc.integer({ min: 1990, max: 2040 }),
        mo: fc.integer({ min: 1, max: 12 }),
        d: fc.integer({ min: 1, max: 31 }),
        h: fc.integer({ min: 0, max: 24 }),
        mi: fc.integer({ min: 0, max: 59 }),
        s: fc.option(fc.integer({ min: 0, max: 60 })),
        ms: fc.option(fc.integer({ min: 0, max: 999 })),
        sep: fc.constantFrom('T', ' ', 't'),
        zone: fc.constantFrom('', 'Z', '+08:00', '-0530', '+14:00', '+15:00', '-03', 'z'),
      })
      .map(
        (v) =>
          `${v.y}-${pad(v.mo)}-${pad(v.d)}${v.sep}${pad(v.h)}:${pad(v.mi)}` +
          (v.s !== null ? `:${pad(v.s)}${v.ms !== null ? `.${pad(v.ms, 3)}` : ''}` : '') +
          v.zone,
      );
    const nowMs = Date.parse('2026-03-10T04:00:00Z');
    const zone = 'Asia/Shanghai';
    fc.assert(
      fc.property(dateTime, fc.constantFrom('now', '-90d', '2026-01-01', '+1d'), (value, ref) => {
        const read = readDate(value, zone);
        const refAt = resolveTimeRef(ref, nowMs, zone)!;
        const ctx = { traits: { x: value }, properties: {}, nowMs, timeZone: zone };
        expect([value, evaluate({ trait: 'x', before: ref }, ctx)]).toEqual([
          value,
          read !== undefined && read.time.toMillis() < refAt,
        ]);
        expect([value, evaluate({ trait: 'x', after: ref }, ctx)]).toEqual([
          value,
          read !== undefined && read.time.toMillis() > refAt,
        ]);
      }),
      { numRuns: 500 },
    );
  });

  it('reads well in a summary', () => {
    expect(conditionSummary({ count: counted, within: '7d', gte: 3 })).toBe(
      'count content_viewed within 7d ≥ 3',
    );
  });
});

describe('the segments config section', () => {
  it('defaults to every 15 minutes, pages of 1000', () => {
    expect(parseSegmentsConfig(undefined)).toEqual({ reevaluate: 15 * 60_000, pageSize: 1000 });
    expect(parseSegmentsConfig({ reevaluate: false, timezone: 'Europe/Berlin' })).toMatchObject({
      reevaluate: false,
      timezone: 'Europe/Berlin',
    });
    expect(parseSegmentsConfig({ reevaluate: '1h' }).reevaluate).toBe(3_600_000);
  });

  it('touchpoint.example.yaml has a valid segments section', () => {
    expect(loadSegmentsConfig(path.resolve(__dirname, '../../touchpoint.example.yaml'))).toEqual({
      reevaluate: 15 * 60_000,
      timezone: 'Asia/Shanghai',
      pageSize: 1000,
    });
  });

  it('reports bad fields with file, line and column', () => {
    const file = write('touchpoint.yaml', [
      'segments:',
      '  reevaluate: 10s',
      '  timezone: Mars/Base',
      '  pages: 3',
    ]);
    expect(() => parseSegmentsConfig({ reevaluate: '10s', timezone: 'Mars/Base', pages: 3 }, file)).toThrow(
      [
        `${file}: invalid configuration`,
        `  ${file}:2:3: segments.reevaluate: "10s" is too often: at least \`1m\``,
        `  ${file}:3:3: segments.timezone: must be an IANA time zone such as \`Asia/Shanghai\``,
        `  ${file}:4:3: segments.pages: unknown key (expected reevaluate, timezone, pageSize)`,
      ].join('\n'),
    );
  });
});
