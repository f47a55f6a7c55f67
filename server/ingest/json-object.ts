import { z } from 'zod';

/**
 * Keys refused anywhere inside properties, traits and context. express.json makes `__proto__` an
 * ordinary own key, but any later `target[key] = value` copy (Object.assign, a naive deep merge
 * of traits into a profile) would turn it, or `constructor.prototype`, into prototype pollution.
 * Refusing them at the door keeps every consumer downstream safe.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Deeper nesting than this is refused (it is never real event data, and it bounds our walk). */
export const MAX_DEPTH = 32;

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Problem {
  path: (string | number)[];
  message: string;
}

/** Reserved keys and excessive nesting inside `root`, found without recursion. */
function problemsIn(root: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const stack: { value: object; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (path.length >= MAX_DEPTH) {
      problems.push({ path, message: `nested more than ${MAX_DEPTH} levels deep` });
      continue;
    }
    const entries: [string | number, unknown][] = Array.isArray(value)
      ? [...value.entries()]
      : Object.entries(value);
    const children: typeof stack = [];
    for (const [key, child] of entries) {
      if (typeof key === 'string' && RESERVED_KEYS.has(key)) {
        problems.push({ path: [...path, key], message: `"${key}" is a reserved key` });
      } else if (typeof child === 'object' && child !== null) {
        children.push({ value: child, path: [...path, key] });
      }
    }
    // Pushed last-first so that children are visited in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return problems;
}

/**
 * A free-form JSON object (properties, traits, context). The value passes through as parsed by
 * JSON.parse, never copied, so no setter can run on the way.
 */
export const jsonObject = z
  .custom<Record<string, unknown>>(isJsonObject, { error: 'must be a JSON object' })
  .superRefine((value, ctx) => {
    for (const { path, message } of problemsIn(value)) ctx.addIssue({ code: 'custom', path, message });
  });
