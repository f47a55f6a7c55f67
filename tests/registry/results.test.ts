import { summariseResults } from '../../registry/results';

describe('summariseResults: what a version’s counters mean', () => {
  test('conversion rate; none before anyone entered', () => {
    expect(summariseResults({}).conversion).toEqual({ entered: 0, converted: 0, rate: null });
    expect(summariseResults({ entered: 8, converted: 2 }).conversion).toEqual({
      entered: 8,
      converted: 2,
      rate: 0.25,
    });
    expect(summariseResults({ entered: 8 }).holdback).toBeUndefined();
  });

  test('holdback: each group’s rate and the lift of treatment over control', () => {
    const { holdback } = summariseResults({
      entered: 120,
      converted: 31,
      'entered:control': 20,
      'converted:control': 2,
      'entered:treatment': 100,
      'converted:treatment': 29,
    });
    expect(holdback?.control).toEqual({ entered: 20, converted: 2, rate: 0.1 });
    expect(holdback?.treatment).toEqual({ entered: 100, converted: 29, rate: 0.29 });
    expect(holdback?.lift).toBeCloseTo(1.9);
  });

  test('no lift while the control group has no conversions or nobody in it', () => {
    expect(
      summariseResults({ 'entered:control': 5, 'entered:treatment': 40, 'converted:treatment': 4 }).holdback
        ?.lift,
    ).toBeNull();
    expect(summariseResults({ 'entered:treatment': 40 }).holdback).toMatchObject({
      control: { entered: 0, rate: null },
      lift: null,
    });
  });

  test('runs per arm of each split step', () => {
    expect(
      summariseResults({ 'split:offer:A': 51, 'split:offer:B': 49, 'split:second:x-y': 3, 'step:a:sent': 9 })
        .splits,
    ).toEqual({ offer: { A: 51, B: 49 }, second: { 'x-y': 3 } });
  });
});
