import { z } from 'zod';
import { readConfigFile } from '../config/config-file';
import { CHANNELS, type Channel } from '../language/types';
import { SMS_PLACEHOLDERS, unknownPlaceholders, type BodyTemplate } from './providers/sms-gateway';

/** `${NAME}` in a string value is replaced by the environment variable NAME (secrets stay out of files). */
export const envString = z.string().transform((value, ctx) =>
  value.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const v = process.env[name];
    if (v === undefined) ctx.addIssue({ code: 'custom', message: `environment variable ${name} is not set` });
    return v ?? '';
  }),
);

const httpUrl = envString.pipe(z.url({ protocol: /^https?$/ }));
const nonEmpty = envString.pipe(z.string().min(1, 'must not be empty'));
/** A whole number, written as one or given as `${ENV}` holding digits. */
const wholeNumber = z.union([
  z.number().int(),
  envString.pipe(z.string().regex(/^\d+$/, 'expected a whole number')).transform(Number),
]);
/** Each provider call must end well within deliverOnce's 2-minute lease. */
const callTimeout = (max: number) => z.number().int().positive().max(max);

/** Text with `{{placeholders}}` of the SMS gateway: a name it does not know is a typo, reported at load. */
const gatewayText = envString.superRefine((value, ctx) => {
  for (const name of unknownPlaceholders(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown placeholder {{${name}}} (known: ${SMS_PLACEHOLDERS.join(', ')})`,
    });
  }
});
type BodyTemplateInput =
  string | number | boolean | null | BodyTemplateInput[] | { [key: string]: BodyTemplateInput };
const bodyTemplate: z.ZodType<BodyTemplate, BodyTemplateInput> = z.lazy(() =>
  z.union([
    gatewayText,
    z.number(),
    z.boolean(),
    z.null(),
    z.array(bodyTemplate),
    z.record(z.string(), bodyTemplate),
  ]),
);
/** `code`, `result.status`, `data.0.msgId`. */
const jsonPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'expected a dot path such as result.code');
/** Gateway codes as text: YAML reads `0` as a number, the gateway's JSON may too. */
const code = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const codes = z.union([code.transform((c) => [c]), z.array(code)]);
const httpStatus = z.number().int().min(100).max(599);

const smsGatewaySchema = z
  .strictObject({
    type: z.literal('sms-gateway'),
    url: gatewayText.pipe(z.url({ protocol: /^https?$/ })),
    method: z.enum(['GET', 'POST', 'PUT']).optional(),
    headers: z.record(z.string(), gatewayText).optional(),
    auth: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('basic'), username: envString, password: envString }),
        z.strictObject({ type: z.literal('bearer'), token: nonEmpty }),
      ])
      .optional(),
    body: z
      .strictObject({
        format: z.enum(['json', 'form']).optional(),
        fields: z.record(z.string(), bodyTemplate),
      })
      .optional(),
    idempotencyHeader: z
      .union([z.string().regex(/^[A-Za-z0-9-]+$/, 'expected a header name'), z.literal(false)])
      .optional(),
    timeoutMs: callTimeout(60_000).optional(),
    success: z
      .strictObject({
        status: z.tuple([httpStatus, httpStatus]).optional(),
        field: jsonPath.optional(),
        equals: codes.optional(),
      })
      .superRefine((success, ctx) => {
        if ((success.field === undefined) !== (success.equals === undefined)) {
          ctx.addIssue({ code: 'custom', message: '`field` and `equals` go together' });
        }
        if (success.status && success.status[0] > success.status[1]) {
          ctx.addIssue({ code: 'custom', path: ['status'], message: 'expected [lowest, highest]' });
        }
      })
      .optional(),
    errorCodes: z
      .strictObject({
        field: jsonPath.optional(),
        permanent: codes.optional(),
        retryable: codes.optional(),
        otherwise: z.enum(['retryable', 'permanent']).optional(),
      })
      .optional(),
    messageIdField: jsonPath.optional(),
  })
  .superRefine((gateway, ctx) => {
    if (gateway.errorCodes && !gateway.errorCodes.field && !gateway.success?.field) {
      ctx.addIssue({
        code: 'custom',
        path: ['errorCodes', 'field'],
        message: 'where is the code? set errorCodes.field or success.field',
      });
    }
    if (gateway.body?.format === 'form' || gateway.method === 'GET') {
      for (const [name, value] of Object.entries(gateway.body?.fields ?? {})) {
        if (value !== null && typeof value === 'object') {
          ctx.addIssue({
            code: 'custom',
            path: ['body', 'fields', name],
            message: 'a form field holds text, not a list or mapping',
          });
        }
      }
    }
  });

const smtpSchema = z.strictObject({
  type: z.literal('smtp'),
  host: nonEmpty,
  port: wholeNumber.pipe(z.number().min(1).max(65535)).optional(),
  secure: z.boolean().optional(),
  requireTLS: z.boolean().optional(),
  auth: z.strictObject({ user: nonEmpty, pass: envString }).optional(),
  from: envString.pipe(
    z.string().regex(/@[^\s@>]+>?\s*$/, 'expected an address, e.g. Qimu Home <hello@qimu.example.com>'),
  ),
  replyTo: envString.optional(),
  messageIdDomain: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'expected a domain')
    .optional(),
  oneClickUnsubscribe: z.boolean().optional(),
  connectionTimeoutMs: callTimeout(60_000).optional(),
  greetingTimeoutMs: callTimeout(60_000).optional(),
  socketTimeoutMs: callTimeout(60_000).optional(),
});

const wecomSchema = z
  .strictObject({
    type: z.literal('wecom'),
    corpId: nonEmpty,
    corpSecret: nonEmpty,
    send: z.enum(['externalContact', 'member']).optional(),
    agentId: wholeNumber.optional(),
    sender: nonEmpty.optional(),
    duplicateCheckSeconds: z.number().int().min(1).max(14_400).optional(),
    baseUrl: httpUrl.optional(),
    // A send may take four calls (token, send, token again, send again).
    timeoutMs: callTimeout(25_000).optional(),
  })
  .superRefine((wecom, ctx) => {
    if (wecom.send === 'member' && wecom.agentId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['agentId'], message: 'required when `send: member`' });
    }
  });

const miniprogramSchema = z.strictObject({
  type: z.literal('miniprogram'),
  appId: nonEmpty,
  appSecret: nonEmpty,
  templates: z.record(
    z.string(),
    z.strictObject({ templateId: nonEmpty, page: z.string().min(1).optional() }),
  ),
  tokenApi: z.enum(['stable', 'classic']).optional(),
  miniprogramState: z.enum(['formal', 'trial', 'developer']).optional(),
  baseUrl: httpUrl.optional(),
  timeoutMs: callTimeout(25_000).optional(),
});

const providerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('outbox') }),
  z.strictObject({
    type: z.literal('webhook'),
    url: httpUrl,
    headers: z.record(z.string(), envString).optional(),
    timeoutMs: z.number().int().positive().optional(),
  }),
  smsGatewaySchema,
  smtpSchema,
  wecomSchema,
  miniprogramSchema,
]);

const channelSchema = z.strictObject({
  provider: providerSchema.default({ type: 'outbox' }),
  /** The gateway's limit: at most `max` messages per `perMs` milliseconds, across all workers. */
  rateLimit: z
    .strictObject({ max: z.number().int().positive(), perMs: z.number().int().positive() })
    .optional(),
  concurrency: z.number().int().positive().default(5),
  attempts: z.number().int().positive().default(8),
  backoffMs: z.number().int().positive().default(2000),
});

const fileSchema = z.strictObject({
  channels: z.partialRecord(z.enum(CHANNELS as [Channel, ...Channel[]]), channelSchema).default({}),
});

export type ChannelConfig = z.output<typeof channelSchema>;
export type ProviderConfig = ChannelConfig['provider'];

/** Settings of every channel: the config file's `channels` section, else outbox with defaults. */
export function loadChannelConfig(file?: string): Record<Channel, ChannelConfig> {
  const { channels } = readConfigFile(file);
  const parsed = fileSchema.safeParse(channels === undefined ? {} : { channels });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${file}: invalid configuration\n${lines.join('\n')}`);
  }
  const out = {} as Record<Channel, ChannelConfig>;
  for (const channel of CHANNELS) out[channel] = parsed.data.channels[channel] ?? channelSchema.parse({});
  return out;
}
