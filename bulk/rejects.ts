import fs from 'node:fs';

/** One line of `<file>.rejects.jsonl`: the row's first line in the input, why, and what it held. */
export interface Reject {
  line: number;
  reason: string;
  row?: unknown;
}

export function rejectsPath(file: string): string {
  return `${file}.rejects.jsonl`;
}

/**
 * The rejects file, appended to as batches are done (in file order), so its size at a checkpoint
 * is where a resumed import cuts it back to: a row rejected before the crash is not listed twice.
 */
export class RejectsFile {
  readonly path: string;
  private fd: number | undefined;
  private size: number;

  /** `keepBytes`: what to keep of an existing file (0: start it afresh). */
  constructor(file: string, keepBytes: number) {
    this.path = rejectsPath(file);
    const existing = fs.statSync(this.path, { throwIfNoEntry: false });
    if (existing) fs.truncateSync(this.path, Math.min(keepBytes, existing.size));
    this.size = existing ? Math.min(keepBytes, existing.size) : 0;
  }

  get bytes(): number {
    return this.size;
  }

  write(rejects: readonly Reject[]): void {
    if (rejects.length === 0) return;
    const text = rejects.map((r) => `${JSON.stringify(r)}\n`).join('');
    this.fd ??= fs.openSync(this.path, 'a');
    const buf = Buffer.from(text);
    fs.writeSync(this.fd, buf);
    this.size += buf.length;
  }

  /** Closes it; an empty file is removed (nothing was rejected). */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    if (this.size === 0) fs.rmSync(this.path, { force: true });
  }
}
