import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import {
  FALLBACK_LOCALE,
  LOCALE_TAG,
  TEMPLATE_NAME,
  templateFileName,
  type TemplateCatalog,
} from '../language/catalog';
import { didYouMean } from '../language/hints';
import { CHANNELS, type Channel } from '../language/types';
import { checkRenders, compileTemplate, createHandlebars, isIssue, parseTemplate } from './compile';
import type { RenderContext } from './context';
import { ContentTooLongError, TemplateLoadError, TemplateNotFoundError, type TemplateIssue } from './errors';
import {
  dynamicPartialIssue,
  FragmentSet,
  LAYOUTS_DIR,
  loadFragments,
  PARTIALS_DIR,
  type Fragment,
} from './fragments';
import { NO_LAYOUT, splitTemplate, type TemplateParts } from './front-matter';
import {
  DEFAULT_CONTENT_CHECKS,
  DEFAULT_CONTENT_LIMITS,
  measureContent,
  type ContentCheck,
  type ContentLength,
  type ContentLimits,
} from './limits';
import { HELPER_NAMES } from './helpers';
import { partialUse, placesBody, type PartialUse } from './template-ast';
import { templateVariables, variableList, type VariableUse } from './variables';

/**
 * Only email bodies are HTML, so only they are HTML-escaped (a customer name like `<b>` must not
 * become markup). SMS, push, WeCom and mini-program messages are shown as plain text and webhook
 * bodies are JSON or text read by machines: escaping those would print `&amp;` or `&#x27;` to the
 * customer. Subjects are plain text on every channel (an email subject is a header, not HTML).
 */
export const HTML_CHANNELS: ReadonlySet<Channel> = new Set<Channel>(['email']);

/** `templates/notify/<name>.<locale>.hbs`: internal alerts of `notify` steps (plain text, no limits). */
export const NOTIFY_FOLDER = 'notify';

/** A folder of templates: a channel's, or `notify` for internal alerts. */
export type TemplateFolder = Channel | typeof NOTIFY_FOLDER;

const TEMPLATE_FOLDERS: readonly string[] = [...CHANNELS, NOTIFY_FOLDER];

export interface RenderedMessage {
  /** From the `subject:` front matter: the email subject, or the title of a push / mini-program message. */
  subject?: string;
  body: string;
  /** The locale whose template was used, after fallback. */
  locale: string;
}

export interface RenderOptions {
  /** The journey's default locale: the second choice when the requested locale has no template. */
  defaultLocale?: string;
}

export interface TemplateStoreOptions {
  /** Length limits checked at render (SMS parts, WeCom bytes); defaults in DEFAULT_CONTENT_LIMITS. */
  limits?: Partial<ContentLimits>;
  /** Per-channel checks replacing or adding to the defaults (SMS, WeCom, mini-program fields). */
  checks?: Partial<Record<Channel, ContentCheck>>;
}

type Partials = Record<string, Handlebars.TemplateDelegate>;

interface CompiledTemplate {
  /** Render-context variables it reads, in TemplateCatalog.variables form (messages/variables.ts). */
  variables?: string[];
  channel: TemplateFolder;
  name: string;
  locale: string;
  file: string;
  subject?: Handlebars.TemplateDelegate;
  body: Handlebars.TemplateDelegate;
  /** Wraps the body: gets the render context plus `body` and `subject`. */
  layout?: Handlebars.TemplateDelegate;
  /** Every partial, in the version for this template's locale and the body's escaping. */
  partials: Partials;
  /** The same, unescaped, for the subject. */
  subjectPartials: Partials;
}

const TEMPLATE_FILE = /^(.+)\.([^.]+)\.hbs$/;

/** `templates/<channel>/<name>.<locale>.hbs`, compiled once at load. */
export class TemplateStore implements TemplateCatalog {
  private readonly templates = new Map<string, CompiledTemplate>();
  readonly limits: ContentLimits;
  private readonly checks: Partial<Record<Channel, ContentCheck>>;

  constructor(
    readonly dir: string,
    templates: CompiledTemplate[],
    options: TemplateStoreOptions = {},
  ) {
    for (const t of templates) this.templates.set(key(t.channel, t.name, t.locale), t);
    this.limits = { ...DEFAULT_CONTENT_LIMITS, ...options.limits };
    this.checks = { ...DEFAULT_CONTENT_CHECKS, ...options.checks };
  }

  has(channel: TemplateFolder, name: string, locale: string): boolean {
    return this.templates.has(key(channel, name, locale));
  }

  fileFor(channel: TemplateFolder, name: string, locale: string): string {
    return (
      this.templates.get(key(channel, name, locale))?.file ??
      path.join(this.dir, templateFileName(channel as Channel, name, locale))
    );
  }

  /** The context variables a template reads (with its layout and partials); see TemplateCatalog. */
  variables(channel: TemplateFolder, name: string, locale: string): string[] | undefined {
    return this.templates.get(key(channel, name, locale))?.variables;
  }

  /** Every template, for listings and checks. */
  list(): { channel: TemplateFolder; name: string; locale: string; file: string }[] {
    return [...this.templates.values()].map(({ channel, name, locale, file }) => ({
      channel,
      name,
      locale,
      file,
    }));
  }

  /**
   * Renders a template in the first locale that has it: the requested one (then its language,
   * `en-US` → `en`), the journey's default, then `en`. Locales match case-insensitively. The
   * context's `locale` becomes the locale used; the body is wrapped in the template's layout.
   * Throws ContentTooLongError when the result breaks the channel's limits.
   */
  render(
    channel: TemplateFolder,
    name: string,
    locale: string | undefined,
    context: RenderContext,
    opts: RenderOptions = {},
  ): RenderedMessage {
    const tried = fallbackChain(locale, opts.defaultLocale);
    const template = tried.map((l) => this.templates.get(key(channel, name, l))).find((t) => t !== undefined);
    if (!template) throw new TemplateNotFoundError(channel, name, tried);

    const data: RenderContext = { ...context, locale: template.locale };
    const runtime = { partials: template.partials };
    const subject = template.subject?.(data, { partials: template.subjectPartials });
    const content = template.body(data, runtime);
    const body = template.layout
      ? template.layout({ ...data, subject, body: new Handlebars.SafeString(content) }, runtime)
      : content;
    const message: RenderedMessage = {
      ...(subject !== undefined ? { subject } : {}),
      body,
      locale: template.locale,
    };

    const exceeded = channel === NOTIFY_FOLDER ? undefined : this.checks[channel]?.(message, this.limits);
    if (exceeded) throw new ContentTooLongError(channel, name, message, exceeded);
    return message;
  }

  /** A rendered message measured as its channel counts it (SMS characters and parts, WeCom bytes). */
  measure(channel: Channel, message: { subject?: string; body: string }): ContentLength {
    return measureContent(channel, message);
  }
}

function key(channel: string, name: string, locale: string): string {
  return `${channel}/${name}/${locale.toLowerCase()}`;
}

function fallbackChain(requested: string | undefined, defaultLocale: string | undefined): string[] {
  const withLanguage = (l: string | undefined) => (l ? [l, l.split('-')[0]!] : []);
  return [...new Set([...withLanguage(requested), ...withLanguage(defaultLocale), FALLBACK_LOCALE])];
}

/**
 * Loads and compiles every template under `dir`, with the partials of `dir/_partials` and the
 * layouts of `dir/_layouts`; throws TemplateLoadError listing every problem of every file
 * (unknown channel folder, bad file name, bad front matter, bad Handlebars syntax, unknown
 * helpers, missing partials and layouts, with lines).
 */
export function loadTemplates(dir: string, options: TemplateStoreOptions = {}): TemplateStore {
  const hb = createHandlebars();
  const issues: TemplateIssue[] = [];
  const loader = new Loader(
    hb,
    loadFragments(hb, path.join(dir, PARTIALS_DIR), issues),
    loadFragments(hb, path.join(dir, LAYOUTS_DIR), issues),
  );
  for (const layout of loader.layouts.list()) {
    if (!placesBody(layout.ast)) {
      issues.push({
        file: layout.file,
        message: 'a layout must place the message body',
        hint: 'write `{{{body}}}` where the body goes',
      });
    }
  }

  const compiled: CompiledTemplate[] = [];
  const seen = new Map<string, string>();
  for (const entry of visible(dir)) {
    const folder = path.join(dir, entry.name);
    if (entry.name === PARTIALS_DIR || entry.name === LAYOUTS_DIR) continue;
    if (!entry.isDirectory()) {
      issues.push({
        file: folder,
        message: 'templates go in a channel folder',
        hint: `e.g. ${templateFileName('sms', 'name', 'zh-CN')}`,
      });
      continue;
    }
    if (!TEMPLATE_FOLDERS.includes(entry.name)) {
      issues.push({
        file: folder,
        message: `unknown channel folder \`${entry.name}\``,
        hint: didYouMean(entry.name, [...TEMPLATE_FOLDERS, PARTIALS_DIR, LAYOUTS_DIR]),
      });
      continue;
    }
    for (const fileEntry of visible(folder)) {
      const file = path.join(folder, fileEntry.name);
      const result = loader.template(entry.name as TemplateFolder, fileEntry.name, file);
      if (Array.isArray(result)) {
        issues.push(...result);
        continue;
      }
      const id = key(result.channel, result.name, result.locale);
      const other = seen.get(id);
      if (other) issues.push({ file, message: `same template and locale as ${other}` });
      seen.set(id, file);
      compiled.push(result);
    }
  }
  if (issues.length > 0) throw new TemplateLoadError(unique(issues));
  return new TemplateStore(dir, compiled, options);
}

/** Directory entries, minus dotfiles and Markdown notes. */
function visible(dir: string): fs.Dirent[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && !e.name.endsWith('.md'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A problem inside a shared partial is reached from every template using it: report it once. */
function unique(issues: TemplateIssue[]): TemplateIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const id = JSON.stringify([issue.file, issue.line, issue.message]);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Compiles templates against the partials and layouts, each partial and layout compiled once per escaping. */
class Loader {
  private readonly compiledFragments = new Map<string, Handlebars.TemplateDelegate>();
  private readonly partialsByLocale = new Map<string, Partials>();

  constructor(
    private readonly hb: typeof Handlebars,
    readonly partials: FragmentSet,
    readonly layouts: FragmentSet,
  ) {}

  template(channel: TemplateFolder, fileName: string, file: string): CompiledTemplate | TemplateIssue[] {
    const match = TEMPLATE_FILE.exec(fileName);
    const [, name = '', locale = ''] = match ?? [];
    if (!match || !TEMPLATE_NAME.test(name) || !LOCALE_TAG.test(locale)) {
      return [
        {
          file,
          message: 'a template file is named `<name>.<locale>.hbs`',
          hint: 'e.g. `dormant-offer.zh-CN.hbs`',
        },
      ];
    }
    const parts = splitTemplate(fs.readFileSync(file, 'utf8'), file);
    if (Array.isArray(parts)) return parts;

    const escape = channel !== NOTIFY_FOLDER && HTML_CHANNELS.has(channel);
    const issues: TemplateIssue[] = [];
    const compile = (source: string, line: number, escaped: boolean) =>
      this.part(source, file, line, locale, escaped, issues);
    // Subjects are never escaped: an email subject is a header, not HTML.
    const subject = parts.subject && compile(parts.subject.source, parts.subject.line, false);
    const body = compile(parts.body.source, parts.body.line, escape);
    const layout = this.layoutFor(parts, channel, locale, escape, file, issues);
    if (issues.length > 0 || !body) return issues;
    return {
      channel,
      name,
      locale,
      file,
      variables: this.variables(parts, channel, locale, file),
      body,
      ...(subject ? { subject } : {}),
      ...(layout ? { layout } : {}),
      partials: this.partialsFor(locale, escape),
      subjectPartials: this.partialsFor(locale, false),
    };
  }

  /** The context variables of a template that compiled: subject, body, layout and partials for its locale. */
  private variables(parts: TemplateParts, channel: TemplateFolder, locale: string, file: string): string[] {
    const helpers = new Set(HELPER_NAMES);
    const partial = (name: string) => this.partials.resolve(name, locale)?.ast;
    const uses: VariableUse[] = [];
    for (const part of [parts.subject, parts.body]) {
      const ast = part && parseTemplate(this.hb, part.source, file, part.line);
      if (ast && !isIssue(ast)) uses.push(...templateVariables(ast, { helpers, partial }));
    }
    if (parts.layout?.name !== NO_LAYOUT) {
      const layout = this.layouts.resolve(parts.layout?.name ?? channel, locale);
      if (layout)
        uses.push(...templateVariables(layout.ast, { helpers, partial, locals: ['body', 'subject'] }));
    }
    return variableList(uses);
  }

  /** One part of a template file (subject or body): parsed, compiled, its partials checked. */
  private part(
    source: string,
    file: string,
    firstLine: number,
    locale: string,
    escape: boolean,
    issues: TemplateIssue[],
  ): Handlebars.TemplateDelegate | undefined {
    const ast = parseTemplate(this.hb, source, file, firstLine);
    if (isIssue(ast)) {
      issues.push(ast);
      return undefined;
    }
    const use = partialUse(ast);
    if (use.dynamic.length > 0) {
      issues.push(...use.dynamic.map((line) => dynamicPartialIssue(file, firstLine + line - 1)));
      return undefined;
    }
    const template = compileTemplate(this.hb, ast, escape);
    // Stand-ins for the partials: each partial file is checked on its own.
    const stubs = Object.fromEntries(use.references.map((r) => [r.name, () => '']));
    const problem = checkRenders(() => template({}, { partials: stubs }), file, firstLine);
    if (problem) {
      issues.push(problem);
      return undefined;
    }
    const missing = this.missingPartials(use, locale, file, firstLine, new Set());
    issues.push(...missing);
    return missing.length > 0 ? undefined : template;
  }

  /** Partials a template (or a partial or layout it uses) includes that do not exist for its locale. */
  private missingPartials(
    use: PartialUse,
    locale: string,
    file: string,
    firstLine: number,
    visited: Set<string>,
  ): TemplateIssue[] {
    const issues: TemplateIssue[] = [];
    for (const ref of use.references) {
      if (use.inline.has(ref.name)) continue;
      const fragment = this.partials.resolve(ref.name, locale);
      if (!fragment) {
        issues.push({
          file,
          line: firstLine + ref.line - 1,
          message: `Handlebars: The partial ${ref.name} could not be found`,
          hint: `for ${locale}, expected templates/${this.partials.expected(ref.name, locale)}`,
        });
      } else if (!visited.has(fragment.file)) {
        visited.add(fragment.file);
        issues.push(...this.missingPartials(partialUse(fragment.ast), locale, fragment.file, 1, visited));
      }
    }
    return issues;
  }

  /**
   * The layout named in the front matter (which must exist), else the channel's own
   * (`_layouts/<channel>.<locale>.hbs`, optional); `layout: none` for none.
   */
  private layoutFor(
    parts: TemplateParts,
    channel: TemplateFolder,
    locale: string,
    escape: boolean,
    file: string,
    issues: TemplateIssue[],
  ): Handlebars.TemplateDelegate | undefined {
    if (parts.layout?.name === NO_LAYOUT) return undefined;
    const name = parts.layout?.name ?? channel;
    const layout = this.layouts.resolve(name, locale);
    if (!layout) {
      if (parts.layout) {
        issues.push({
          file,
          line: parts.layout.line,
          message: `no layout \`${name}\` for ${locale}`,
          hint: `expected templates/${this.layouts.expected(name, locale)}; available: ${this.layouts.names().join(', ') || 'none'}`,
        });
      }
      return undefined;
    }
    const missing = this.missingPartials(partialUse(layout.ast), locale, layout.file, 1, new Set());
    issues.push(...missing);
    return this.compiled(layout, escape);
  }

  /** Every partial name, resolved for `locale`: what Handlebars gets at render. */
  private partialsFor(locale: string, escape: boolean): Partials {
    const id = `${locale.toLowerCase()}/${escape}`;
    let partials = this.partialsByLocale.get(id);
    if (!partials) {
      partials = {};
      for (const name of this.partials.names()) {
        const fragment = this.partials.resolve(name, locale);
        if (fragment) partials[name] = this.compiled(fragment, escape);
      }
      this.partialsByLocale.set(id, partials);
    }
    return partials;
  }

  private compiled(fragment: Fragment, escape: boolean): Handlebars.TemplateDelegate {
    const id = `${fragment.file}/${escape}`;
    let template = this.compiledFragments.get(id);
    if (!template) {
      template = compileTemplate(this.hb, fragment.ast, escape);
      this.compiledFragments.set(id, template);
    }
    return template;
  }
}
