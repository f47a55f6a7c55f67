import fs from 'node:fs';
import path from 'node:path';
import { evaluate, isoToMillis, matchesEvent, readPath } from '../../language/conditions';
import type { Condition } from '../../language/types';

const traits = {
  name: '李娜',
  tier: 'gold',
  orders: 3,
  spend: '1280.50',
  tags: ['vip', 'sofa-owner'],
  birthday: '1990-05-01',
  address: { city: 'Shanghai', geo: { lat: 31.2 } },
  optedOut: false,
  nickname: null,
};
const properties = {
  category: 'living-room-decoration',
  title: '奶油风客厅这样搭',
  amount: 2999,
  items: [{ sku: 'SOFA-1', qty: '2' }],
  review: '沙发不错，但是包装破损了',
  at: '2024-05-01T10:00:00+08:00',
};
const ctx = { traits, properties };
const check = (cond: Condition) => evaluate(cond, ctx);

describe('evaluate: operators', () => {
  it('eq / ne, with numbers equal to numeric strings', () => {
    expect(check({ property: 'category', eq: 'living-room-decoration' })).toBe(true);
    expect(check({ property: 'category', eq: 'kitchen' })).toBe(false);
    expect(check({ trait: 'spend', eq: 1280.5 })).toBe(true);
    expect(check({ property: 'amount', eq: '2999' })).toBe(true);
    expect(check({ property: 'amount', eq: '2999abc' })).toBe(false);
    expect(check({ trait: 'optedOut', eq: false })).toBe(true);
    expect(check({ trait: 'optedOut', eq: 'false' })).toBe(false);
    expect(check({ trait: 'tags', eq: ['vip', 'sofa-owner'] })).toBe(true);
    expect(check({ trait: 'address', eq: { city: 'Shanghai', geo: { lat: 31.2 } } })).toBe(true);
    expect(check({ property: 'category', ne: 'kitchen' })).toBe(true);
    expect(check({ property: 'category', ne: 'living-room-decoration' })).toBe(false);
  });

  it('gt / gte / lt / lte on numbers and numeric strings', () => {
    expect(check({ property: 'amount', gt: 2000 })).toBe(true);
    expect(check({ property: 'amount', gte: 2999 })).toBe(true);
    expect(check({ property: 'amount', lt: 2999 })).toBe(false);
    expect(check({ property: 'amount', lte: '2999' })).toBe(true);
    expect(check({ trait: 'spend', gt: 1000 })).toBe(true);
    expect(check({ property: 'items.0.qty', gte: 2 })).toBe(true);
    expect(check({ trait: 'spend', gt: '999' })).toBe(true); // both numeric: not "1280.50" < "999"
  });

  it('orders ISO dates as instants, with time zones', () => {
    expect(check({ trait: 'birthday', lt: '1990-05-02' })).toBe(true);
    expect(check({ trait: 'birthday', gte: '1990-05-01T00:00:00Z' })).toBe(true);
    expect(check({ property: 'at', eq: '2024-05-01T10:00:00+08:00' })).toBe(true);
    // 10:00 in Shanghai is 02:00 UTC: later than 01:59Z, earlier than 02:01Z.
    expect(check({ property: 'at', gt: '2024-05-01T01:59:00Z' })).toBe(true);
    expect(check({ property: 'at', lt: '2024-05-01T02:01:00Z' })).toBe(true);
    expect(check({ property: 'at', gt: '2024-05-01T03:00:00Z' })).toBe(false);
  });

  it('orders other strings by code unit, and refuses to order mixed kinds', () => {
    expect(check({ trait: 'tier', gt: 'bronze' })).toBe(true);
    expect(check({ trait: 'tier', lt: 'bronze' })).toBe(false);
    expect(check({ trait: 'tier', gt: 5 })).toBe(false);
    expect(check({ trait: 'birthday', gt: 'abc' })).toBe(false);
    expect(check({ trait: 'optedOut', lt: 1 })).toBe(false);
    expect(check({ trait: 'address', gt: 0 })).toBe(false);
  });

  it('in', () => {
    expect(check({ trait: 'tier', in: ['gold', 'platinum'] })).toBe(true);
    expect(check({ trait: 'tier', in: ['silver'] })).toBe(false);
    expect(check({ trait: 'orders', in: ['1', '2', '3'] })).toBe(true);
    expect(check({ trait: 'tier', in: [] })).toBe(false);
  });

  it('contains: substring of a string, member of an array', () => {
    expect(check({ property: 'review', contains: '包装破损' })).toBe(true);
    expect(check({ property: 'review', contains: '口感差' })).toBe(false);
    expect(check({ trait: 'tags', contains: 'vip' })).toBe(true);
    expect(check({ trait: 'tags', contains: 'vi' })).toBe(false);
    expect(check({ property: 'items', contains: { sku: 'SOFA-1', qty: 2 } })).toBe(true);
    expect(check({ property: 'amount', contains: 29 })).toBe(false);
  });

  it('exists', () => {
    expect(check({ trait: 'name', exists: true })).toBe(true);
    expect(check({ trait: 'email', exists: true })).toBe(false);
    expect(check({ trait: 'email', exists: false })).toBe(true);
    expect(check({ trait: 'optedOut', exists: true })).toBe(true);
  });

  it('several operators in one comparison must all hold', () => {
    expect(check({ property: 'amount', gte: 1000, lt: 5000 })).toBe(true);
    expect(check({ property: 'amount', gte: 1000, lt: 2000 })).toBe(false);
  });

  it('a comparison with no operator never matches', () => {
    expect(check({ property: 'amount' } as Condition)).toBe(false);
  });
});

describe('evaluate: missing values', () => {
  it.each<[string, Condition, boolean]>([
    ['eq', { trait: 'email', eq: 'a@b.c' }, false],
    ['ne', { trait: 'email', ne: 'a@b.c' }, true],
    ['gt', { trait: 'email', gt: 0 }, false],
    ['lte', { trait: 'email', lte: 0 }, false],
    ['in', { trait: 'email', in: [null, undefined] }, false],
    ['contains', { trait: 'email', contains: '' }, false],
    ['exists: false', { trait: 'email', exists: false }, true],
    ['exists: true', { trait: 'email', exists: true }, false],
    ['null is missing', { trait: 'nickname', exists: false }, true],
    ['null ne', { trait: 'nickname', ne: 'x' }, true],
    ['ne and eq together', { trait: 'email', ne: 'x', eq: 'y' }, false],
    ['below a scalar', { trait: 'tier.level', exists: false }, true],
    ['missing nested', { property: 'address.city', eq: 'Shanghai' }, false],
  ])('%s', (_label, cond, expected) => {
    expect(check(cond)).toBe(expected);
  });
});

describe('evaluate: paths never walk into prototypes', () => {
  it.each<Condition>([
    { property: '__proto__', exists: true },
    { property: '__proto__.polluted', exists: true },
    { property: 'constructor.name', eq: 'Object' },
    { property: 'constructor', exists: true },
    { trait: 'tags.constructor.name', eq: 'Array' },
    { trait: 'name.length', gt: 0 },
    { property: 'toString', exists: true },
    { property: 'hasOwnProperty', exists: true },
    { trait: 'address.__proto__.polluted', exists: true },
    { trait: 'address.geo.prototype', exists: true },
    { property: 'title.0', exists: true },
  ])('%j does not match', (cond) => {
    expect(check(cond)).toBe(false);
  });

  it('reads own keys named like built-ins only as data, and never `__proto__` even when own', () => {
    const own = JSON.parse('{"__proto__": {"polluted": true}, "toString": "plain"}') as Record<
      string,
      unknown
    >;
    expect(evaluate({ property: '__proto__.polluted', eq: true }, { traits: {}, properties: own })).toBe(
      false,
    );
    expect(evaluate({ property: 'toString', eq: 'plain' }, { traits: {}, properties: own })).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('readPath reads arrays by index and their own length', () => {
    expect(readPath(properties, 'items.0.sku')).toBe('SOFA-1');
    expect(readPath(properties, 'items.length')).toBe(1);
    expect(readPath(properties, 'items..sku')).toBeUndefined();
    expect(readPath(properties, '')).toBeUndefined();
  });
});

describe('evaluate: combinators', () => {
  it('all / any / not', () => {
    const vip: Condition = { trait: 'tags', contains: 'vip' };
    const kitchen: Condition = { property: 'category', eq: 'kitchen' };
    expect(check({ all: [vip, { property: 'amount', gt: 1000 }] })).toBe(true);
    expect(check({ all: [vip, kitchen] })).toBe(false);
    expect(check({ any: [kitchen, vip] })).toBe(true);
    expect(check({ any: [kitchen] })).toBe(false);
    expect(check({ not: kitchen })).toBe(true);
    expect(check({ not: { any: [kitchen, { not: vip }] } })).toBe(true);
    expect(check({ all: [] })).toBe(true);
    expect(check({ any: [] })).toBe(false);
  });

  it('matches complaint keywords (journey 9)', () => {
    const complaint: Condition = {
      any: [
        { property: 'review', contains: '包装破损' },
        { property: 'review', contains: '口感差' },
      ],
    };
    expect(check(complaint)).toBe(true);
    expect(evaluate(complaint, { traits, properties: { review: '很好' } })).toBe(false);
  });
});

describe('matchesEvent', () => {
  const matcher = { event: 'content_viewed', where: { property: 'category', eq: 'living-room-decoration' } };

  it('needs the event name and the where condition', () => {
    expect(matchesEvent(matcher, { event: 'content_viewed', properties })).toBe(true);
    expect(matchesEvent(matcher, { event: 'content_viewed', properties: { category: 'kitchen' } })).toBe(
      false,
    );
    expect(matchesEvent(matcher, { event: 'order_completed', properties })).toBe(false);
    expect(matchesEvent({ event: 'order_completed' }, { event: 'order_completed', properties: {} })).toBe(
      true,
    );
  });

  it('reads traits from the profile', () => {
    const vipOrder = { event: 'order_completed', where: { trait: 'tier', eq: 'gold' } };
    const event = {
      messageId: 'm1',
      event: 'order_completed',
      properties: {},
      timestamp: '2024-05-01T00:00:00Z',
    };
    expect(matchesEvent(vipOrder, event, traits)).toBe(true);
    expect(matchesEvent(vipOrder, event, { tier: 'silver' })).toBe(false);
    expect(matchesEvent(vipOrder, event)).toBe(false);
  });
});

describe('isoToMillis', () => {
  it('parses dates and date-times, no offset meaning UTC', () => {
    expect(isoToMillis('2024-05-01')).toBe(Date.UTC(2024, 4, 1));
    expect(isoToMillis('2024-05-01T10:00:00')).toBe(Date.UTC(2024, 4, 1, 10));
    expect(isoToMillis('2024-05-01T10:00:00.250Z')).toBe(Date.UTC(2024, 4, 1, 10, 0, 0, 250));
    expect(isoToMillis('2024-05-01T10:00+08:00')).toBe(Date.UTC(2024, 4, 1, 2));
    expect(isoToMillis('2024-05-01T10:00:00-0130')).toBe(Date.UTC(2024, 4, 1, 11, 30));
  });

  it.each(['2024-02-30', '2024-13-01', '2024-05-01T24:00', '20240501', 'May 1, 2024', '0099-01-01'])(
    'refuses %s',
    (text) => {
      expect(isoToMillis(text)).toBeUndefined();
    },
  );
});

it('stays importable by workflow code: pure modules, no Node APIs, no clock but the router default', () => {
  const read = (name: string) => fs.readFileSync(path.join(__dirname, '../../language', name), 'utf8');
  const importsOf = (source: string) =>
    [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
  const allowed: Record<string, string[]> = {
    'conditions.ts': ['./dates', './duration', './types'],
    'dates.ts': ['luxon', './duration'],
    'duration.ts': ['luxon'],
    'timing.ts': ['luxon', './conditions', './dates', './types'],
    'values.ts': ['luxon', './conditions', './dates', './types'],
  };
  for (const [file, imports] of Object.entries(allowed)) {
    const source = read(file);
    expect([file, importsOf(source)]).toEqual([file, imports]);
    expect(source).not.toMatch(/Math\.random|new Date\(\)|eval\(|Function\(|process\.|require\(/);
    const clockReads = source.match(/Date\.now\(\)|DateTime\.now\(\)|DateTime\.local\(\)/g) ?? [];
    // conditions.ts: only as the default of `nowMs` (documented twice, used once).
    expect([file, clockReads.length]).toEqual([file, file === 'conditions.ts' ? 3 : 0]);
  }
});
