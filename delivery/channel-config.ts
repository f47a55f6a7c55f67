import { z } from 'zod';
import { readConfigFile } from '../config/config-file';
import { CHANNELS, type Channel } from '../language/types';

/** `${NAME}` in a string value is replaced by the environment variable NAME (secrets stay out of files). */
export const envString = z.string().transform((value, ctx) =>
  value.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const v = process.env[name];
    if (v === undefined) ctx.addIssue({ code: 'custom', message: `environment variable ${name} is not set` });
    return v ?? '';
  }),
);

const providerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('outbox') }),
  z.strictObject({
    type: z.literal('webhook'),
    url: envString.pipe(z.url({ protocol: /^https?$/ })),
    headers: z.record(z.string(), envString).optional(),
    timeoutMs: z.number().int().positive().optional(),
  }),
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
