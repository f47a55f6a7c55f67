import { open } from 'node:fs/promises';
import path from 'node:path';
import type { OutboxLine } from '../../delivery/providers/outbox';
import { CHANNELS } from '../../language/types';
import type { Receiver } from './receiver';

/**
 * Every message that left Touchpoint, as the outside world saw it: the outbox files (read as
 * they grow) and the webhook receiver's requests. A line in the outbox is one send; at the
 * receiver, one Idempotency-Key is one send and further requests with it are redeliveries.
 */

export interface Delivery {
  customerId: string;
  journeyId: string;
  stepId: string;
  channel: string;
  idempotencyKey: string;
  via: 'outbox' | 'webhook';
  at: number;
}

export class DeliveryLog {
  private readonly byCustomer = new Map<string, Delivery[]>();
  private readonly offsets = new Map<string, number>();
  private reading: Promise<void> = Promise.resolve();
  private poller?: NodeJS.Timeout;
  outboxLines = 0;
  webhookMessages = 0;

  constructor(
    private readonly outboxDir: string,
    private readonly receiver: Receiver,
  ) {
    receiver.onMessage = (m, at) => {
      this.webhookMessages++;
      this.add({
        customerId: m.customerId,
        journeyId: m.journeyId,
        stepId: m.stepId,
        channel: m.channel,
        idempotencyKey: m.idempotencyKey,
        via: 'webhook',
        at,
      });
    };
  }

  /** Reads what was appended to the outbox files since the last call; calls run one after another. */
  refresh(): Promise<void> {
    const read = async () => {
      for (const channel of CHANNELS) await this.readNew(path.join(this.outboxDir, `${channel}.jsonl`));
    };
    this.reading = this.reading.catch(() => undefined).then(read);
    return this.reading;
  }

  /** Keeps reading the outbox every `ms` until stopPolling(). */
  startPolling(ms: number): void {
    this.poller = setInterval(() => void this.refresh().catch(() => undefined), ms);
  }

  stopPolling(): void {
    clearInterval(this.poller);
  }

  forCustomer(customerId: string): Delivery[] {
    return this.byCustomer.get(customerId) ?? [];
  }

  /** When the customer's first message arrived, if one has. */
  firstAt(customerId: string): number | undefined {
    return this.byCustomer.get(customerId)?.[0]?.at;
  }

  private add(delivery: Delivery): void {
    const list = this.byCustomer.get(delivery.customerId);
    if (list) list.push(delivery);
    else this.byCustomer.set(delivery.customerId, [delivery]);
  }

  private async readNew(file: string): Promise<void> {
    const handle = await open(file, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      const from = this.offsets.get(file) ?? 0;
      const { size } = await handle.stat();
      if (size <= from) return;
      const buffer = Buffer.alloc(size - from);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
      // Only whole lines: an incomplete last line (a write in progress) is read next time.
      const end = buffer.subarray(0, bytesRead).lastIndexOf(0x0a) + 1;
      if (end === 0) return;
      this.offsets.set(file, from + end);
      const lines = buffer.subarray(0, end).toString('utf8').split('\n');
      const now = Date.now();
      for (const line of lines) {
        if (!line.trim()) continue;
        const l = JSON.parse(line) as OutboxLine;
        this.outboxLines++;
        this.add({
          customerId: l.customerId,
          journeyId: l.journeyId,
          stepId: l.stepId,
          channel: l.channel,
          idempotencyKey: l.idempotencyKey,
          via: 'outbox',
          at: Date.parse(l.at) || now,
        });
      }
    } finally {
      await handle.close();
    }
  }
}
