import type { z } from 'zod';
import { closest, didYouMean } from './hints';
import { valueAt, type DocPath } from './locate';
import { describe, expectedName, type UnknownKeyParams } from './schema';

/** A problem found in a document before it is placed on a line: where, what, and how to fix it. */
export interface DocIssue {
  path: DocPath;
  message: string;
  hint?: string;
}

/**
 * Turns zod's issues into DocIssues: one per unknown key with a "did you mean", the failing
 * branch of a union rather than the union, and a hint for near-miss enum values and step types.
 * `data` is the validated input, used to read the offending values.
 */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], data: unknown): DocIssue[] {
  return issues.flatMap((issue) => convert(issue, [], data));
}

function convert(issue: z.core.$ZodIssue, prefix: DocPath, data: unknown): DocIssue[] {
  const path = [...prefix, ...(issue.path as (string | number)[])];
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'invalid_union':
      return issue.errors.length > 0 ? unionBranch(issue, path, data) : discriminator(issue, path, value);
    case 'custom':
      return [custom(issue, path)];
    case 'invalid_value': {
      const match = typeof value === 'string' ? closest(value, issue.values.map(String)) : undefined;
      return [{ path, message: issue.message, hint: match ? `did you mean \`${match}\`?` : undefined }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

function custom(issue: z.core.$ZodIssueCustom, path: DocPath): DocIssue {
  const params = issue.params as (Partial<UnknownKeyParams> & { hint?: string }) | undefined;
  if (params?.unknownKey) {
    const key = String(path[path.length - 1]);
    return { path, message: `unknown key \`${key}\``, hint: didYouMean(key, params.allowed ?? []) };
  }
  return { path, message: issue.message, hint: params?.hint };
}

/**
 * For `a | b` zod reports every branch's issues. The branch the author meant is the one that got
 * past the top-level type check (a list for the list form, a mapping for the single form).
 */
function unionBranch(issue: z.core.$ZodIssueInvalidUnion, path: DocPath, data: unknown): DocIssue[] {
  const wrongShape = (branch: readonly z.core.$ZodIssue[]) =>
    branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0;
  const meant = issue.errors.find((branch) => !wrongShape(branch));
  if (meant) return meant.flatMap((inner) => convert(inner, path, data));
  const expected = issue.errors.map((branch) =>
    expectedName((branch[0] as z.core.$ZodIssueInvalidType).expected),
  );
  return [{ path, message: `expected ${expected.join(' or ')}, got ${describe(valueAt(data, path))}` }];
}

/** A missing or unknown step `type` (zod: "Invalid discriminator value"). */
function discriminator(issue: z.core.$ZodIssueInvalidUnion, path: DocPath, value: unknown): DocIssue[] {
  const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
  const list = options.map((o) => `\`${o}\``).join(', ');
  if (value === undefined) return [{ path, message: 'is required', hint: `one of ${list}` }];
  return [
    { path, message: `unknown step type \`${String(value)}\``, hint: didYouMean(String(value), options) },
  ];
}
