import { createReadStream } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { DeliveryMessage } from '../message';
import type { Provider } from './provider';

/** The line written per message: the contract of `data/outbox/<channel>.jsonl`. */
export type OutboxLine = { at: string } & Omit<DeliveryMessage, 'queuedAt'>;

/**
 * The default provider of a channel with none configured: appends each message as one JSON
 * line to `<dir>/<channel>.jsonl`. One appendFile call per line, so lines never interleave.
 */
export class OutboxProvider implements Provider {
  readonly name = 'outbox';

  constructor(private readonly dir: string) {}

  fileFor(channel: string): string {
    return path.join(this.dir, `${channel}.jsonl`);
  }

  async send(message: DeliveryMessage): Promise<void> {
    const { queuedAt: _queuedAt, ...fields } = message;
    const line: OutboxLine = { at: new Date().toISOString(), ...fields };
    const file = this.fileFor(message.channel);
    const text = `${JSON.stringify(line)}\n`;
    try {
      await appendFile(file, text);
    } catch (err) {
      // The folder is made on the first write only, not on every message's hot path.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(this.dir, { recursive: true });
      await appendFile(file, text);
    }
  }

  /** Only asked after a crash mid-send, so a scan of the file is affordable. */
  async wasDelivered(message: DeliveryMessage): Promise<boolean> {
    const needle = `"idempotencyKey":${JSON.stringify(message.idempotencyKey)}`;
    try {
      const lines = createInterface({ input: createReadStream(this.fileFor(message.channel)) });
      for await (const line of lines) if (line.includes(needle)) return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    return false;
  }
}
