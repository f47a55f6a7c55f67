import { IANAZone } from 'luxon';
import { z } from 'zod';
import { configLocation, readConfigFile } from '../config/config-file';
import { DurationError, parseDuration } from '../language/duration';

/** How often segments with time-based conditions are re-evaluated, unless the config says otherwise. */
export const DEFAULT_REEVALUATE = '15m';

/** `15m`, `1h`, `PT30M`: at least a minute; or `false` to turn the scheduled re-evaluation off. */
const reevaluate = z.unknown().transform((value, ctx): number | false => {
  if (value === false) return false;
  if (typeof value !== 'string') {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as `15m` or `1h`, or `false` (off)' });
    return z.NEVER;
  }
  try {
    const ms = parseDuration(value);
    if (ms >= 60_000) return ms;
    ctx.addIssue({ code: 'custom', message: `"${value}" is too often: at least \`1m\`` });
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
  return z.NEVER;
});

/**
 * The config file's `segments:` section. Segment definitions are files (`segments/*.yaml`); this
 * is how the engine runs them.
 */
export const segmentsConfigSchema = z.strictObject({
  /** How often the scheduled re-evaluation runs (a BullMQ job scheduler); `false`: never. */
  reevaluate: reevaluate.default(parseDuration(DEFAULT_REEVALUATE)),
  /**
   * The zone whose midnight starts a day for `count` windows (daily buckets). Default: the
   * `rules.timezone` (Asia/Shanghai unless configured).
   */
  timezone: z
    .string()
    .refine((zone) => IANAZone.isValidZone(zone), {
      message: 'must be an IANA time zone such as `Asia/Shanghai`',
    })
    .optional(),
  /** Profiles read per page of the re-evaluation's SCAN (one pipelined round trip each). */
  pageSize: z.number().int().min(10).max(10_000).default(1000),
});

export type SegmentsConfig = z.output<typeof segmentsConfigSchema>;

/** Validates a `segments` section (undefined or null: defaults); every bad field with file:line:column. */
export function parseSegmentsConfig(section: unknown, file?: string): SegmentsConfig {
  const parsed = segmentsConfigSchema.safeParse(section ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((issue) => {
      // An unknown key is reported at its own line, with the keys the section knows.
      const found =
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({
              path: [...issue.path, key],
              message: `unknown key (expected ${Object.keys(segmentsConfigSchema.shape).join(', ')})`,
            }))
          : [{ path: issue.path, message: issue.message }];
      return found.map(({ path: at, message }) => {
        const full = ['segments', ...at];
        const where = file ? `${configLocation(file, full)}: ` : '';
        return `  ${where}${full.map(String).join('.')}: ${message}`;
      });
    });
    throw new Error(`${file ?? 'config'}: invalid configuration\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The `segments` section of the config file, validated; defaults without a file or section. */
export function loadSegmentsConfig(file?: string): SegmentsConfig {
  return parseSegmentsConfig(readConfigFile(file).segments, file);
}
