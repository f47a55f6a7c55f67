import express, { type Router } from 'express';
import { z } from 'zod';
import type { SegmentCatalog } from '../../segmentation/catalog';
import type { Segment } from '../../segmentation/definition';
import type { SegmentMembers } from '../../segmentation/membership';
import type { Access } from '../auth';
import { ApiError, formatPath, invalidRequest } from '../errors';

/** What the segment routes read: the loaded definitions and the member sets. */
export interface SegmentsApi {
  catalog: SegmentCatalog;
  members: SegmentMembers;
}

const MAX_PAGE = 1000;

const membersQuery = z.object({
  // An SSCAN cursor: `0` (the default) starts; the answer's `cursor` continues.
  cursor: z
    .string()
    .regex(/^\d{1,20}$/, 'must be a cursor from a previous page (digits), or 0 to start')
    .default('0'),
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_PAGE, `must be at most ${MAX_PAGE}`)
    .default(100),
});

/**
 * API under /v1/segments (journeys:read; members runs:read): the segments (definitions from `segments/*.yaml`) with their
 * sizes, one segment with what it depends on, and its members page by page.
 */
export function segmentsRouter({ access, segments }: { access: Access; segments: SegmentsApi }): Router {
  const router = express.Router();

  const find = (id: string): Segment => {
    const segment = segments.catalog.get(id);
    if (!segment) throw new ApiError(404, 'not_found', `no segment ${JSON.stringify(id)}`);
    return segment;
  };

  router.get('/', access.require('journeys:read'), async (_req, res) => {
    const list = segments.catalog.list();
    const sizes = await Promise.all(list.map((s) => segments.members.size(s.id)));
    res.json({
      segments: list.map((s, i) => ({
        id: s.id,
        name: s.name,
        ...(s.description ? { description: s.description } : {}),
        size: sizes[i],
      })),
    });
  });

  router.get('/:id', access.require('journeys:read'), async (req, res) => {
    const segment = find(String(req.params.id));
    const deps = segments.catalog.dependencies(segment.id)!;
    res.json({
      segment: {
        ...segment,
        traits: deps.traits,
        events: [...new Set(deps.counters.map((c) => c.counted.event))],
        timeBased: deps.timeBased,
      },
      size: await segments.members.size(segment.id),
    });
  });

  router.get('/:id/members', access.require('runs:read'), async (req, res) => {
    const segment = find(String(req.params.id));
    const parsed = membersQuery.safeParse(req.query);
    if (!parsed.success) {
      throw invalidRequest(
        parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
      );
    }
    const page = await segments.members.page(segment.id, parsed.data.cursor, parsed.data.limit);
    res.json({
      segment: segment.id,
      members: page.members.sort(),
      // SSCAN's count is a hint: a page may hold a few more or fewer; `null` means the end.
      cursor: page.cursor === '0' ? null : page.cursor,
    });
  });

  return router;
}
