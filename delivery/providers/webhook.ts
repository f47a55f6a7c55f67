import type { DeliveryMessage } from '../message';
import { isRetryableStatus } from './http';
import { PermanentDeliveryError, type Provider } from './provider';

export interface WebhookOptions {
  url: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * POSTs each message as JSON. The `Idempotency-Key` header lets the receiver drop a message it
 * already has when a retry follows a send whose answer was lost. 408, 429 and 5xx are retried
 * (by the delivery queue's backoff); other 4xx and any redirect are permanent.
 */
export class WebhookProvider implements Provider {
  readonly name = 'webhook';

  constructor(private readonly options: WebhookOptions) {}

  async send(message: DeliveryMessage): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': message.idempotencyKey,
          ...this.options.headers,
        },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        // Following a 301/302 would turn the POST into a GET without body that "succeeds".
        redirect: 'manual',
      });
    } catch (err) {
      // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND...).
      const cause = (err as Error & { cause?: { code?: string } }).cause?.code;
      const reason = cause ? `${(err as Error).message} (${cause})` : (err as Error).message;
      throw new Error(`webhook ${this.options.url} unreachable: ${reason}`);
    }
    // Drain the body so the connection can be reused.
    const text = await response.text().catch(() => '');
    if (response.ok) return;
    const detail = `webhook ${this.options.url} answered ${response.status}: ${text.slice(0, 200)}`;
    if (isRetryableStatus(response.status)) throw new Error(detail);
    throw new PermanentDeliveryError(detail);
  }
}
