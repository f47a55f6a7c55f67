import { once } from 'node:events';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AuditEntry, AuditEntryInput, AuditLog } from '../../audit-log/types';
import type { Access } from '../auth';
import { formatPath, invalidRequest } from '../errors';
import { auditActorOf, originOf } from '../request-origin';

/**
 * Appends what a request did, as its principal from where it came. Call it once the change is
 * made and before answering: a refused request never gets here, and a change whose entry could
 * not be written answers 500 rather than passing unrecorded.
 */
export function auditChange(
  auditLog: Pick<AuditLog, 'append'>,
  req: Request,
  res: Response,
  change: Pick<AuditEntryInput, 'action' | 'target' | 'reason' | 'detail'>,
): Promise<AuditEntry> {
  return auditLog.append({ actor: auditActorOf(req, res), from: originOf(req), ...change });
}

const MAX_PAGE = 1000;

const seq = (what: string) =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int(`must be ${what}`)
    .min(0, `must be ${what}`);
const isoTime = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time');

const listQuery = z.strictObject({
  after: seq('an entry seq (0 or more)').optional(),
  before: seq('an entry seq (0 or more)').optional(),
  order: z.enum(['asc', 'desc'], { error: 'must be asc or desc' }).optional(),
  limit: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_PAGE, `must be at most ${MAX_PAGE}`)
    .optional(),
  action: z.string().min(1).max(100).optional(),
  actor: z.string().min(1).max(200).optional(),
  target: z.string().min(1).max(500).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
});

const exportQuery = z.strictObject({ after: seq('an entry seq (0 or more)').optional() });

/** `seq:hash`, as verify reported it (and an archive kept it). */
const HEAD = /^(\d{1,15}):([0-9a-f]{64})$/;
const verifyQuery = z.strictObject({
  expectHead: z
    .string()
    .regex(HEAD, 'must be seq:hash, the head an earlier verify reported (e.g. 42:<64 hex digits>)')
    .optional(),
});

function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  throw invalidRequest(
    parsed.error.issues.map((i) => ({
      path: formatPath(['query', ...(i.code === 'unrecognized_keys' ? i.keys.slice(0, 1) : i.path)]),
      message: i.code === 'unrecognized_keys' ? 'unknown query parameter' : i.message,
    })),
  );
}

/**
 * The audit log (audit:read), docs/audit-log.md:
 * - `GET /v1/audit`: entries, oldest first paging with `after` (or newest first with
 *   `order=desc` and `before`), filtered by action, actor, target (`prefix*`) and time;
 * - `GET /v1/audit/export?after=`: every entry after a seq as NDJSON, streamed, for an archive;
 * - `GET /v1/audit/verify?expectHead=seq:hash`: walks the whole chain.
 */
export function auditLogRouter({ access, auditLog }: { access: Access; auditLog: AuditLog }): Router {
  const router = express.Router();
  const auth = access.require('audit:read');

  router.get('/', auth, async (req, res) => {
    res.json(await auditLog.list(parseQuery(listQuery, req.query)));
  });

  router.get('/export', auth, async (req, res) => {
    const { after } = parseQuery(exportQuery, req.query);
    res.status(200);
    res.type('application/x-ndjson');
    res.set('Content-Disposition', 'attachment; filename="touchpoint-audit.jsonl"');
    try {
      for await (const entry of auditLog.scan(after ?? 0)) {
        if (res.destroyed) return;
        if (!res.write(`${JSON.stringify(entry)}\n`)) await drained(res);
      }
      res.end();
    } catch (err) {
      // Half an export must not look like a whole one: cut the connection instead of ending it.
      if (!res.headersSent) throw err;
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  });

  router.get('/verify', auth, async (req, res) => {
    const { expectHead } = parseQuery(verifyQuery, req.query);
    const match = expectHead ? HEAD.exec(expectHead) : null;
    res.json(await auditLog.verify(match ? { expectHead: { seq: Number(match[1]), hash: match[2]! } } : {}));
  });

  return router;
}

/** Waits until the client took what was written (or went away). */
async function drained(res: Response): Promise<void> {
  const done = new AbortController();
  const { signal } = done;
  // The listener that did not fire is removed, so a long export does not pile them up.
  await Promise.race([once(res, 'drain', { signal }), once(res, 'close', { signal })]).catch(() => undefined);
  done.abort();
}
