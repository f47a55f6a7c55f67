import fs from 'node:fs';
import type { ReadFrom, ReadProgress, SourceItem } from './source';

/** Longest JSONL line read; a longer one is reported (its bytes are skipped, never held). */
export const MAX_LINE_BYTES = 1 << 20;

const CHUNK_BYTES = 64 * 1024;
const NL = 0x0a;

/**
 * The lines of a JSONL file from `from` on, each parsed as one JSON object. Lines are split on the
 * bytes (not with readline) so that each line's end offset is exact: the resume point. Blank lines
 * are skipped; a UTF-8 BOM at the start of the file is ignored.
 */
export async function* readJsonl(
  file: string,
  from: ReadFrom,
  progress: ReadProgress,
): AsyncGenerator<SourceItem> {
  const stream = fs.createReadStream(file, { start: from.offset, highWaterMark: CHUNK_BYTES });
  let offset = from.offset; // file offset of the first byte of `parts`
  let line = from.line; // lines complete before `parts`
  let parts: Buffer[] = [];
  let partsBytes = 0;
  let tooLong = false;

  const item = (body: Buffer | undefined, end: number): SourceItem | undefined => {
    line += 1;
    if (tooLong)
      return { kind: 'bad', line, end, endLine: line, reason: `longer than ${MAX_LINE_BYTES} bytes` };
    let text = body!.toString('utf8');
    if (offset === 0 && line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return {
        kind: 'bad',
        line,
        end,
        endLine: line,
        reason: `not valid JSON: ${(err as Error).message}`,
        raw: cut(text),
      };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return { kind: 'bad', line, end, endLine: line, reason: 'not a JSON object', raw: cut(text) };
    return { kind: 'row', line, end, endLine: line, fields: value as Record<string, unknown> };
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let at = 0;
      const out: SourceItem[] = [];
      for (let nl = chunk.indexOf(NL); nl !== -1; nl = chunk.indexOf(NL, at)) {
        const piece = chunk.subarray(at, nl);
        const body = tooLong ? undefined : parts.length === 0 ? piece : Buffer.concat([...parts, piece]);
        const end = offset + partsBytes + (nl - at) + 1;
        const got = item(body && stripCr(body), end);
        if (got) out.push(got);
        offset = end;
        parts = [];
        partsBytes = 0;
        tooLong = false;
        at = nl + 1;
      }
      if (at < chunk.length) {
        const rest = chunk.subarray(at);
        if (!tooLong && partsBytes + rest.length <= MAX_LINE_BYTES) parts.push(Buffer.from(rest));
        else {
          tooLong = true;
          parts = [];
        }
        partsBytes += rest.length;
      }
      progress.bytes = offset + partsBytes;
      yield* out;
    }
    if (partsBytes > 0) {
      // The last line has no line break.
      const got = item(tooLong ? undefined : stripCr(Buffer.concat(parts)), offset + partsBytes);
      if (got) yield got;
    }
  } finally {
    stream.destroy();
  }
}

function stripCr(buf: Buffer): Buffer {
  return buf.length > 0 && buf[buf.length - 1] === 0x0d ? buf.subarray(0, buf.length - 1) : buf;
}

function cut(text: string): string {
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
}
