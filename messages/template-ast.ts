/**
 * Static facts about a parsed Handlebars template, found by walking its syntax tree: which
 * partials it includes (so a missing one is reported at load with its line) and whether a layout
 * places the body.
 */

type Node = hbs.AST.Node;

/** Calls `visit` on every node under `root` (statements, blocks, parameters, hashes). */
function walk(root: unknown, visit: (node: Node) => void): void {
  if (Array.isArray(root)) {
    for (const item of root) walk(item, visit);
    return;
  }
  if (typeof root !== 'object' || root === null || typeof (root as { type?: unknown }).type !== 'string')
    return;
  visit(root as Node);
  for (const [key, value] of Object.entries(root)) if (key !== 'loc') walk(value, visit);
}

export interface PartialReference {
  name: string;
  /** 1-based line within the parsed source. */
  line: number;
}

export interface PartialUse {
  /** `{{> name}}` and `{{#> name}}…{{/name}}`, by name. */
  references: PartialReference[];
  /** Lines of `{{> (expression)}}`: a partial chosen at render time cannot be checked at load. */
  dynamic: number[];
  /** Partials the template defines itself with `{{#*inline "name"}}`. */
  inline: Set<string>;
}

export function partialUse(ast: hbs.AST.Program): PartialUse {
  const use: PartialUse = { references: [], dynamic: [], inline: new Set() };
  walk(ast, (node) => {
    if (node.type === 'PartialStatement' || node.type === 'PartialBlockStatement') {
      const { name } = node as hbs.AST.PartialStatement;
      if (name.type !== 'PathExpression') use.dynamic.push(node.loc.start.line);
      // `{{> @partial-block}}` inside a partial is the caller's block, not a file.
      else if (!(name as hbs.AST.PathExpression).data) {
        use.references.push({ name: (name as hbs.AST.PathExpression).original, line: node.loc.start.line });
      }
    }
    if (node.type === 'DecoratorBlock') {
      const block = node as hbs.AST.DecoratorBlock;
      const first = block.params[0];
      if ((block.path as hbs.AST.PathExpression).original === 'inline' && first?.type === 'StringLiteral') {
        use.inline.add((first as hbs.AST.StringLiteral).value);
      }
    }
  });
  return use;
}

/** Whether a layout places `{{{body}}}` (or `{{body}}`, `{{@root.body}}`) somewhere. */
export function placesBody(ast: hbs.AST.Program): boolean {
  let found = false;
  walk(ast, (node) => {
    if (node.type !== 'PathExpression') return;
    const path = node as hbs.AST.PathExpression;
    const parts = path.parts.join('.');
    if ((!path.data && parts === 'body') || (path.data && parts === 'root.body')) found = true;
  });
  return found;
}

/** What Handlebars' whitespace control leaves on a text node (its typings call `original` StripFlags). */
interface StrippedContent {
  type: 'ContentStatement';
  value: string;
  original: string;
  rightStripped?: boolean;
}

/**
 * Partial files are read without their trailing line breaks, so `{{> brand}}` can sit inside a
 * sentence or end an SMS without adding a line break. Handlebars, though, drops the line break of
 * a line that holds only a partial, expecting the partial to bring its own: this puts it back, so
 *
 *     Hi
 *     {{> signature}}
 *     Bye
 *
 * still renders as three lines.
 */
export function keepLineBreaksAfterStandalonePartials(ast: hbs.AST.Program): void {
  walk(ast, (node) => {
    if (node.type !== 'Program') return;
    const body = (node as hbs.AST.Program).body;
    body.forEach((statement, i) => {
      const next = body[i + 1] as StrippedContent | undefined;
      if (statement.type !== 'PartialStatement' || next?.type !== 'ContentStatement') return;
      if ((statement as hbs.AST.PartialStatement).strip.close || !next.rightStripped) return;
      const removed = /^[ \t]*(\r?\n)/.exec(next.original)?.[1];
      if (removed) next.value = removed + next.value;
    });
  });
}
