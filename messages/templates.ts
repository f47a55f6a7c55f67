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
import type { RenderContext } from './context';
import { TemplateLoadError, TemplateNotFoundError, type TemplateIssue } from './errors';
import { splitTemplate } from './front-matter';

/**
 * Only email bodies are HTML, so only they are HTML-escaped (a customer name like `<b>` must not
 * become markup). SMS, push, WeCom and mini-program messages are shown as plain text and webhook
 * bodies are JSON or text read by machines: escaping those would print `&amp;` or `&#x27;` to the
 * customer. Subjects are plain text on every channel (an email subject is a header, not HTML).
 */
export const HTML_CHANNELS: ReadonlySet<Channel> = new Set<Channel>(['email']);

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

interface CompiledTemplate {
  channel: Channel;
  name: string;
  locale: string;
  file: string;
  subject?: Handlebars.TemplateDelegate;
  body: Handlebars.TemplateDelegate;
}

const TEMPLATE_FILE = /^(.+)\.([^.]+)\.hbs$/;

/** `templates/<channel>/<name>.<locale>.hbs`, compiled once at load. */
export class TemplateStore implements TemplateCatalog {
  private readonly templates = new Map<string, CompiledTemplate>();

  constructor(
    readonly dir: string,
    templates: CompiledTemplate[],
  ) {
    for (const t of templates) this.templates.set(key(t.channel, t.name, t.locale), t);
  }

  has(channel: Channel, name: string, locale: string): boolean {
    return this.templates.has(key(channel, name, locale));
  }

  fileFor(channel: Channel, name: string, locale: string): string {
    return (
      this.templates.get(key(channel, name, locale))?.file ??
      path.join(this.dir, templateFileName(channel, name, locale))
    );
  }

  /** Every template, for listings and checks. */
  list(): { channel: Channel; name: string; locale: string; file: string }[] {
    return [...this.templates.values()].map(({ channel, name, locale, file }) => ({
      channel,
      name,
      locale,
      file,
    }));
  }

  /**
   * Renders a template in the first locale that has it: the requested one (then its language,
   * `en-US` → `en`), the journey's default, then `en`. Locales match case-insensitively.
   */
  render(
    channel: Channel,
    name: string,
    locale: string | undefined,
    context: RenderContext,
    opts: RenderOptions = {},
  ): RenderedMessage {
    const tried = fallbackChain(locale, opts.defaultLocale);
    const template = tried.map((l) => this.templates.get(key(channel, name, l))).find((t) => t !== undefined);
    if (!template) throw new TemplateNotFoundError(channel, name, tried);
    const subject = template.subject?.(context);
    return {
      ...(subject !== undefined ? { subject } : {}),
      body: template.body(context),
      locale: template.locale,
    };
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
 * Loads and compiles every template under `dir`; throws TemplateLoadError listing every bad file
 * (unknown channel folder, bad file name, bad front matter, bad Handlebars syntax, with lines).
 */
export function loadTemplates(dir: string): TemplateStore {
  const hb = createHandlebars();
  const compiled: CompiledTemplate[] = [];
  const issues: TemplateIssue[] = [];
  const seen = new Map<string, string>();

  for (const entry of visible(dir)) {
    const folder = path.join(dir, entry.name);
    if (!entry.isDirectory()) {
      issues.push({
        file: folder,
        message: 'templates go in a channel folder',
        hint: `e.g. ${templateFileName('sms', 'name', 'zh-CN')}`,
      });
      continue;
    }
    if (!(CHANNELS as readonly string[]).includes(entry.name)) {
      issues.push({
        file: folder,
        message: `unknown channel folder \`${entry.name}\``,
        hint: didYouMean(entry.name, CHANNELS),
      });
      continue;
    }
    for (const fileEntry of visible(folder)) {
      const file = path.join(folder, fileEntry.name);
      const result = loadOne(hb, entry.name as Channel, fileEntry.name, file);
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
  if (issues.length > 0) throw new TemplateLoadError(issues);
  return new TemplateStore(dir, compiled);
}

/** Directory entries, minus dotfiles and Markdown notes. */
function visible(dir: string): fs.Dirent[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && !e.name.endsWith('.md'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function loadOne(
  hb: typeof Handlebars,
  channel: Channel,
  fileName: string,
  file: string,
): CompiledTemplate | TemplateIssue[] {
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

  const issues: TemplateIssue[] = [];
  const compile = (source: string, line: number, escape: boolean) => {
    try {
      return compileChecked(hb, source, escape);
    } catch (err) {
      issues.push(compileIssue(err, file, line));
      return undefined;
    }
  };
  const subject = parts.subject && compile(parts.subject.source, parts.subject.line, false);
  const body = compile(parts.body.source, parts.body.line, HTML_CHANNELS.has(channel));
  if (issues.length > 0 || !body) return issues;
  return { channel, name, locale, file, body, ...(subject ? { subject } : {}) };
}

/**
 * An isolated Handlebars: no helpers leak in from (or out to) other code. Prototype access stays
 * at Handlebars' safe default — never set allowProtoPropertiesByDefault / allowProtoMethodsByDefault.
 * `log` is removed (templates must not write customer data to the process log); `json` is added
 * for webhook bodies, which are not escaped and need JSON-quoted values.
 */
function createHandlebars(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.unregisterHelper('log');
  hb.registerHelper('json', (value: unknown) => JSON.stringify(value ?? null));
  return hb;
}

const KNOWN_HELPERS = { log: false, json: true };

/**
 * Handlebars compiles lazily on the first render; rendering once with an empty context here
 * surfaces syntax errors, unknown helpers and partials at load time rather than at send time.
 */
function compileChecked(hb: typeof Handlebars, source: string, escape: boolean): Handlebars.TemplateDelegate {
  const template = hb.compile(hb.parse(source), {
    knownHelpers: KNOWN_HELPERS,
    knownHelpersOnly: true,
    noEscape: !escape,
  });
  template({});
  return template;
}

const HELPERS_HINT = 'available helpers: if, unless, each, with, lookup, json';

/** A Handlebars error with its line translated from the template part to the file. */
function compileIssue(err: unknown, file: string, firstLine: number): TemplateIssue {
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
