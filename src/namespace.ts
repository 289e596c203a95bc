/**
 * Namespaces: key spaces in the same file, each a table named
 * `parent/name` (so that a namespace's children sort right after it), found,
 * listed and dropped here. `Kv.namespace()` opens one.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import { quoteName } from "./names.ts";
import { tagTableName } from "./schema.ts";

/** The table of namespace `name` of the key table `table`. */
export function childTable(table: string, name: string): string {
  return `${table}/${name}`;
}

/** Every table below `table` (its namespaces, theirs, ...), in name order. */
function tablesBelow(conn: Connection, table: string): string[] {
  const st = conn.prepare(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name > ? AND name < ? ORDER BY name`,
  );
  return st.all([`${table}/`, `${table}0`]).map((row) => row[0] as string);
}

/** The names of the namespaces directly inside `table`. */
export function namespaceNames(conn: Connection, table: string): string[] {
  const prefix = table.length + 1;
  return [...new Set(tablesBelow(conn, table).map((t) => t.slice(prefix).split("/")[0]!))];
}

/**
 * Drops namespace `name` of `table` with the namespaces inside it, their
 * tags and statements, in one transaction; `false` when there was none.
 */
export function dropNamespace(conn: Connection, table: string, name: string): boolean {
  const root = childTable(table, name);
  const doomed = tablesBelow(conn, table).filter((t) => t === root || t.startsWith(`${root}/`));
  if (doomed.length === 0) return false;
  conn.atomic(() => {
    for (const t of doomed) {
      conn.forget(quoteName(t));
      conn.forget(quoteName(tagTableName(t)));
      conn.exec(`DROP TABLE IF EXISTS ${quoteName(t)}; DROP TABLE IF EXISTS ${quoteName(tagTableName(t))}`);
    }
  });
  for (const t of doomed) conn.changed(t);
  return true;
}
