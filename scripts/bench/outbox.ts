import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { OutboxLine } from '../../delivery/providers/outbox';

/**
 * Follows `<outboxDir>/<channel>.jsonl` from where it ends now (or from its start when it does not
 * exist yet), polling for new complete lines. Each line carries `at`, the time the delivery
 * worker wrote it, on this machine's clock.
 */
export class OutboxTail {
  /** First line seen per customer (later lines for the same customer are counted, not kept). */
  readonly firstByCustomer = new Map<string, OutboxLine>();
  /** Lines per idempotency key: more than one would be a duplicate send. */
  readonly keys = new Map<string, number>();
  /** `at` of every line, in ms, in file order. */
  readonly times: number[] = [];
  lines = 0;
  private offset = 0;
  private partial = '';
  /** Keeps a multi-byte character split between two reads whole. */
  private readonly decoder = new StringDecoder('utf8');
  private file?: FileHandle;
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  private constructor(readonly path: string) {}

  static async start(outboxDir: string, channel: string, intervalMs = 25): Promise<OutboxTail> {
    const tail = new OutboxTail(path.join(outboxDir, `${channel}.jsonl`));
    tail.offset = (await stat(tail.path).catch(() => undefined))?.size ?? 0;
    tail.timer = setInterval(() => void tail.poll(), intervalMs);
    return tail;
  }

  /** Reads what was appended since the last poll. */
  poll(): Promise<void> {
    this.polling ??= this.readNew().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readNew(): Promise<void> {
    this.file ??= await open(this.path, 'r').catch(() => undefined);
    if (!this.file) return;
    const buffer = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await this.file.read(buffer, 0, buffer.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const text = this.partial + this.decoder.write(buffer.subarray(0, bytesRead));
      const lines = text.split('\n');
      this.partial = lines.pop()!;
      for (const raw of lines) if (raw) this.add(JSON.parse(raw) as OutboxLine);
    }
  }

  private add(line: OutboxLine): void {
    this.lines++;
    this.times.push(Date.parse(line.at));
    this.keys.set(line.idempotencyKey, (this.keys.get(line.idempotencyKey) ?? 0) + 1);
    if (!this.firstByCustomer.has(line.customerId)) this.firstByCustomer.set(line.customerId, line);
  }

  /** How many of `customerIds` have a line. */
  countOf(customerIds: readonly string[]): number {
    return customerIds.reduce((n, id) => n + (this.firstByCustomer.has(id) ? 1 : 0), 0);
  }

  /** Idempotency keys written more than once (must be 0). */
  duplicates(): number {
    let n = 0;
    for (const count of this.keys.values()) if (count > 1) n += count - 1;
    return n;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.poll();
    await this.file?.close();
  }
}
