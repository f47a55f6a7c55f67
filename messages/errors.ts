import type { LimitExceeded } from './limits';

/** A problem with one template file. */
export interface TemplateIssue {
  file: string;
  /** 1-based line in the file, when the problem has one. */
  line?: number;
  message: string;
  hint?: string;
}

export function formatTemplateIssue(issue: TemplateIssue): string {
  const where = issue.line !== undefined ? `${issue.file}:${issue.line}` : issue.file;
  return `${where}: ${issue.message}${issue.hint ? ` (${issue.hint})` : ''}`;
}

/** Thrown by loadTemplates with every problem found in the templates directory. */
export class TemplateLoadError extends Error {
  override name = 'TemplateLoadError';

  constructor(readonly issues: TemplateIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`templates have ${count}:\n${issues.map((i) => `  ${formatTemplateIssue(i)}`).join('\n')}`);
  }
}

/** Thrown by render when no locale of the fallback chain has the template. */
export class TemplateNotFoundError extends Error {
  override name = 'TemplateNotFoundError';

  constructor(
    readonly channel: string,
    readonly template: string,
    readonly triedLocales: string[],
  ) {
    super(`no template ${channel}/${template} in any of the locales ${triedLocales.join(', ')}`);
  }
}

/**
 * Thrown by render when the rendered message breaks a channel limit (SMS parts, WeCom bytes).
 * Carries the rendered message, so a preview can still show it. A send records it as
 * `skipped:content_too_long`: rendering again would give the same text.
 */
export class ContentTooLongError extends Error {
  override name = 'ContentTooLongError';
  readonly code = 'content_too_long';

  constructor(
    readonly channel: string,
    readonly template: string,
    readonly rendered: { subject?: string; body: string; locale: string },
    readonly exceeded: LimitExceeded,
  ) {
    super(`${channel}/${template} (${rendered.locale}) is too long: ${exceeded.message}`);
  }
}
