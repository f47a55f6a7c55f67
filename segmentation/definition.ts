import { z } from 'zod';
import { conditionSchema, friendlyMessage, strict } from '../language/schema';
import type { Condition } from '../language/types';

/**
 * A segment as config: `segments/<id>.yaml` holds a name, an optional description and a `where`
 * condition over the customer (traits, computed traits, tags, RFM group, lifecycle stage) and the
 * events they had in time windows (`count`). Its id is its file name.
 */
export interface Segment {
  id: string;
  name: string;
  description?: string;
  where: Condition;
}

/** Segment ids are slugs like journey ids: they appear in event properties and URLs. */
export const SEGMENT_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const segmentId = z.string().regex(SEGMENT_ID, {
  message: 'must be a lowercase slug: letters a-z, digits and single hyphens (e.g. `high-value`)',
});

/** The source form, as written in YAML (or JSON). `id` may be left out: the file name is the id. */
export const segmentSourceSchema = strict({
  id: segmentId.optional(),
  name: z.string().trim().min(1, { message: 'must not be empty' }),
  description: z.string().optional(),
  where: conditionSchema,
});

export type SegmentSource = z.output<typeof segmentSourceSchema>;

export function parseSegmentSource(data: unknown) {
  return segmentSourceSchema.safeParse(data, { error: friendlyMessage });
}
