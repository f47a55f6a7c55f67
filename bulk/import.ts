import path from 'node:path';
import { DEFAULT_TIMEZONE } from '../rules/config';
import { BatchClient, Interrupted, type BatchClientOptions } from './batch-client';
import {
  checkpointPath,
  fingerprint,
  mismatch,
  readCheckpoint,
  removeCheckpoint,
  writeCheckpoint,
  type ImportCheckpoint,
  type ImportCounts,
} from './checkpoint';
import { MAPPINGS } from './mapping';
import type { ImportFormat, ImportKind, MappingContext } from './message';
import { noProgress, type ImportProgress } from './progress';
import { readCsv } from './read-csv';
import { readJsonl } from './read-jsonl';
import { RejectsFile, type Reject } from './rejects';
import { ImportError, type ReadFrom, type ReadProgress, type SourceItem } from './source';
import { RowError } from './values';

/** The API's largest batch (server/ingest/schemas.ts MAX_BATCH_SIZE). */
export const MAX_BATCH_ROWS = 500;
/** Batches stay under the API's default 500 KB body limit, with room for the envelope. */
export const DEFAULT_BATCH_BYTES = 400_000;
/** Batches in flight by default: enough to hide the API's latency per batch. */
export const DEFAULT_CONCURRENCY = 2;

export interface ImportOptions {
  file: string;
  kind: ImportKind;
  /** Default: from the file's extension (.csv; .jsonl, .ndjson, .json). */
  format?: ImportFormat;
  url: string;
  writeKey: string;
  /** Rows per batch (default and at most 500, the API's limit). */
  batchSize?: number;
  /** JSON bytes per batch (default 400 000). */
  maxBatchBytes?: number;
  /** Batches in flight at once (default 2). A resume re-sends at most this many. */
  concurrency?: number;
  /**
   * `fresh` (default): refuse when a checkpoint of an earlier run exists; `resume`: go on from it
   * (from the start when there is none); `restart`: drop it and start over.
   */
  mode?: 'fresh' | 'resume' | 'restart';
  /** Zone of times written without an offset (default Asia/Shanghai, the rules' default). */
  timeZone?: string;
  progress?: ImportProgress;
  /** Aborting stops reading; batches in flight are abandoned (a resume re-sends them). */
  signal?: AbortSignal;
  retry?: Pick<BatchClientOptions, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'timeoutMs'>;
}

export interface ImportResult {
  file: string;
  kind: ImportKind;
  format: ImportFormat;
  /** Totals over every run of this import (a resumed one included). */
  rows: number;
  accepted: number;
  rejected: number;
  /** Where this run started, when it resumed a checkpoint. */
  resumedFrom?: { line: number; offset: number };
  /** Stopped by the signal (Ctrl-C): the checkpoint is kept, `--resume` goes on. */
  interrupted: boolean;
  /** The last line done (all its rows accepted or rejected). */
  line: number;
  rejectsFile?: string;
  checkpointFile?: string;
  /** Batches sent in this run. */
  batches: number;
  durationMs: number;
  /** Rows per second of this run. */
  rowsPerSec: number;
}

/** A batch under way: its messages (JSON) with their lines and rows, the rows rejected before sending. */
interface Unit {
  seq: number;
  payloads: string[];
  lines: number[];
  rows: Record<string, unknown>[];
  rejects: Reject[];
  bytes: number;
  /** Rows read into it (sent or rejected). */
  count: number;
  end: number;
  endLine: number;
}

export function formatOf(file: string, given?: ImportFormat): ImportFormat {
  if (given) return given;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new ImportError(
    `${file}: cannot tell the format from the extension; pass --format csv or --format jsonl`,
  );
}

/**
 * Imports a CSV or JSONL file of members, orders or events through `/v1/batch` (docs/import.md):
 * - streaming: rows are read as batches are sent, at most `concurrency` batches held at once;
 * - each row mapped to a message with a deterministic messageId (bulk/map-*.ts);
 * - bad rows (unreadable, unmappable, refused by the API) go to `<file>.rejects.jsonl` with their
 *   line, the others go on;
 * - batches are done in file order: after each one the checkpoint `<file>.import-state.json`
 *   records the offset, so an interrupted or crashed import resumes there (`mode: 'resume'`).
 */
export async function runImport(opts: ImportOptions): Promise<ImportResult> {
  const startedAt = Date.now();
  const { file, kind } = opts;
  const format = formatOf(file, opts.format);
  const batchSize = Math.min(MAX_BATCH_ROWS, Math.max(1, opts.batchSize ?? MAX_BATCH_ROWS));
  const maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_BATCH_BYTES;
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const progress = opts.progress ?? noProgress;
  const mode = opts.mode ?? 'fresh';

  const fp = await fingerprint(file).catch((err: NodeJS.ErrnoException) => {
    throw new ImportError(`${file}: cannot read the file (${err.code ?? err.message})`);
  });
  const previous = readCheckpoint(file);
  let from: ReadFrom = { offset: 0, line: 0 };
  const counts: ImportCounts = { rows: 0, accepted: 0, rejected: 0 };
  let keepRejects = 0;
  if (previous && mode === 'fresh') {
    throw new ImportError(
      `an earlier import of ${file} stopped at line ${previous.line} (${checkpointPath(file)}): ` +
        'run it again with --resume to go on from there, or --restart to start over',
    );
  }
  if (previous && mode === 'resume') {
    const why = mismatch(previous, fp, kind, format);
    if (why)
      throw new ImportError(
        `cannot resume from ${checkpointPath(file)}: ${why}. Use --restart to import the file from the start ` +
          '(rows already imported are recognised by their messageIds)',
      );
    from = { offset: previous.offset, line: previous.line };
    Object.assign(counts, previous.counts);
    keepRejects = previous.rejectsBytes;
  }
  if (previous && mode === 'restart') removeCheckpoint(file);

  const startRows = counts.rows;
  const rejects = new RejectsFile(file, keepRejects);
  const ctx: MappingContext = {
    timeZone: opts.timeZone ?? DEFAULT_TIMEZONE,
    fileKey: fp.headSha256.slice(0, 16),
    pseudonymKey: opts.writeKey,
  };
  const map = MAPPINGS[kind];
  const read: ReadProgress = { bytes: from.offset };
  let rowsRead = counts.rows;
  let note: string | undefined;
  const state = () => ({
    bytes: read.bytes,
    rows: rowsRead,
    accepted: counts.accepted,
    rejected: counts.rejected,
    note,
  });
  const client = new BatchClient({
    url: opts.url,
    writeKey: opts.writeKey,
    ...opts.retry,
    signal: opts.signal,
    onRetry: (why, delayMs) => {
      note = `retrying in ${(delayMs / 1000).toFixed(1)} s: the server ${why}`;
      progress.update(state());
    },
  });

  let done = { offset: from.offset, line: from.line };
  let failure: unknown;
  let batches = 0;
  let seq = 0;
  let nextCommit = 0;
  let open = 0;
  const finished = new Map<
    number,
    { unit: Unit; refused: { index: number; reason: string }[]; accepted: number }
  >();
  const running = new Set<Promise<void>>();
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  // Units are committed strictly in file order: rejects written, counts and checkpoint moved on.
  const commitReady = () => {
    for (let ready = finished.get(nextCommit); ready; ready = finished.get(nextCommit)) {
      finished.delete(nextCommit);
      const { unit, refused, accepted } = ready;
      const all = [
        ...unit.rejects,
        ...refused.map((r) => ({
          line: unit.lines[r.index]!,
          reason: `refused by the server: ${r.reason}`,
          row: unit.rows[r.index],
        })),
      ].sort((a, b) => a.line - b.line);
      rejects.write(all);
      counts.rows += unit.count;
      counts.accepted += accepted;
      counts.rejected += all.length;
      done = { offset: unit.end, line: unit.endLine };
      writeCheckpoint(file, checkpointOf(kind, format, fp, done, rejects.bytes, counts));
      nextCommit += 1;
      open -= 1;
    }
    progress.update(state());
    notify();
  };

  const dispatch = (unit: Unit) => {
    open += 1;
    const task = (async () => {
      try {
        const result =
          unit.payloads.length > 0 ? await client.send(unit.payloads) : { accepted: 0, refused: [] };
        if (unit.payloads.length > 0) batches += 1;
        note = undefined;
        finished.set(unit.seq, { unit, ...result });
        commitReady();
      } catch (err) {
        failure ??= err;
        notify();
      }
    })();
    running.add(task);
    void task.finally(() => running.delete(task));
  };

  const newUnit = (): Unit => ({
    seq: seq++,
    payloads: [],
    lines: [],
    rows: [],
    rejects: [],
    bytes: 0,
    count: 0,
    end: done.offset,
    endLine: done.line,
  });
  let unit = newUnit();
  // The next batch is read while `concurrency` are in flight, and sent the moment one is done.
  const flush = async () => {
    if (unit.count === 0) return;
    while (open >= concurrency && failure === undefined)
      await new Promise<void>((resolve) => (wake = resolve));
    if (failure !== undefined) return;
    dispatch(unit);
    unit = newUnit();
  };

  progress.start(fp.size, state());
  const items: AsyncGenerator<SourceItem> =
    format === 'csv' ? readCsv(file, from, read) : readJsonl(file, from, read);
  try {
    for await (const item of items) {
      if (failure !== undefined || opts.signal?.aborted) break;
      rowsRead += 1;
      if (item.kind === 'bad') {
        unit.rejects.push({
          line: item.line,
          reason: item.reason,
          ...(item.raw !== undefined && { row: item.raw }),
        });
      } else {
        try {
          const payload = JSON.stringify(map({ line: item.line, fields: item.fields }, ctx));
          if (
            unit.payloads.length >= batchSize ||
            (unit.payloads.length > 0 && unit.bytes + payload.length + 1 > maxBatchBytes)
          )
            await flush();
          unit.payloads.push(payload);
          unit.lines.push(item.line);
          unit.rows.push(item.fields);
          unit.bytes += payload.length + 1;
        } catch (err) {
          if (!(err instanceof RowError)) throw err;
          unit.rejects.push({ line: item.line, reason: err.message, row: item.fields });
        }
      }
      unit.count += 1;
      unit.end = item.end;
      unit.endLine = item.endLine;
      if (unit.rejects.length >= 1000) await flush();
    }
    if (failure === undefined && !opts.signal?.aborted) await flush();
  } catch (err) {
    // The reader met a record past which the file cannot be read: the rows before it still go.
    if (err instanceof ImportError && failure === undefined && unit.count > 0) dispatch(unit);
    failure ??= err;
  }
  await Promise.allSettled([...running]);
  rejects.close();
  progress.stop(state());

  const interrupted = opts.signal?.aborted === true || failure instanceof Interrupted;
  const result: ImportResult = {
    file,
    kind,
    format,
    ...counts,
    ...(from.offset > 0 && { resumedFrom: { line: from.line, offset: from.offset } }),
    interrupted,
    line: done.line,
    ...(counts.rejected > 0 && { rejectsFile: rejects.path }),
    batches,
    durationMs: Date.now() - startedAt,
    rowsPerSec: Math.round(((counts.rows - startRows) * 1000) / Math.max(1, Date.now() - startedAt)),
  };
  if (interrupted) return { ...result, checkpointFile: checkpointPath(file) };
  if (failure !== undefined) {
    const why = failure instanceof Error ? failure.message : String(failure);
    const where =
      done.line > 0
        ? `; every row up to line ${done.line} is done (${checkpointPath(file)}), --resume goes on from there`
        : '';
    throw new ImportError(`${why}${where}`);
  }
  removeCheckpoint(file);
  return result;
}

function checkpointOf(
  kind: ImportKind,
  format: ImportFormat,
  file: ImportCheckpoint['file'],
  done: { offset: number; line: number },
  rejectsBytes: number,
  counts: ImportCounts,
): ImportCheckpoint {
  return {
    version: 1,
    kind,
    format,
    file,
    ...done,
    rejectsBytes,
    counts: { ...counts },
    updatedAt: new Date().toISOString(),
  };
}
