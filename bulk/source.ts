/**
 * What a reader yields, in file order: a row with its fields, or a row that could not be read
 * (a CSV row with the wrong number of fields, a JSONL line that is not a JSON object).
 * `end` is the byte offset just after the item, `endLine` the number of lines up to there: the
 * checkpoint an import resumes from. `line` is the item's first line (what rejects report).
 */
export type SourceItem =
  | { kind: 'row'; line: number; end: number; endLine: number; fields: Record<string, unknown> }
  | { kind: 'bad'; line: number; end: number; endLine: number; reason: string; raw?: unknown };

/** Where a reader starts: 0 / 0, or a checkpoint (byte offset just after a row, lines before it). */
export interface ReadFrom {
  offset: number;
  line: number;
}

/** A problem that ends the whole import (an unreadable header, an unclosed quote at the end). */
export class ImportError extends Error {
  override name = 'ImportError';
}

/** Bytes of file read so far, for progress: readers update it as they go. */
export interface ReadProgress {
  bytes: number;
}
