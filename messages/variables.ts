/**
 * The variables a template reads from its render context (messages/context.ts), found by walking
 * its Handlebars syntax tree: `{{customer.name}}` → `customer.name`, `{{coupons.[x].code}}` →
 * `coupons.x.code`. The journey checker compares them with what a journey can provide.
 *
 * Left out, because they are not context variables: helper names (`money`, `if`, …), literals,
 * `@data` (`@index`, `@key`; `@root.x` is read as `x`), block parameters (`as |item|`), the
 * `key=value` arguments a partial is given, anything inside an `{{#each}}` or a block whose
 * context is unknown. Inside `{{#with x}}`, `{{y}}` is `x.y`; `../` climbs out of `each`/`with`
 * (not out of `if`, which keeps the context, as Handlebars 4 does).
 *
 * A use is **guarded** when the template itself handles the value being absent: the test of an
 * `#if` / `#unless` / `#with`, an argument of `default`, and every use inside the branch of such a
 * test that runs only when the value is there (`{{#if coupon.code}}…{{coupon.value}}…{{/if}}`).
 * Guards are compared by their root variable (for `coupons`, by root and step id).
 */

type Node = hbs.AST.Node;

export interface VariableUse {
  /** Dotted path from the root of the render context. */
  path: string;
  guarded: boolean;
}

export interface VariableWalkOptions {
  /** Helper names (registered helpers): a bare `{{name}}` that is one is not a variable. */
  helpers: ReadonlySet<string>;
  /** The syntax tree of a partial by name (for the template's locale), to walk where it is included. */
  partial?: (name: string) => hbs.AST.Program | undefined;
  /** Names the root scope has besides the context (a layout's `body` and `subject`). */
  locals?: readonly string[];
}

interface Frame {
  /** Path of this frame's context from the root; null when unknown (inside `each`). */
  prefix: string[] | null;
  locals: ReadonlySet<string>;
}

interface Scope {
  frames: Frame[];
  /** Guard keys (see guardKey) whose presence the current position depends on. */
  guards: ReadonlySet<string>;
  /** Partials being walked (a partial including itself stops here). */
  partials: ReadonlySet<string>;
  /** `{{#*inline "name"}}` partials of the template. */
  inline: ReadonlyMap<string, hbs.AST.Program>;
}

const GUARD_TESTS = new Set(['if', 'unless', 'with']);

/** Every variable use in `ast` (one entry per distinct path and guard state, in first-use order). */
export function templateVariables(ast: hbs.AST.Program, opts: VariableWalkOptions): VariableUse[] {
  const found = new Map<string, VariableUse>();
  const emit = (path: string[], guarded: boolean, scope: Scope) => {
    if (path.length === 0) return;
    const use = { path: path.join('.'), guarded: guarded || scope.guards.has(guardKey(path)) };
    found.set(`${use.path}\u0000${use.guarded}`, use);
  };

  /** The root-relative path of a path expression, or null when it is not a context variable. */
  const resolve = (p: hbs.AST.PathExpression, scope: Scope): string[] | null => {
    if (p.data) return p.parts[0] === 'root' ? p.parts.slice(1) : null;
    const frames = scope.frames;
    const frame = frames[Math.max(0, frames.length - 1 - p.depth)]!;
    if (p.parts.length === 0) return frame.prefix && frame.prefix.length > 0 ? [...frame.prefix] : null;
    const explicitThis = /^(this|\.)[./]/.test(p.original);
    if (!explicitThis && frame.locals.has(p.parts[0]!)) return null;
    return frame.prefix === null ? null : [...frame.prefix, ...p.parts];
  };

  const isHelperPath = (p: hbs.AST.Expression): boolean => {
    if (p.type !== 'PathExpression') return true;
    const path = p as hbs.AST.PathExpression;
    return !path.data && path.depth === 0 && path.parts.length === 1 && opts.helpers.has(path.parts[0]!);
  };

  const expression = (node: hbs.AST.Expression | undefined, scope: Scope, guarded = false): void => {
    if (!node) return;
    if (node.type === 'PathExpression') {
      const path = resolve(node as hbs.AST.PathExpression, scope);
      if (path) emit(path, guarded, scope);
    } else if (node.type === 'SubExpression') {
      call(node as hbs.AST.SubExpression, scope);
    }
  };

  /** A helper call (or a mustache with arguments): its arguments, not its name. */
  const call = (
    node: { path: hbs.AST.Expression; params: hbs.AST.Expression[]; hash?: hbs.AST.Hash },
    scope: Scope,
  ) => {
    const name = helperName(node.path);
    const guarded = name !== undefined && (GUARD_TESTS.has(name) || name === 'default');
    for (const param of node.params) expression(param, scope, guarded);
    for (const pair of node.hash?.pairs ?? []) expression(pair.value, scope);
  };

  const program = (node: hbs.AST.Program | undefined, scope: Scope): void => {
    if (!node) return;
    for (const statement of node.body) statementNode(statement, scope);
  };

  const statementNode = (node: Node, scope: Scope): void => {
    switch (node.type) {
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        if (m.params.length > 0 || (m.hash?.pairs.length ?? 0) > 0 || isHelperPath(m.path)) call(m, scope);
        else expression(m.path, scope);
        return;
      }
      case 'BlockStatement':
        block(node as hbs.AST.BlockStatement, scope);
        return;
      case 'PartialStatement':
      case 'PartialBlockStatement':
        partialNode(node as hbs.AST.PartialStatement & { program?: hbs.AST.Program }, scope);
        return;
      default:
        return; // content, comments; decorators (inline partials) are walked where they are used
    }
  };

  const block = (b: hbs.AST.BlockStatement, scope: Scope): void => {
    const name = helperName(b.path);
    const params = b.program?.blockParams ?? [];
    const withLocals = (frame: Frame): Frame => ({ ...frame, locals: new Set([...frame.locals, ...params]) });
    if (name === 'if' || name === 'unless') {
      call(b, scope);
      const tested = testedPath(b, scope);
      const guardedScope = tested
        ? { ...scope, guards: new Set([...scope.guards, guardKey(tested)]) }
        : scope;
      program(b.program, name === 'if' ? guardedScope : scope);
      program(b.inverse, name === 'unless' ? guardedScope : scope);
      return;
    }
    if (name === 'with') {
      call(b, scope);
      const tested = testedPath(b, scope);
      const inner: Scope = {
        ...scope,
        frames: [...scope.frames, withLocals({ prefix: tested, locals: new Set() })],
        guards: tested ? new Set([...scope.guards, guardKey(tested)]) : scope.guards,
      };
      program(b.program, inner);
      program(b.inverse, scope);
      return;
    }
    if (name !== undefined || b.params.length > 0) call(b, scope);
    else expression(b.path, scope);
    // `each`, `lookup` as a block, or `{{#section}}`: the inner context is not known statically.
    program(b.program, {
      ...scope,
      frames: [...scope.frames, withLocals({ prefix: null, locals: new Set() })],
    });
    program(b.inverse, scope);
  };

  const partialNode = (p: hbs.AST.PartialStatement & { program?: hbs.AST.Program }, scope: Scope): void => {
    for (const param of p.params) if (!isThis(param)) expression(param, scope);
    for (const pair of p.hash?.pairs ?? []) expression(pair.value, scope);
    program(p.program, scope); // a partial block's fallback content
    if (p.name.type !== 'PathExpression') return;
    const name = (p.name as hbs.AST.PathExpression).original;
    if (scope.partials.has(name)) return;
    const ast = scope.inline.get(name) ?? opts.partial?.(name);
    if (!ast) return;
    const top = scope.frames[scope.frames.length - 1]!;
    // Compiling an AST gives a partial without a context the explicit context `this`.
    const context = p.params[0];
    const self = context === undefined || isThis(context);
    const prefix = self
      ? top.prefix
      : context.type === 'PathExpression'
        ? resolve(context as hbs.AST.PathExpression, scope)
        : null;
    const hashKeys = (p.hash?.pairs ?? []).map((pair) => pair.key);
    const frame: Frame = { prefix, locals: new Set([...(self ? top.locals : []), ...hashKeys]) };
    program(ast, {
      ...scope,
      frames: [...scope.frames.slice(0, -1), frame],
      partials: new Set([...scope.partials, name]),
      inline: new Map([...scope.inline, ...inlinePartials(ast)]),
    });
  };

  const testedPath = (b: hbs.AST.BlockStatement, scope: Scope): string[] | null => {
    const first = b.params[0];
    return first?.type === 'PathExpression' ? resolve(first as hbs.AST.PathExpression, scope) : null;
  };

  const helperName = (path: hbs.AST.Expression): string | undefined => {
    if (path.type !== 'PathExpression') return undefined;
    const p = path as hbs.AST.PathExpression;
    return !p.data && p.depth === 0 && p.parts.length === 1 && opts.helpers.has(p.parts[0]!)
      ? p.parts[0]
      : undefined;
  };

  program(ast, {
    frames: [{ prefix: [], locals: new Set(opts.locals ?? []) }],
    guards: new Set(),
    partials: new Set(),
    inline: inlinePartials(ast),
  });
  return [...found.values()];
}

/** `this` (or `.`): the current context itself. */
function isThis(node: hbs.AST.Expression): boolean {
  const p = node as hbs.AST.PathExpression;
  return node.type === 'PathExpression' && !p.data && p.depth === 0 && p.parts.length === 0;
}

/** `{{#*inline "name"}}…{{/inline}}` definitions anywhere in a template. */
function inlinePartials(ast: hbs.AST.Program): Map<string, hbs.AST.Program> {
  const found = new Map<string, hbs.AST.Program>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const n = node as { type?: unknown };
    if (n.type === 'DecoratorBlock') {
      const block = node as hbs.AST.DecoratorBlock;
      const first = block.params[0];
      if ((block.path as hbs.AST.PathExpression).original === 'inline' && first?.type === 'StringLiteral') {
        found.set((first as hbs.AST.StringLiteral).value, block.program);
      }
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'loc') visit(value);
  };
  visit(ast);
  return found;
}

/** What a guard protects: the root variable, and for `coupons` the coupon of one step. */
export function guardKey(path: readonly string[]): string {
  return path[0] === 'coupons' && path.length > 1 ? `coupons.${path[1]}` : (path[0] ?? '');
}

/**
 * The catalog form (TemplateCatalog.variables): each path once, with a trailing `?` when every use
 * of it is guarded.
 */
export function variableList(uses: readonly VariableUse[]): string[] {
  const unguarded = new Set(uses.filter((u) => !u.guarded).map((u) => u.path));
  const all = [...new Set(uses.map((u) => u.path))];
  return all.map((path) => (unguarded.has(path) ? path : `${path}?`));
}
