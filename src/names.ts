/**
 * Names that become SQL identifiers: tables, namespaces, and the names built
 * from them. The rule for what a name may be, and its quoting.
 *
 * @module
 */

import { typeName } from "./check.ts";

/**
 * Throws unless `name` can name a table or a namespace: 1 to 128 characters,
 * no NUL, no `/` (the namespace separator), not starting with `sqlite_` or
 * `kvsqlite_` (kvsqlite's own tables).
 */
export function checkName(name: unknown, field: string, what: string): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(`Cannot ${what}: ${field} must be a string, received ${typeName(name)}`);
  }
  if (
    name.length === 0 || name.length > 128 || name.includes("\0") || name.includes("/") ||
    /^(kv)?sqlite_/i.test(name) || !name.isWellFormed()
  ) {
    throw new RangeError(
      `Cannot ${what}: ${field} must be 1 to 128 characters without "/" or NUL and not start with "sqlite_" or "kvsqlite_", received ${
        typeName(name)
      }`,
    );
  }
}

/** Quotes an SQL identifier. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
