import fs from 'node:fs';
import { Parser } from 'csv-parse';
import { columnKey } from './values';
import { ImportError, type ReadFrom, type ReadProgress, type SourceItem } from './source';

/** Longest CSV record read (an unclosed quote would otherwise swallow the rest of the file). */
export const MAX_RECORD_BYTES = 1 << 20;

const CHUNK_BYTES = 64 * 1024;

/**
 * csv-parse's push parser: `parse(chunk, end, push, close)` returns an error instead of throwing.
 * It is what csv-parse's own stream runs on (`Parser#api`); used directly because the stream
 * drops the records still in its buffer when it errors (an unclosed quote at the end of the
 * file would lose the rows before it), and because pushes happen synchronously, so the parser's
 * byte count at each push is the end offset of that record: the resume point.
 */
interface CsvApi {
  parse(
    buf: Buffer | undefined,
    end: boolean,
    push: (record: string[]) => void,
    close: () => void,
  ): (Error & { code?: string }) | undefined;
  info: { bytes: number };
}

const OPTIONS = {
  bom: true,
  // Lenient: a stray quote inside a field is a character, a row with too few or too many fields
  // is a record; such rows are reported one by one (rejects) instead of stopping the import.
  relax_quotes: true,
  relax_column_count: true,
  skip_empty_lines: true,
  max_record_size: MAX_RECORD_BYTES,
};

function newParser(): CsvApi {
  const api = (new Parser(OPTIONS) as unknown as { api?: CsvApi }).api;
  if (!api || typeof api.parse !== 'function')
    throw new Error('csv-parse changed: Parser#api.parse is missing (see bulk/read-csv.ts)');
  return api;
}

const NL = 0x0a;

function countNewlines(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(NL, from); i !== -1 && i < to; i = buf.indexOf(NL, i + 1)) n++;
  return n;
}

/** The header row (column names) and the byte offset / line just after it. */
export async function readCsvHeader(
  file: string,
): Promise<{ columns: string[]; end: number; endLine: number }> {
  const api = newParser();
  let header: string[] | undefined;
  let end = 0;
  let offset = 0;
  let lines = 0;
  const stream = fs.createReadStream(file, { highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const err = api.parse(
        chunk,
        false,
        (record) => {
          if (header) return;
          header = record;
          end = api.info.bytes;
        },
        () => undefined,
      );
      if (header) {
        lines += countNewlines(chunk, 0, end - offset);
        break;
      }
      if (err) throw new ImportError(`line 1: the header cannot be read: ${err.message}`);
      lines += countNewlines(chunk, 0, chunk.length);
      offset += chunk.length;
    }
    if (!header) {
      const err = api.parse(
        undefined,
        true,
        (record) => {
          header ??= record;
          end = api.info.bytes;
        },
        () => undefined,
      );
      if (err) throw new ImportError(`line 1: the header cannot be read: ${err.message}`);
    }
  } finally {
    stream.destroy();
  }
  if (!header || header.every((c) => c.trim() === '')) throw new ImportError('the file has no header row');
  const columns = header.map((c) => c.trim());
  const seen = new Map<string, string>();
  for (const column of columns) {
    const key = columnKey(column);
    if (key === '') continue;
    const other = seen.get(key);
    if (other !== undefined)
      throw new ImportError(
        `header: columns ${JSON.stringify(other)} and ${JSON.stringify(column)} are the same column`,
      );
    seen.set(key, column);
  }
  return { columns, end, endLine: lines };
}

/**
 * The rows of a CSV file with a header, from `from` on (a checkpoint's offset, or the start: the
 * header is read apart either way), as they are parsed: the file is read in 64 KiB chunks only
 * when the consumer asks for more, so memory stays flat whatever the file's size.
 */
export async function* readCsv(
  file: string,
  from: ReadFrom,
  progress: ReadProgress,
): AsyncGenerator<SourceItem> {
  const header = await readCsvHeader(file);
  const start = Math.max(from.offset, header.end);
  const columns = header.columns;
  const api = newParser();
  const stream = fs.createReadStream(file, { start, highWaterMark: CHUNK_BYTES });
  // The chunk being parsed: its file offset, the lines before it, and how far newlines are counted.
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = start;
  let linesBeforeChunk = from.offset >= header.end ? from.line : header.endLine;
  let counted = 0;
  let linesAt = linesBeforeChunk;
  let lastEndLine = linesBeforeChunk;
  const pending: SourceItem[] = [];

  const push = (record: string[]) => {
    const end = start + api.info.bytes;
    const upTo = Math.min(end - chunkStart, chunk.length);
    linesAt += countNewlines(chunk, counted, upTo);
    counted = upTo;
    const endsWithNewline = upTo > 0 && chunk[upTo - 1] === NL;
    // The record's last line, then its first: minus the line breaks inside its quoted fields.
    const lastLine = endsWithNewline ? linesAt : linesAt + 1;
    let inner = 0;
    for (const field of record)
      for (let i = field.indexOf('\n'); i !== -1; i = field.indexOf('\n', i + 1)) inner++;
    const line = lastLine - inner;
    lastEndLine = linesAt;
    if (record.length !== header.columns.length && !extraFieldsEmpty(record, header.columns.length)) {
      pending.push({
        kind: 'bad',
        line,
        end,
        endLine: linesAt,
        reason: `${record.length} field${record.length === 1 ? '' : 's'}, the header has ${header.columns.length}`,
        raw: record,
      });
      return;
    }
    // No prototype: a column named `__proto__` is an ordinary key (refused later, by name).
    const fields = Object.create(null) as Record<string, unknown>;
    for (let i = 0; i < columns.length; i++) if (columns[i] !== '') fields[columns[i]!] = record[i] ?? '';
    pending.push({ kind: 'row', line, end, endLine: linesAt, fields });
  };

  /** The record that failed starts after the last one read (blank lines aside). */
  const failed = (err: Error & { code?: string }): Extract<SourceItem, { kind: 'bad' }> => {
    const what =
      err.code === 'CSV_QUOTE_NOT_CLOSED'
        ? 'a quoted field is not closed before the end of the file'
        : err.code === 'CSV_MAX_RECORD_SIZE'
          ? `a record longer than ${MAX_RECORD_BYTES} bytes (an unclosed quote?)`
          : err.message;
    return {
      kind: 'bad',
      line: lastEndLine + 1,
      end: start + api.info.bytes,
      endLine: linesBeforeChunk + countNewlines(chunk, 0, chunk.length),
      reason: what,
    };
  };

  try {
    for await (const next of stream as AsyncIterable<Buffer>) {
      // The previous chunk is done: its newlines all counted.
      linesBeforeChunk += countNewlines(chunk, 0, chunk.length);
      chunkStart += chunk.length;
      chunk = next;
      counted = 0;
      linesAt = linesBeforeChunk;
      const err = api.parse(chunk, false, push, () => undefined);
      progress.bytes = chunkStart + chunk.length;
      yield* pending.splice(0);
      if (err) {
        // Past an unreadable record the file's structure is unknown: the rows before it are kept,
        // the import stops there with the line.
        const bad = failed(err);
        throw new ImportError(`line ${bad.line}: ${bad.reason}`);
      }
    }
    // The parser holds back the last few bytes of a chunk (a delimiter may go on): the last
    // records can come only now, still inside the last chunk.
    const err = api.parse(undefined, true, push, () => undefined);
    yield* pending.splice(0);
    // Only an unclosed quote gets here: everything after it is the one bad record.
    if (err) yield failed(err);
  } finally {
    stream.destroy();
  }
}

/** A row with more fields than the header whose extra fields are all empty (a trailing comma). */
function extraFieldsEmpty(record: string[], columns: number): boolean {
  return record.length > columns && record.slice(columns).every((f) => f.trim() === '');
}
