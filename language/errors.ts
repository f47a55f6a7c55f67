/** One problem in a journey config file, located for the person who has to fix it. */
export interface ConfigIssue {
  file: string;
  /** 1-based line and column of the offending key or value (or its nearest enclosing node). */
  line: number;
  column: number;
  /** The id of the step the problem is in, when it is inside `steps`. */
  stepId?: string;
  /** Where in the document: `steps[2].timeout`; empty for the file as a whole. */
  path: string;
  message: string;
  hint?: string;
}

/** `journeys/x.yaml:12:5 [step wait-order] steps[2].timeout: <message> (<hint>)` */
export function formatIssue(issue: ConfigIssue): string {
  const step = issue.stepId !== undefined ? ` [step ${issue.stepId}]` : '';
  const where = issue.path ? `${issue.path}: ` : '';
  const hint = issue.hint ? ` (${issue.hint})` : '';
  return `${issue.file}:${issue.line}:${issue.column}${step} ${where}${issue.message}${hint}`;
}

/** Thrown by the loader with every problem found across every file, not just the first. */
export class JourneyConfigError extends Error {
  override name = 'JourneyConfigError';

  constructor(readonly issues: ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`journey config has ${count}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
  }
}
