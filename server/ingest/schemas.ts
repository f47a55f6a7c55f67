import { z } from 'zod';
import { jsonObject } from './json-object';

/**
 * Request shapes of the Segment-compatible ingestion API. Unknown fields (sentAt, integrations,
 * writeKey, channel, version, type on single calls, ...) are accepted and dropped. `null` is
 * accepted wherever a field is optional, as analytics.js sends `userId: null` for anonymous users.
 */

export const MAX_ID_LENGTH = 256;
export const MAX_EVENT_NAME_LENGTH = 200;
export const MAX_BATCH_SIZE = 500;
export const SUPPORTED_TYPES = ['track', 'identify'] as const;
export type SupportedType = (typeof SUPPORTED_TYPES)[number];

const id = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`);

/** RFC 3339 / ISO-8601 date and time with an explicit offset (`Z` or `+08:00`). */
const timestamp = z.iso.datetime({
  offset: true,
  error: 'must be an ISO-8601 date-time with a time zone, e.g. 2024-05-01T12:00:00Z',
});

const common = {
  userId: id.nullish(),
  anonymousId: id.nullish(),
  messageId: id.nullish(),
  timestamp: timestamp.nullish(),
  context: jsonObject.nullish(),
};

export const trackSchema = z.object({
  ...common,
  event: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .min(1, 'must not be empty')
    .max(MAX_EVENT_NAME_LENGTH, `must be at most ${MAX_EVENT_NAME_LENGTH} characters`),
  properties: jsonObject.nullish(),
});

export const identifySchema = z.object({
  ...common,
  traits: jsonObject.nullish(),
});

export const batchSchema = z.object({
  batch: z
    .array(z.unknown(), {
      error: (issue) => (issue.input === undefined ? 'is required' : 'must be an array'),
    })
    .min(1, 'must hold at least one message')
    .max(MAX_BATCH_SIZE, `must hold at most ${MAX_BATCH_SIZE} messages`),
  /** Shared by every message of the batch; each message's own context keys win. */
  context: jsonObject.nullish(),
});

export type TrackInput = z.output<typeof trackSchema>;
export type IdentifyInput = z.output<typeof identifySchema>;

/** A validated message, tagged with its type. */
export type ValidMessage = ({ type: 'track' } & TrackInput) | ({ type: 'identify' } & IdentifyInput);
