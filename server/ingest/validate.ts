import type { z } from 'zod';
import { formatPath, invalidRequest, type Issue } from '../errors';
import { isJsonObject } from './json-object';
import {
  batchSchema,
  identifySchema,
  MAX_BATCH_SIZE,
  SUPPORTED_TYPES,
  trackSchema,
  type SupportedType,
  type ValidMessage,
} from './schemas';

/**
 * Validation that reports every bad field at once (not just the first), as client paths such
 * as `batch[2].properties.amount`, and throws a 400 ApiError if there is any.
 */

const messageSchemas = {
  track: trackSchema.transform((data) => ({ type: 'track' as const, ...data })),
  identify: identifySchema.transform((data) => ({ type: 'identify' as const, ...data })),
};

const bodyNotAnObject = () => invalidRequest([{ path: '', message: 'request body must be a JSON object' }]);

function zodIssues(error: z.ZodError, at: readonly PropertyKey[]): Issue[] {
  return error.issues.map((issue) => ({ path: formatPath([...at, ...issue.path]), message: issue.message }));
}

/** Adds the problems of one message to `issues`; returns the message if it has none. */
function checkMessage(
  type: SupportedType,
  raw: Record<string, unknown>,
  at: readonly PropertyKey[],
  issues: Issue[],
): ValidMessage | undefined {
  const before = issues.length;
  // Segment's rule, checked apart from the schema so it is reported alongside the other fields.
  if (raw.userId == null && raw.anonymousId == null) {
    issues.push({ path: formatPath([...at, 'userId']), message: 'userId or anonymousId is required' });
  }
  // `customerId` names a customer inside Touchpoint (internal events); clients name people by
  // userId / anonymousId and the identity graph decides the customer.
  if (Object.prototype.hasOwnProperty.call(raw, 'customerId')) {
    issues.push({
      path: formatPath([...at, 'customerId']),
      message: 'is set by Touchpoint only: send userId or anonymousId (and identifiers in traits)',
    });
  }
  const result = messageSchemas[type].safeParse(raw);
  if (!result.success) issues.push(...zodIssues(result.error, at));
  return result.success && issues.length === before ? result.data : undefined;
}

/** The body of POST /v1/track or /v1/identify. */
export function validateMessage(type: SupportedType, body: unknown): ValidMessage {
  if (!isJsonObject(body)) throw bodyNotAnObject();
  const issues: Issue[] = [];
  const message = checkMessage(type, body, [], issues);
  if (!message) throw invalidRequest(issues);
  return message;
}

function describeType(type: unknown): string {
  const supported = SUPPORTED_TYPES.map((t) => `"${t}"`).join(', ');
  if (type === undefined || type === null) return `is required: one of ${supported}`;
  const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : `a ${typeof type}`;
  return `unsupported type ${shown}: supported types are ${supported}`;
}

export interface ValidBatch {
  messages: ValidMessage[];
  /** The batch-level context, to be merged into every message. */
  context?: Record<string, unknown>;
}

/** The body of POST /v1/batch: either every message is valid, or nothing is. */
export function validateBatch(body: unknown): ValidBatch {
  if (!isJsonObject(body)) throw bodyNotAnObject();

  const envelope = batchSchema.safeParse(body);
  const issues = envelope.success ? [] : zodIssues(envelope.error, []);
  const items = Array.isArray(body.batch) && body.batch.length <= MAX_BATCH_SIZE ? body.batch : [];

  const messages: ValidMessage[] = [];
  items.forEach((item: unknown, i) => {
    const at = ['batch', i];
    if (!isJsonObject(item)) {
      issues.push({ path: formatPath(at), message: 'must be a JSON object' });
      return;
    }
    const type = item.type;
    if (!SUPPORTED_TYPES.includes(type as SupportedType)) {
      issues.push({ path: formatPath([...at, 'type']), message: describeType(type) });
      return;
    }
    const message = checkMessage(type as SupportedType, item, at, issues);
    if (message) messages.push(message);
  });

  if (issues.length > 0 || !envelope.success) throw invalidRequest(issues);
  return { messages, context: envelope.data.context ?? undefined };
}
