import fs from 'node:fs';
import path from 'node:path';
import type Handlebars from 'handlebars';
import { LOCALE_TAG, TEMPLATE_NAME } from '../language/catalog';
import { checkRenders, compileTemplate, isIssue, parseTemplate } from './compile';
import type { TemplateIssue } from './errors';
import { partialUse } from './template-ast';

/**
 * Partials (`templates/_partials/`) and layouts (`templates/_layouts/`): Handlebars files that
 * are not messages themselves. Each is `<name>.hbs` (any locale) or `<name>.<locale>.hbs`; a
 * template in locale `zh-CN` gets `<name>.zh-CN.hbs`, else `<name>.zh.hbs`, else `<name>.hbs`.
 * Their trailing line breaks are dropped, as a template body's are.
 */
export const PARTIALS_DIR = '_partials';
export const LAYOUTS_DIR = '_layouts';

export interface Fragment {
  name: string;
  /** Absent: for every locale. */
  locale?: string;
  file: string;
  ast: hbs.AST.Program;
}

const FRAGMENT_FILE = /^([^.]+)(?:\.([^.]+))?\.hbs$/;

export class FragmentSet {
  private readonly byKey = new Map<string, Fragment>();

  constructor(
    /** The folder, e.g. templates/_partials. */
    readonly dir: string,
    fragments: Fragment[] = [],
  ) {
    for (const f of fragments) this.byKey.set(fragmentKey(f.name, f.locale), f);
  }

  names(): string[] {
    return [...new Set([...this.byKey.values()].map((f) => f.name))].sort();
  }

  list(): Fragment[] {
    return [...this.byKey.values()];
  }

  /** The file for a template in `locale`: `<name>.<locale>`, `<name>.<language>`, then `<name>`. */
  resolve(name: string, locale: string): Fragment | undefined {
    const language = locale.split('-')[0]!;
    return (
      this.byKey.get(fragmentKey(name, locale)) ??
      this.byKey.get(fragmentKey(name, language)) ??
      this.byKey.get(fragmentKey(name, undefined))
    );
  }

  /** For messages: where a fragment for `locale` would be looked for. */
  expected(name: string, locale: string): string {
    const folder = path.basename(this.dir);
    return `${folder}/${name}.${locale}.hbs or ${folder}/${name}.hbs`;
  }
}

function fragmentKey(name: string, locale: string | undefined): string {
  return `${name}/${locale?.toLowerCase() ?? ''}`;
}

/**
 * Reads and checks every file of a fragment folder (a missing folder is an empty set). Problems
 * go to `issues`; files with problems are left out.
 */
export function loadFragments(hb: typeof Handlebars, dir: string, issues: TemplateIssue[]): FragmentSet {
  if (!fs.existsSync(dir)) return new FragmentSet(dir);
  const fragments: Fragment[] = [];
  const seen = new Map<string, string>();
  const entries = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && !e.name.endsWith('.md'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    const match = FRAGMENT_FILE.exec(entry.name);
    const [, name = '', locale] = match ?? [];
    if (!entry.isFile() || !match || !TEMPLATE_NAME.test(name) || (locale && !LOCALE_TAG.test(locale))) {
      issues.push({
        file,
        message: `a file in ${path.basename(dir)} is named \`<name>.hbs\` or \`<name>.<locale>.hbs\``,
        hint: 'e.g. `footer.hbs` or `footer.zh-CN.hbs`',
      });
      continue;
    }
    const id = fragmentKey(name, locale);
    const other = seen.get(id);
    if (other) {
      issues.push({ file, message: `same name and locale as ${other}` });
      continue;
    }
    seen.set(id, file);

    const source = fs
      .readFileSync(file, 'utf8')
      .replace(/^\uFEFF/, '')
      .replace(/(\r?\n)+$/, '');
    const ast = parseTemplate(hb, source, file, 1);
    if (isIssue(ast)) {
      issues.push(ast);
      continue;
    }
    const use = partialUse(ast);
    if (use.dynamic.length > 0) {
      issues.push(...use.dynamic.map((line) => dynamicPartialIssue(file, line)));
      continue;
    }
    // Unknown helpers and the like; the partials it includes are checked where it is used.
    const stubs = Object.fromEntries(use.references.map((r) => [r.name, () => '']));
    const problem = checkRenders(() => compileTemplate(hb, ast, false)({}, { partials: stubs }), file, 1);
    if (problem) {
      issues.push(problem);
      continue;
    }
    fragments.push({ name, ...(locale ? { locale } : {}), file, ast });
  }
  return new FragmentSet(dir, fragments);
}

/** `{{> (expression)}}`: refused, as a partial chosen at render time cannot be checked at load. */
export function dynamicPartialIssue(file: string, line: number): TemplateIssue {
  return {
    file,
    line,
    message: 'a partial name must be written out: `{{> name}}`',
    hint: 'a partial chosen at render time cannot be checked when templates are loaded',
  };
}
