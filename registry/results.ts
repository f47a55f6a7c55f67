/**
 * What a version's counters mean to a marketer: conversion rate, the lift of the treated group
 * over the holdback (control) group, and how a split divided its runs. Read from the counters the
 * runs record (workflows/: entered, converted, entered:<group>, converted:<group>,
 * split:<step>:<arm>); nothing here is stored.
 */
export interface GroupResult {
  entered: number;
  converted: number;
  /** converted / entered; null before anyone entered. */
  rate: number | null;
}

export interface VersionResults {
  conversion: GroupResult;
  /** Present when the version has a holdback. */
  holdback?: {
    control: GroupResult;
    treatment: GroupResult;
    /** (treatment rate − control rate) / control rate; null while either rate is unknown or control's is 0. */
    lift: number | null;
  };
  /** Runs per arm of each split step. */
  splits: Record<string, Record<string, number>>;
}

export function summariseResults(counters: Record<string, number>): VersionResults {
  const count = (name: string) => counters[name] ?? 0;
  const group = (suffix = ''): GroupResult => {
    const entered = count(`entered${suffix}`);
    const converted = count(`converted${suffix}`);
    return { entered, converted, rate: entered > 0 ? converted / entered : null };
  };
  const results: VersionResults = { conversion: group(), splits: {} };
  if (count('entered:control') + count('entered:treatment') > 0) {
    const control = group(':control');
    const treatment = group(':treatment');
    const lift =
      control.rate !== null && control.rate > 0 && treatment.rate !== null
        ? (treatment.rate - control.rate) / control.rate
        : null;
    results.holdback = { control, treatment, lift };
  }
  for (const [name, value] of Object.entries(counters)) {
    const split = /^split:([^:]+):(.+)$/.exec(name);
    if (!split) continue;
    const [, stepId, arm] = split as unknown as [string, string, string];
    (results.splits[stepId] ??= {})[arm] = value;
  }
  return results;
}
