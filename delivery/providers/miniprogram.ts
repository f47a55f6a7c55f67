import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DeliveryMessage } from '../message';
import {
  AccessTokenCache,
  callWeChatApi,
  callWithToken,
  readTokenAnswer,
  TOKEN_ERRCODES,
} from './access-token';
import { PermanentDeliveryError, type Provider, type SentMessage } from './provider';

/** The subscription template a journey template is sent as. */
export interface SubscriptionTemplate {
  /** template_id from the mini-program admin (订阅消息 → 我的模板). */
  templateId: string;
  /** Page opened from the card, e.g. `pages/plan/index?from=journey`; none when unset. */
  page?: string;
}

export interface MiniProgramOptions {
  appId: string;
  appSecret: string;
  /** Journey template name (templates/miniprogram/<name>.<locale>.hbs) → subscription template. */
  templates: Record<string, SubscriptionTemplate>;
  /**
   * `stable` (default): POST /cgi-bin/stable_token, whose token other systems of the same app
   * (its own backend) share unharmed. `classic`: GET /cgi-bin/token, where every fetch
   * retires the previous token within 5 minutes, the other systems' too.
   */
  tokenApi?: 'stable' | 'classic';
  /** Which version of the mini-program the card opens. */
  miniprogramState?: 'formal' | 'trial' | 'developer';
  baseUrl?: string;
  timeoutMs?: number;
}

/** Busy and rate limits: worth another try after a backoff. */
const RETRYABLE_ERRCODES = new Set([-1, 45009, 45011]);

/** Why WeChat refused, for the errcodes a marketer can act on. */
const REASONS: Record<number, string> = {
  43101: 'the customer has not subscribed to this template (refused, or used up their one-time subscription)',
  40003: 'the openid is not a user of this mini-program',
  40037: 'the template_id is not one of this mini-program',
  41030: 'the page does not exist in the released mini-program',
  47003: 'a field does not fit its type (errmsg names it)',
};

/**
 * WeChat mini-program subscription messages (订阅消息):
 * `POST /cgi-bin/message/subscribe/send?access_token=` with the customer's openid as `touser`.
 *
 * A subscription template has fixed, typed fields (thing1, time2...), so the journey template
 * renders one `field: value` line per field; see parseSubscriptionData. The access token is
 * cached in Redis for every worker and refreshed on 40001 / 40014 / 42001, then the send is tried
 * once more at once. 43101 (not subscribed) is permanent: only the customer can grant another
 * message, by tapping "allow" in the mini-program.
 */
export class MiniProgramProvider implements Provider {
  readonly name = 'miniprogram';
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly tokens: AccessTokenCache;

  constructor(
    private readonly options: MiniProgramOptions,
    redis: Redis,
    tokenKey: (name: string) => string,
  ) {
    this.baseUrl = (options.baseUrl ?? 'https://api.weixin.qq.com').replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const api = options.tokenApi ?? 'stable';
    const secretHash = createHash('sha256').update(options.appSecret).digest('hex').slice(0, 12);
    this.tokens = new AccessTokenCache({
      redis,
      // The two token APIs hand out separate tokens: never mix them in one key.
      key: tokenKey(`miniprogram:${options.appId}:${api}:${secretHash}`),
      fetchToken: () => (api === 'stable' ? this.fetchStableToken() : this.fetchClassicToken()),
      fetchWaitMs: this.timeoutMs + 1000,
    });
  }

  async send(message: DeliveryMessage): Promise<SentMessage> {
    const what = 'WeChat message/subscribe/send';
    const template = Object.prototype.hasOwnProperty.call(this.options.templates, message.template)
      ? this.options.templates[message.template]
      : undefined;
    if (!template) {
      throw new PermanentDeliveryError(
        `miniprogram: no subscription template configured for journey template "${message.template}"`,
      );
    }
    const fields = parseSubscriptionData(message.body);
    if (!Array.isArray(fields)) {
      throw new PermanentDeliveryError(`miniprogram template "${message.template}": ${fields.error}`);
    }
    const problems = checkSubscriptionData(fields);
    if (problems.length > 0) {
      throw new PermanentDeliveryError(`miniprogram template "${message.template}": ${problems.join('; ')}`);
    }

    const body = {
      touser: message.to,
      template_id: template.templateId,
      ...(template.page ? { page: template.page } : {}),
      miniprogram_state: this.options.miniprogramState ?? 'formal',
      lang: wechatLang(message.locale),
      data: Object.fromEntries(fields.map(([name, value]) => [name, { value }])),
    };
    const answer = await callWithToken(this.tokens, (token) =>
      callWeChatApi(what, this.url('/cgi-bin/message/subscribe/send', { access_token: token }), {
        method: 'POST',
        body,
        timeoutMs: this.timeoutMs,
      }),
    );
    const errcode = answer.errcode ?? 0;
    if (errcode === 0) {
      return { providerMessageId: answer.msgid === undefined ? undefined : String(answer.msgid) };
    }
    const detail = `${what} errcode ${errcode}: ${answer.errmsg ?? ''}`.trim();
    if (TOKEN_ERRCODES.has(errcode)) throw new Error(`${detail} (even with a freshly fetched access token)`);
    if (RETRYABLE_ERRCODES.has(errcode)) throw new Error(detail);
    const reason = REASONS[errcode];
    throw new PermanentDeliveryError(reason ? `${detail} (${reason})` : detail);
  }

  private async fetchStableToken() {
    const what = 'WeChat stable_token';
    const answer = await callWeChatApi(what, this.url('/cgi-bin/stable_token', {}), {
      method: 'POST',
      // Normal mode: the current token, never a forced new one (that would cut off the app's other users).
      body: {
        grant_type: 'client_credential',
        appid: this.options.appId,
        secret: this.options.appSecret,
        force_refresh: false,
      },
      timeoutMs: this.timeoutMs,
    });
    return readTokenAnswer(what, answer);
  }

  private async fetchClassicToken() {
    const what = 'WeChat token';
    const query = {
      grant_type: 'client_credential',
      appid: this.options.appId,
      secret: this.options.appSecret,
    };
    const answer = await callWeChatApi(what, this.url('/cgi-bin/token', query), {
      method: 'GET',
      timeoutMs: this.timeoutMs,
    });
    return readTokenAnswer(what, answer);
  }

  private url(path: string, query: Record<string, string>): string {
    const search = new URLSearchParams(query).toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }
}

/** A subscription field key: type name and number, e.g. thing1, character_string12, phone_number3. */
const FIELD_LINE = /^([a-z]+(?:_[a-z]+)*\d+)\s*:\s?(.*)$/;

/**
 * Reads a rendered mini-program template: one `field: value` line per subscription field,
 * blank lines ignored, e.g.
 *
 *     thing1: 客厅搭配方案
 *     thing3: {{customer.name}}，方案还为你保留着
 *     time2: 2024年6月1日 10:00
 */
export function parseSubscriptionData(body: string): [string, string][] | { error: string } {
  const fields: [string, string][] = [];
  const lines = body.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const match = FIELD_LINE.exec(line.trim());
    if (!match) {
      return {
        error: `line ${index + 1} is not \`field: value\` (e.g. \`thing1: ...\`): "${line.slice(0, 40)}"`,
      };
    }
    const [, name, value] = match as unknown as [string, string, string];
    if (fields.some(([seen]) => seen === name)) return { error: `field ${name} is given twice` };
    fields.push([name, value.trim()]);
  }
  if (fields.length === 0) return { error: 'no `field: value` lines' };
  return fields;
}

/** WeChat's length limits per field type, in characters. */
const MAX_LENGTH: Record<string, number> = {
  thing: 20,
  number: 32,
  letter: 32,
  symbol: 5,
  character_string: 32,
  phone_number: 17,
  car_number: 8,
  phrase: 5,
};

/** The fields WeChat would refuse with 47003, each with why: empty, or too long for its type. */
export function checkSubscriptionData(fields: [string, string][]): string[] {
  const problems: string[] = [];
  for (const [name, value] of fields) {
    const type = name.replace(/\d+$/, '');
    const length = [...value].length;
    if (length === 0) problems.push(`${name} is empty`);
    // A name may have 10 Chinese characters, or 20 letters when it has none.
    const max = type === 'name' ? (/[\u3400-\u9fff]/.test(value) ? 10 : 20) : MAX_LENGTH[type];
    if (max !== undefined && length > max) problems.push(`${name} has ${length} characters, over ${max}`);
  }
  return problems;
}

/** The `lang` of the card's "open the mini-program" link: WeChat knows zh_CN, en_US, zh_HK and zh_TW. */
function wechatLang(locale: string): string {
  const tag = locale.toLowerCase();
  if (tag.startsWith('en')) return 'en_US';
  if (tag === 'zh-hk' || tag === 'zh-tw') return `zh_${tag.slice(3).toUpperCase()}`;
  return 'zh_CN';
}
