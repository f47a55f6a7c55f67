import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { ImportFormat, ImportKind } from './message';

/** How much of the file's head is hashed: identifies the file without reading all of it. */
const HEAD_BYTES = 1 << 20;

/** What identifies the input file: a checkpoint applies only to the same file, unchanged. */
export interface FileFingerprint {
  size: number;
  mtimeMs: number;
  /** sha256 (hex) of the first MiB. */
  headSha256: string;
}

export async function fingerprint(file: string): Promise<FileFingerprint> {
  const stat = await fs.promises.stat(file);
  const hash = createHash('sha256');
  const handle = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(HEAD_BYTES, stat.size));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    hash.update(buf.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
  return { size: stat.size, mtimeMs: stat.mtimeMs, headSha256: hash.digest('hex') };
}

/**
 * `<file>.import-state.json`: where an import stopped. Written after each batch whose rows were
 * all accepted or rejected (in file order), so resuming from `offset` sends at most the batches
 * that were in flight again, which their messageIds make harmless.
 */
export interface ImportCheckpoint {
  version: 1;
  kind: ImportKind;
  format: ImportFormat;
  file: FileFingerprint;
  /** Byte offset just after the last row done, and the number of lines up to there. */
  offset: number;
  line: number;
  /** Size of the rejects file at that point: a resumed import truncates it there (no repeats). */
  rejectsBytes: number;
  counts: ImportCounts;
  updatedAt: string;
}

export interface ImportCounts {
  /** Rows read (good and bad). */
  rows: number;
  /** Messages the server accepted (202). */
  accepted: number;
  /** Rows in the rejects file. */
  rejected: number;
}

export function checkpointPath(file: string): string {
  return `${file}.import-state.json`;
}

export function readCheckpoint(file: string): ImportCheckpoint | undefined {
  let text: string;
  try {
    text = fs.readFileSync(checkpointPath(file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as ImportCheckpoint;
  if (parsed.version !== 1)
    throw new Error(`${checkpointPath(file)}: unknown version ${String(parsed.version)}`);
  return parsed;
}

/** Written to a temp file and renamed over: a crash mid-write leaves the previous checkpoint whole. */
export function writeCheckpoint(file: string, checkpoint: ImportCheckpoint): void {
  const target = checkpointPath(file);
  const temp = `${target}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(checkpoint, null, 2)}\n`);
  fs.renameSync(temp, target);
}

export function removeCheckpoint(file: string): void {
  fs.rmSync(checkpointPath(file), { force: true });
}

/** Why a checkpoint does not fit the file as it is now; undefined when it does. */
export function mismatch(
  checkpoint: ImportCheckpoint,
  now: FileFingerprint,
  kind: ImportKind,
  format: ImportFormat,
): string | undefined {
  if (checkpoint.kind !== kind) return `it was an import of ${checkpoint.kind}, not ${kind}`;
  if (checkpoint.format !== format) return `it read the file as ${checkpoint.format}, not ${format}`;
  if (checkpoint.file.size !== now.size)
    return `the file's size changed (${checkpoint.file.size} → ${now.size} bytes)`;
  if (checkpoint.file.headSha256 !== now.headSha256) return 'the start of the file changed';
  if (checkpoint.file.mtimeMs !== now.mtimeMs) return 'the file was modified since';
  return undefined;
}
