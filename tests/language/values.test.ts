import { resolveValue } from '../../language/values';

const ctx = {
  traits: { name: '李娜', address: { city: 'Shanghai' }, tags: ['vip'] },
  properties: { size: 'L', items: [{ sku: 'SOFA-1' }], zero: 0 },
  nowMs: Date.parse('2026-03-01T02:00:00Z'),
};

describe('resolveValue', () => {
  it('literals are written as they are', () => {
    expect(resolveValue('newborn', ctx)).toBe('newborn');
    expect(resolveValue(3, ctx)).toBe(3);
    expect(resolveValue(false, ctx)).toBe(false);
    expect(resolveValue(['S', 1, true], ctx)).toEqual(['S', 1, true]);
    expect(resolveValue('', ctx)).toBe('');
  });

  it('{ trait } and { property } read dotted paths; missing is undefined', () => {
    expect(resolveValue({ trait: 'address.city' }, ctx)).toBe('Shanghai');
    expect(resolveValue({ trait: 'tags' }, ctx)).toEqual(['vip']);
    expect(resolveValue({ property: 'size' }, ctx)).toBe('L');
    expect(resolveValue({ property: 'items.0.sku' }, ctx)).toBe('SOFA-1');
    expect(resolveValue({ property: 'zero' }, ctx)).toBe(0);
    expect(resolveValue({ property: 'colour' }, ctx)).toBeUndefined();
    expect(resolveValue({ trait: 'constructor' }, ctx)).toBeUndefined();
  });

  it('{ now } is the run’s clock as ISO UTC text, optionally moved by a signed duration', () => {
    expect(resolveValue({ now: '' }, ctx)).toBe('2026-03-01T02:00:00.000Z');
    expect(resolveValue({ now: '+7d' }, ctx)).toBe('2026-03-08T02:00:00.000Z');
    expect(resolveValue({ now: '-30m' }, ctx)).toBe('2026-03-01T01:30:00.000Z');
    expect(resolveValue({ now: '+P1M' }, ctx)).toBe('2026-04-01T02:00:00.000Z');
    expect(resolveValue({ now: '-P1Y' }, { ...ctx, nowMs: Date.parse('2028-02-29T00:00:00Z') })).toBe(
      '2027-02-28T00:00:00.000Z',
    );
    expect(resolveValue({ now: null } as unknown as { now: string }, ctx)).toBe('2026-03-01T02:00:00.000Z');
  });
});
