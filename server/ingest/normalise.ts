import { randomUUID } from 'node:crypto';
import type { IngestEvent } from '../../queues/events';
import type { ValidMessage } from './schemas';

/**
 * The job data for one validated message. Objects are built fresh from known fields (free-form
 * objects pass through as JSON.parse made them), and merged with spread, which defines
 * properties rather than assigning them, so no `__proto__` setter can ever run.
 */
export function toIngestEvent(
  message: ValidMessage,
  receivedAt: Date,
  batchContext?: Record<string, unknown>,
): IngestEvent {
  const received = receivedAt.toISOString();
  const context = mergeContext(batchContext, message.context ?? undefined);
  const base = {
    ...(message.userId != null && { userId: message.userId }),
    ...(message.anonymousId != null && { anonymousId: message.anonymousId }),
    messageId: message.messageId ?? randomUUID(),
    // Canonical UTC form, so that consumers can compare timestamps as strings.
    timestamp: message.timestamp ? new Date(message.timestamp).toISOString() : received,
    receivedAt: received,
    ...(context && { context }),
  };
  return message.type === 'track'
    ? { type: 'track', ...base, event: message.event, properties: message.properties ?? {} }
    : { type: 'identify', ...base, traits: message.traits ?? {} };
}

/** Segment's batch rule: the batch's context applies to every message; the message's own keys win. */
function mergeContext(
  batchContext: Record<string, unknown> | undefined,
  own: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!batchContext) return own;
  if (!own) return batchContext;
  return { ...batchContext, ...own };
}
