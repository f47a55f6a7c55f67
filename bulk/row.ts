import { columnKey, RowError, text } from './values';

const keyCache = new Map<string, string>();

/** columnKey, remembered: the same few header names come back on every row. */
function cachedKey(name: string): string {
  let key = keyCache.get(name);
  if (key === undefined) {
    key = columnKey(name);
    if (keyCache.size < 10_000) keyCache.set(name, key);
  }
  return key;
}

/**
 * A row's fields by column, looked up by any of a column's accepted names (see docs/import.md).
 * What a mapping took is remembered, so that the other columns can go into traits or properties.
 */
export class Fields {
  private readonly byKey = new Map<string, { name: string; value: unknown }>();
  private readonly taken = new Set<string>();

  constructor(fields: Record<string, unknown>) {
    for (const [name, value] of Object.entries(fields)) {
      const key = cachedKey(name);
      if (key === '') continue;
      if (this.byKey.has(key))
        throw new RowError(
          `columns ${JSON.stringify(this.byKey.get(key)!.name)} and ${JSON.stringify(name)} are the same column`,
        );
      this.byKey.set(key, { name, value });
    }
  }

  /** The first of these columns present and not empty; its name and value. Marks all of them taken. */
  take(aliases: readonly string[]): { name: string; value: unknown } | undefined {
    let found: { name: string; value: unknown } | undefined;
    for (const alias of aliases) {
      const field = this.byKey.get(alias);
      if (!field) continue;
      this.taken.add(alias);
      if (!found && !isEmpty(field.value)) found = field;
    }
    return found;
  }

  /** The text of the first of these columns present and not empty. */
  text(aliases: readonly string[]): string | undefined {
    const field = this.take(aliases);
    return field && text(field.value);
  }

  /** The columns no mapping took, not empty, under their names as written in the file. */
  rest(): [string, unknown][] {
    const out: [string, unknown][] = [];
    for (const [key, { name, value }] of this.byKey) {
      if (this.taken.has(key) || isEmpty(value)) continue;
      // Copied into traits / properties objects by name: never a name that reaches the prototype.
      if (RESERVED.has(name.trim())) throw new RowError(`column ${JSON.stringify(name)}: a reserved name`);
      out.push([name.trim(), typeof value === 'string' ? value.trim() : value]);
    }
    return out;
  }
}

const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}
