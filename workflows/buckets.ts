/*
 * Deterministic "random" choices (holdback, A/B split): a run hashes its own identity, so a
 * replay, a retry or a continued run always lands in the same bucket, and no Math.random
 * sequence has to be kept stable across code changes.
 */

import type { SplitStep } from '../language/types';

/** 32-bit FNV-1a over the UTF-8 bytes of `text`. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of utf8(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** 0..99: the bucket of `${workflowId}/${firstRunId}/${stepId or 'holdback'}`. */
export function bucketOf(key: string): number {
  return fnv1a(key) % 100;
}

/** A run in one of the first `percent` buckets is held back. */
export function holdbackGroup(percent: number, runKey: string): 'control' | 'treatment' {
  return bucketOf(`${runKey}/holdback`) < percent ? 'control' : 'treatment';
}

/** The arm whose share of 0..99 holds the bucket (arms in order; the last takes any rounding gap). */
export function pickArm(arms: SplitStep['arms'], bucket: number): SplitStep['arms'][number] {
  let upTo = 0;
  for (const arm of arms) {
    upTo += arm.percent;
    if (bucket < upTo) return arm;
  }
  return arms[arms.length - 1]!;
}

/** UTF-8 bytes without TextEncoder (not every workflow sandbox has it). */
function* utf8(text: string): Generator<number> {
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x80) yield code;
    else if (code < 0x800) yield* [0xc0 | (code >> 6), 0x80 | (code & 63)];
    else if (code < 0x10000) yield* [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63)];
    else
      yield* [0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63)];
  }
}
