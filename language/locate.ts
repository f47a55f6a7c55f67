import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/** A path into a parsed document, as zod reports it: map keys and list indexes. */
export type DocPath = readonly (string | number)[];

/**
 * Line and column (1-based) for a path in a YAML/JSON document. A map entry points at its key
 * (`timeout:` rather than its value), a list item at the item. When the path does not exist —
 * a required key that is missing — the nearest enclosing node that does exist is used.
 */
export function locate(doc: Document, lines: LineCounter, path: DocPath): { line: number; column: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const offset = offsetOf(doc, path.slice(0, depth));
    if (offset !== undefined) {
      const { line, col } = lines.linePos(offset);
      return { line, column: col };
    }
  }
  return { line: 1, column: 1 };
}

function offsetOf(doc: Document, path: DocPath): number | undefined {
  if (path.length === 0) return isNode(doc.contents) ? doc.contents.range?.[0] : undefined;
  const parent = doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(last));
    const node = isNode(pair?.key) ? pair.key : pair?.value;
    return isNode(node) ? node.range?.[0] : undefined;
  }
  if (isSeq(parent) && typeof last === 'number') {
    const item = parent.items[last];
    return isNode(item) ? item.range?.[0] : undefined;
  }
  return undefined;
}

/** `steps[2].timeout` for `['steps', 2, 'timeout']`. */
export function formatPath(path: DocPath): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}

/** The plain value at a path of already-converted data, read through own properties only. */
export function valueAt(data: unknown, path: DocPath): unknown {
  let current = data;
  for (const seg of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, seg)) return undefined;
    current = (current as Record<string | number, unknown>)[seg];
  }
  return current;
}
