import Handlebars from 'handlebars';
import type { TemplateIssue } from './errors';
import { HELPER_NAMES, KNOWN_HELPERS, registerHelpers } from './helpers';
import { keepLineBreaksAfterStandalonePartials } from './template-ast';

/**
 * An isolated Handlebars: no helpers leak in from (or out to) other code. Prototype access stays
 * at Handlebars' safe default — never set allowProtoPropertiesByDefault / allowProtoMethodsByDefault.
 * `log` is removed (templates must not write customer data to the process log); json, money,
 * date and default are added (messages/helpers/).
 */
export function createHandlebars(): typeof Handlebars {
  const hb = Handlebars.create();
  registerHelpers(hb);
  return hb;
}

/** Whether parseTemplate gave a problem rather than a syntax tree. */
export const isIssue = (parsed: hbs.AST.Program | TemplateIssue): parsed is TemplateIssue =>
  !('type' in parsed);

/** A template part (body, subject, partial or layout) parsed, or its syntax error with the file's line. */
export function parseTemplate(
  hb: typeof Handlebars,
  source: string,
  file: string,
  firstLine: number,
): hbs.AST.Program | TemplateIssue {
  try {
    const ast = hb.parse(source);
    keepLineBreaksAfterStandalonePartials(ast);
    return ast;
  } catch (err) {
    return compileIssue(err, file, firstLine);
  }
}

/**
 * Compiled with only the known helpers, so an unknown helper is an error rather than a silent
 * lookup; HTML-escaped or not, as the channel needs. Handlebars compiles lazily: see checkRenders.
 */
export function compileTemplate(
  hb: typeof Handlebars,
  ast: hbs.AST.Program,
  escape: boolean,
): Handlebars.TemplateDelegate {
  return hb.compile(ast, { knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true, noEscape: !escape });
}

/**
 * Handlebars compiles on the first render; rendering once with an empty context at load surfaces
 * unknown helpers and mismatched blocks then rather than at send time.
 */
export function checkRenders(
  render: () => unknown,
  file: string,
  firstLine: number,
): TemplateIssue | undefined {
  try {
    render();
    return undefined;
  } catch (err) {
    return compileIssue(err, file, firstLine);
  }
}

const HELPERS_HINT = `available helpers: ${HELPER_NAMES.join(', ')}`;

/** A Handlebars error with its line translated from the template part to the file. */
export function compileIssue(err: unknown, file: string, firstLine: number): TemplateIssue {
  const text = err instanceof Error ? err.message : String(err);
  const parseError = /^Parse error on line (\d+):/.exec(text);
  const partLine = parseError ? Number(parseError[1]) : (err as { lineNumber?: number }).lineNumber;
  const line = partLine !== undefined ? { line: firstLine + partLine - 1 } : {};
  if (parseError) {
    // The last line of a parse error says what was expected; the lines before echo the source.
    return { file, ...line, message: `Handlebars syntax error: ${text.split('\n').pop()}` };
  }
  const helper = /unknown helper (\S+)/.exec(text)?.[1];
  if (helper) return { file, ...line, message: `unknown helper \`${helper}\``, hint: HELPERS_HINT };
  return { file, ...line, message: `Handlebars: ${text.replace(/ - \d+:\d+$/, '')}` };
}
