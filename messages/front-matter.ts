import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { TEMPLATE_NAME } from '../language/catalog';
import { didYouMean } from '../language/hints';
import type { TemplateIssue } from './errors';

/** A template file split into its optional front matter and its body, with line numbers kept. */
export interface TemplateParts {
  subject?: { source: string; line: number };
  /** A layout from `templates/_layouts/` by name, or `none` for no layout at all. */
  layout?: { name: string; line: number };
  body: { source: string; line: number };
}

const FRONT_MATTER_KEYS = ['subject', 'layout'];

/** `layout: none` turns off the channel's default layout. */
export const NO_LAYOUT = 'none';
const FENCE = /^---\s*$/;

/**
 * Splits `---` / YAML / `---` front matter (`subject:` and `layout:`) from the body. The body's
 * trailing line breaks are dropped: editors add one, and it would otherwise end every SMS.
 * Returns the problems instead of throwing so the store can report all files at once.
 */
export function splitTemplate(text: string, file: string): TemplateParts | TemplateIssue[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const bodyFrom = (index: number) => ({
    source: lines.slice(index).join('\n').replace(/\n+$/, ''),
    line: index + 1,
  });
  if (!FENCE.test(lines[0] ?? '')) return { body: bodyFrom(0) };

  const closing = lines.findIndex((line, i) => i > 0 && FENCE.test(line));
  if (closing === -1) {
    return [
      {
        file,
        line: 1,
        message: 'front matter opened with `---` is never closed',
        hint: 'end it with a `---` line',
      },
    ];
  }
  const front = parseFrontMatter(lines.slice(1, closing).join('\n'), file);
  return Array.isArray(front) ? front : { ...front, body: bodyFrom(closing + 1) };
}

function parseFrontMatter(yamlText: string, file: string): Omit<TemplateParts, 'body'> | TemplateIssue[] {
  const counter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: counter, prettyErrors: false });
  // Front matter starts on the file's line 2.
  const lineOf = (offset: number | undefined) => counter.linePos(offset ?? 0).line + 1;
  if (doc.errors.length > 0) {
    return doc.errors.map((err) => ({
      file,
      line: lineOf(err.pos[0]),
      message: `front matter: ${err.message}`,
    }));
  }
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) return [{ file, line: 2, message: 'front matter must be `key: value` lines' }];

  const issues: TemplateIssue[] = [];
  let subject: TemplateParts['subject'];
  let layout: TemplateParts['layout'];
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const line = lineOf(isScalar(pair.key) ? pair.key.range?.[0] : undefined);
    const text = isScalar(pair.value) && typeof pair.value.value === 'string' ? pair.value.value : undefined;
    if (!FRONT_MATTER_KEYS.includes(key)) {
      issues.push({
        file,
        line,
        message: `unknown front matter key \`${key}\``,
        hint: didYouMean(key, FRONT_MATTER_KEYS),
      });
    } else if (key === 'layout') {
      if (text !== undefined && (text === NO_LAYOUT || TEMPLATE_NAME.test(text)))
        layout = { name: text, line };
      else {
        issues.push({
          file,
          line,
          message: '`layout` must be the name of a layout in templates/_layouts, or `none`',
          hint: 'e.g. `layout: email` for templates/_layouts/email.<locale>.hbs',
        });
      }
    } else if (text !== undefined && isScalar(pair.value)) {
      subject = { source: text, line: lineOf(pair.value.range?.[0]) };
    } else {
      issues.push({
        file,
        line,
        message: '`subject` must be text',
        hint: 'quote it when it starts with `{{`: subject: "{{customer.name}}, …"',
      });
    }
  }
  if (issues.length > 0) return issues;
  return { ...(subject ? { subject } : {}), ...(layout ? { layout } : {}) };
}
