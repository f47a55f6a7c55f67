import type { z } from 'zod';
import { formatPath, invalidRequest, type Issue } from '../errors';
import { isJsonObject } from '../ingest/json-object';

/**
 * A JSON body checked against an object schema, every bad field reported at its path (400).
 * Unknown fields are reported too unless `allowUnknown` (bodies from third-party gateways).
 */
export function validateBody<S extends z.ZodObject>(
  schema: S,
  body: unknown,
  { allowUnknown = false } = {},
): z.output<S> {
  if (!isJsonObject(body))
    throw invalidRequest([{ path: '', message: 'request body must be a JSON object' }]);
  const known = Object.keys(schema.shape);
  const issues: Issue[] = allowUnknown
    ? []
    : Object.keys(body)
        .filter((key) => !known.includes(key))
        .map((key) => ({ path: formatPath([key]), message: `unknown field: expected ${known.join(', ')}` }));
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    issues.push(...parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  if (issues.length > 0 || !parsed.success) throw invalidRequest(issues);
  return parsed.data;
}
