import { z } from 'zod';
import { configLocation, readConfigFile } from '../config/config-file';

/** `required`: a publish waits for a second person's approval (four-eyes); `none`: it happens at once. */
export type PublishApprovalMode = 'required' | 'none';

const mode = z.enum(['required', 'none'], { error: 'must be `required` or `none`' });

/** The config file's `approvals:` section. */
export const approvalsConfigSchema = z.strictObject({ publish: mode.default('none') });

export type ApprovalsConfig = z.output<typeof approvalsConfigSchema>;

/**
 * The `approvals` section of the config file, validated; TOUCHPOINT_PUBLISH_APPROVAL (`required`
 * or `none`) wins over it. Default: no approval needed.
 */
export function loadApprovalsConfig(file: string | undefined, fromEnvValue?: string): ApprovalsConfig {
  const fromEnv = fromEnvValue?.trim();
  if (fromEnv) {
    const parsed = mode.safeParse(fromEnv);
    if (!parsed.success) throw new Error(`TOUCHPOINT_PUBLISH_APPROVAL: must be \`required\` or \`none\``);
    return { publish: parsed.data };
  }
  const parsed = approvalsConfigSchema.safeParse(readConfigFile(file).approvals ?? {});
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.flatMap((issue) => {
    const found =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: [...issue.path, key], message: 'unknown key (expected publish)' }))
        : [{ path: issue.path, message: issue.message }];
    return found.map(({ path, message }) => {
      const full = ['approvals', ...path];
      const where = file ? `${configLocation(file, full)}: ` : '';
      return `  ${where}${full.map(String).join('.')}: ${message}`;
    });
  });
  throw new Error(`${file ?? 'config'}: invalid configuration\n${lines.join('\n')}`);
}
