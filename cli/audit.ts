import fs from 'node:fs';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { AuditVerification } from '../audit-log/types';
import { AdminClient, type ServerOptions } from './client';
import { CliError, type CliIo } from './io';
import { resolvePath } from './journeys';

const HEAD = /^\d{1,15}:[0-9a-f]{64}$/;

/**
 * `touchpoint audit verify|export` (docs/audit-log.md), against a running server's audit API with
 * a key whose role may read the audit log (auditor or admin).
 */
export function registerAuditCommands(program: Command, io: CliIo, state: { exitCode: number }): void {
  const audit = program
    .command('audit')
    .description('the audit log: verify its hash chain, export it as JSONL');
  const withServer = (cmd: Command) =>
    cmd
      .option('--url <url>', 'server URL (default: TOUCHPOINT_URL or http://localhost:$PORT, 3000)')
      .option('--key <key>', 'an auditor or admin key (default: TOUCHPOINT_ADMIN_KEY)');

  withServer(
    audit
      .command('verify')
      .description('walk the whole chain: exit 1 when an entry was edited, deleted, reordered or cut off')
      .option(
        '--expect-head <seq:hash>',
        'the head an earlier verify printed (or an archive ends with): proves nothing after it was cut off',
      )
      .option('--json', 'print the server’s answer as JSON'),
  ).action(async (opts: ServerOptions & { expectHead?: string; json?: boolean }) => {
    if (opts.expectHead !== undefined && !HEAD.test(opts.expectHead))
      throw new CliError('--expect-head: expected seq:hash, as `touchpoint audit verify` prints the head');
    const query = opts.expectHead ? `?expectHead=${encodeURIComponent(opts.expectHead)}` : '';
    const result = await new AdminClient(io, opts).get<AuditVerification>(`/v1/audit/verify${query}`);
    if (!result.ok) state.exitCode = 1;
    if (opts.json) return void io.out(`${JSON.stringify(result, null, 2)}\n`);
    const head = result.head ? `${result.head.seq}:${result.head.hash}` : 'none (empty log)';
    const count = `${result.entries} ${result.entries === 1 ? 'entry' : 'entries'}`;
    if (result.ok) {
      io.out(`audit log intact: ${count}\nhead ${head}\n`);
      return;
    }
    const n = result.problems.length;
    io.out(`audit log NOT intact: ${n} ${n === 1 ? 'problem' : 'problems'} in ${count}\n`);
    for (const p of result.problems) io.out(`  seq ${p.seq}: ${p.problem}\n`);
    io.out(`head ${head}\n`);
  });

  withServer(
    audit
      .command('export')
      .description('every entry (after a seq) as JSON Lines, one entry per line, oldest first')
      .option('--after <seq>', 'only entries after this seq (the last one of an earlier export)', '0')
      .option('-o, --out <file>', 'write to this file instead of stdout'),
  ).action(async (opts: ServerOptions & { after: string; out?: string }) => {
    if (!/^\d{1,15}$/.test(opts.after)) throw new CliError('--after: expected an entry seq (0 or more)');
    const body = await new AdminClient(io, opts).stream(
      `/v1/audit/export?after=${opts.after}`,
      'application/x-ndjson',
    );
    const counter = new LineCounter();
    if (opts.out) {
      const file = resolvePath(io, opts.out);
      // Written beside the target and renamed at the end: a cut-off export leaves no partial file.
      const partial = `${file}.partial`;
      try {
        await pipeline(body, counter, fs.createWriteStream(partial));
        fs.renameSync(partial, file);
      } catch (err) {
        fs.rmSync(partial, { force: true });
        throw new CliError(`export failed: ${(err as Error).message}`);
      }
      const last = counter.lastSeq === undefined ? '' : `, last seq ${counter.lastSeq}`;
      io.out(
        `exported ${counter.lines} ${counter.lines === 1 ? 'entry' : 'entries'} to ${opts.out}${last}\n`,
      );
      return;
    }
    const decoder = new TextDecoder();
    try {
      await pipeline(
        body,
        counter,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            io.out(decoder.decode(chunk, { stream: true }));
            done();
          },
        }),
      );
    } catch (err) {
      throw new CliError(`export failed after ${counter.lines} entries: ${(err as Error).message}`);
    }
  });
}

/** Passes the export through, counting its lines and remembering the seq of the last one. */
class LineCounter extends Transform {
  lines = 0;
  lastSeq: number | undefined;
  private tail = '';
  private readonly decoder = new TextDecoder();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const lines = (this.tail + this.decoder.decode(chunk, { stream: true })).split('\n');
    this.tail = lines.pop()!;
    try {
      for (const line of lines) this.count(line);
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    // Every entry ends with a newline: anything after the last one is an answer cut off mid-entry.
    done(this.tail === '' ? null : new Error(`the answer ended in the middle of entry ${this.lines + 1}`));
  }

  private count(line: string): void {
    if (line === '') return;
    this.lines++;
    try {
      const { seq } = JSON.parse(line) as { seq?: unknown };
      if (typeof seq === 'number') this.lastSeq = seq;
    } catch {
      throw new Error(`entry ${this.lines} of the answer is not JSON`);
    }
  }
}
