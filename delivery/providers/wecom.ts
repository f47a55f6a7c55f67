import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DeliveryMessage } from '../message';
import {
  AccessTokenCache,
  callWeChatApi,
  callWithToken,
  readTokenAnswer,
  TOKEN_ERRCODES,
  type WeChatAnswer,
} from './access-token';
import { PermanentDeliveryError, type Provider, type SentMessage } from './provider';

export interface WeComOptions {
  corpId: string;
  /** Secret of the app that calls the API: 客户联系 (or an app with customer-contact rights) for `externalContact`. */
  corpSecret: string;
  /**
   * `externalContact` (default): `to` is a customer's external_userid and the message becomes a
   * 企业群发 task (`externalcontact/add_msg_template`) that the member confirms in WeCom.
   * `member`: `to` is a member's userid and the message is an app message (`message/send`).
   */
  send?: 'externalContact' | 'member';
  /** App id of the sending app; required for `member`. */
  agentId?: number;
  /** externalContact: the member (userid) whose customers get the message; all of them when unset. */
  sender?: string;
  /** member: WeCom drops the same message sent again within this many seconds (max 14400). */
  duplicateCheckSeconds?: number;
  baseUrl?: string;
  timeoutMs?: number;
}

/** WeCom limits a text to this many bytes (UTF-8): add_msg_template refuses more, message/send cuts it. */
export const WECOM_TEXT_LIMIT_BYTES = { externalContact: 4000, member: 2048 } as const;

/** Busy, rate limited, version conflict: worth another try after a backoff. */
const RETRYABLE_ERRCODES = new Set([-1, 6000, 45009, 45033]);

/**
 * 企业微信 (WeCom). A marketing message to a customer goes through 企业群发
 * (`POST /cgi-bin/externalcontact/add_msg_template`): the only API that reaches an external
 * contact outside a 20-second welcome window. WeCom turns it into a task that the member sends
 * with one tap, so "sent" here means the task was created. WeCom lets a customer receive a
 * limited number of such messages a month (4 at the time of writing). App messages
 * (`POST /cgi-bin/message/send`) reach members only (staff), with WeCom's duplicate check on.
 *
 * The access token (`GET /cgi-bin/gettoken`) is cached in Redis for every worker and
 * refreshed when WeCom says it is invalid or expired (40001, 40014, 42001), then the send is
 * tried once more at once.
 */
export class WeComProvider implements Provider {
  readonly name = 'wecom';
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly mode: 'externalContact' | 'member';
  private readonly tokens: AccessTokenCache;

  constructor(
    private readonly options: WeComOptions,
    redis: Redis,
    tokenKey: (name: string) => string,
  ) {
    this.baseUrl = (options.baseUrl ?? 'https://qyapi.weixin.qq.com').replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.mode = options.send ?? 'externalContact';
    if (this.mode === 'member' && options.agentId === undefined) {
      throw new Error('wecom: `agentId` is required to send to members');
    }
    // One token per app: the secret's hash tells apps of the same corp apart, and a new secret a new token.
    const secretHash = createHash('sha256').update(options.corpSecret).digest('hex').slice(0, 12);
    this.tokens = new AccessTokenCache({
      redis,
      key: tokenKey(`wecom:${options.corpId}:${secretHash}`),
      fetchToken: () => this.fetchToken(),
      fetchWaitMs: this.timeoutMs + 1000,
    });
  }

  async send(message: DeliveryMessage): Promise<SentMessage> {
    const bytes = Buffer.byteLength(message.body, 'utf8');
    const limit = WECOM_TEXT_LIMIT_BYTES[this.mode];
    if (bytes > limit) {
      throw new PermanentDeliveryError(`wecom: the text is ${bytes} bytes, over WeCom's ${limit}`);
    }
    return this.mode === 'member' ? this.sendToMember(message) : this.sendToCustomer(message);
  }

  private async sendToCustomer(message: DeliveryMessage): Promise<SentMessage> {
    const what = 'WeCom externalcontact/add_msg_template';
    const body = {
      chat_type: 'single',
      external_userid: [message.to],
      ...(this.options.sender ? { sender: this.options.sender } : {}),
      text: { content: message.body },
    };
    const answer = await callWithToken(this.tokens, (token) =>
      callWeChatApi(what, this.url('/cgi-bin/externalcontact/add_msg_template', { access_token: token }), {
        method: 'POST',
        body,
        timeoutMs: this.timeoutMs,
      }),
    );
    checkErrcode(what, answer);
    // errcode 0 with the customer in fail_list: not a contact of the sender (or of anyone), or over the monthly limit.
    const failed = Array.isArray(answer.fail_list) ? answer.fail_list : [];
    if (failed.includes(message.to)) {
      throw new PermanentDeliveryError(
        `${what}: customer ${message.to} cannot receive it (fail_list: not a contact of the sender, or over WeCom's monthly limit)`,
      );
    }
    return { providerMessageId: typeof answer.msgid === 'string' ? answer.msgid : undefined };
  }

  private async sendToMember(message: DeliveryMessage): Promise<SentMessage> {
    const what = 'WeCom message/send';
    const body = {
      touser: message.to,
      msgtype: 'text',
      agentid: this.options.agentId,
      text: { content: message.body },
      // The same request again within the interval is dropped by WeCom: a retry after a lost answer sends nothing twice.
      enable_duplicate_check: 1,
      duplicate_check_interval: this.options.duplicateCheckSeconds ?? 1800,
    };
    const answer = await callWithToken(this.tokens, (token) =>
      callWeChatApi(what, this.url('/cgi-bin/message/send', { access_token: token }), {
        method: 'POST',
        body,
        timeoutMs: this.timeoutMs,
      }),
    );
    checkErrcode(what, answer);
    // errcode 0 and the user in `invaliduser`: not a member, or outside the app's visible range.
    const invalid = typeof answer.invaliduser === 'string' ? answer.invaliduser.split('|') : [];
    if (invalid.includes(message.to.toLowerCase())) {
      throw new PermanentDeliveryError(
        `${what}: ${message.to} is not a member the app can reach (invaliduser)`,
      );
    }
    return { providerMessageId: typeof answer.msgid === 'string' ? answer.msgid : undefined };
  }

  private async fetchToken() {
    const what = 'WeCom gettoken';
    const answer = await callWeChatApi(
      what,
      this.url('/cgi-bin/gettoken', { corpid: this.options.corpId, corpsecret: this.options.corpSecret }),
      { method: 'GET', timeoutMs: this.timeoutMs },
    );
    return readTokenAnswer(what, answer);
  }

  private url(path: string, query: Record<string, string>): string {
    return `${this.baseUrl}${path}?${new URLSearchParams(query).toString()}`;
  }
}

/** 0 passes; token errors left after the one refresh and busy / rate limits are retryable; the rest permanent. */
function checkErrcode(what: string, answer: WeChatAnswer): void {
  const errcode = answer.errcode ?? 0;
  if (errcode === 0) return;
  const detail = `${what} errcode ${errcode}: ${answer.errmsg ?? ''}`.trim();
  if (TOKEN_ERRCODES.has(errcode)) throw new Error(`${detail} (even with a freshly fetched access token)`);
  if (RETRYABLE_ERRCODES.has(errcode)) throw new Error(detail);
  throw new PermanentDeliveryError(detail);
}
