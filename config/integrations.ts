import { z } from 'zod';
import { envString } from '../delivery/channel-config';
import { DurationError, parseDuration } from '../language/duration';
import { configLocation, readConfigFile } from './config-file';

/**
 * The config file's `webhooks:` and `notify:` sections: the outside systems a journey's `webhook`
 * steps POST to, and the internal alert targets (staff WeCom group robots, webhooks) of its
 * `notify` steps. Journeys name a target; its URL and secrets stay here (`${ENV}` interpolated at
 * start-up, like the channels section). See docs/webhooks.md.
 */

/** Calls must end well within the activities' 1-minute start-to-close timeout. */
export const MAX_CALL_TIMEOUT_MS = 30_000;
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** A target name, as journeys write it: `supply-chain`, `service_team`, `ops.hook`. */
export const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const targetName = z
  .string()
  .regex(TARGET_NAME, 'a target name is letters, digits, `-`, `_` and `.` (e.g. supply-chain)');
const httpUrl = envString.pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }));
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name');

/** A duration (`5s`, `2.5s`, ISO `PT5S`), or a number of milliseconds. */
const timeout = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    if (typeof value === 'number') return value;
    try {
      return parseDuration(value);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .number()
      .int('expected whole milliseconds')
      .min(100, 'at least 100 ms')
      .max(
        MAX_CALL_TIMEOUT_MS,
        `at most ${MAX_CALL_TIMEOUT_MS / 1000}s (activities time out after 1 minute)`,
      ),
  );

const webhookTargetSchema = z
  .strictObject({
    url: httpUrl,
    headers: z.record(headerName, envString).optional(),
    /** A number is milliseconds; default 10s. */
    timeout: timeout.optional(),
  })
  .transform(({ url, headers, timeout: ms }) => ({
    url,
    headers: headers ?? {},
    timeoutMs: ms ?? DEFAULT_CALL_TIMEOUT_MS,
  }));

const notifyTargetSchema = z.discriminatedUnion(
  'type',
  [
    z
      .strictObject({
        /** A WeCom group robot (群机器人): its webhook URL holds the key, e.g. `...send?key=${WECOM_ROBOT_KEY}`. */
        type: z.literal('wecom-robot'),
        url: httpUrl,
        /** userids to @-mention (`@all` for everyone). */
        mentionedList: z.array(z.string().min(1)).optional(),
        /** Mobile numbers to @-mention. */
        mentionedMobileList: z.array(z.string().min(1)).optional(),
        timeout: timeout.optional(),
      })
      .transform(({ timeout: ms, ...rest }) => ({ ...rest, timeoutMs: ms ?? DEFAULT_CALL_TIMEOUT_MS })),
    z
      .strictObject({
        type: z.literal('webhook'),
        url: httpUrl,
        headers: z.record(headerName, envString).optional(),
        timeout: timeout.optional(),
      })
      .transform(({ timeout: ms, headers, ...rest }) => ({
        ...rest,
        headers: headers ?? {},
        timeoutMs: ms ?? DEFAULT_CALL_TIMEOUT_MS,
      })),
  ],
  { error: 'expected `type: wecom-robot` or `type: webhook`' },
);

const sectionsSchema = z.strictObject({
  webhooks: z.record(targetName, webhookTargetSchema).default({}),
  notify: z.record(targetName, notifyTargetSchema).default({}),
});

export type WebhookTarget = z.output<typeof webhookTargetSchema>;
export type NotifyTarget = z.output<typeof notifyTargetSchema>;
export type WecomRobotTarget = Extract<NotifyTarget, { type: 'wecom-robot' }>;
export type IntegrationsConfig = z.output<typeof sectionsSchema>;

/**
 * Validates the two sections (undefined: none configured); throws with every bad field listed,
 * each with `file:line:column` when `file` is given.
 */
export function parseIntegrationsConfig(
  sections: { webhooks?: unknown; notify?: unknown },
  file?: string,
): IntegrationsConfig {
  const input: Record<string, unknown> = {};
  // YAML `webhooks:` with nothing under it reads as null: the same as leaving the section out.
  if (sections.webhooks !== undefined && sections.webhooks !== null) input.webhooks = sections.webhooks;
  if (sections.notify !== undefined && sections.notify !== null) input.notify = sections.notify;
  const parsed = sectionsSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const where = file ? `${configLocation(file, issue.path)}: ` : '';
      // A bad target name: zod says "Invalid key in record", the key's own issue says why.
      const message =
        issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join('; ') : issue.message;
      return `  ${where}${issue.path.map(String).join('.') || '(root)'}: ${message}`;
    });
    throw new Error(`${file ?? 'config'}: invalid configuration\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The `webhooks` and `notify` sections of the config file, validated; empty when there is none. */
export function loadIntegrationsConfig(file?: string): IntegrationsConfig {
  const { webhooks, notify } = readConfigFile(file);
  return parseIntegrationsConfig({ webhooks, notify }, file);
}

/**
 * Target names for the journey loader (LoadOptions.webhookTargets / notifyTargets). A kind is
 * checked only once the config lists a target of that kind: a config file written for other
 * sections (channels, rules) does not stop journeys whose webhook or alert steps are not wired
 * up yet; those steps fail at run time (non-retryable) and the run goes on.
 */
export function integrationTargets(config: IntegrationsConfig): {
  webhookTargets?: string[];
  notifyTargets?: string[];
} {
  const webhookTargets = Object.keys(config.webhooks).sort();
  const notifyTargets = Object.keys(config.notify).sort();
  return {
    ...(webhookTargets.length > 0 ? { webhookTargets } : {}),
    ...(notifyTargets.length > 0 ? { notifyTargets } : {}),
  };
}
