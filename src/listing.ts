/**
 * Listings: keys, values, entries, the lazy `list()` and `count()`, read in
 * key order through the primary key, a page at a time.
 *
 * @module
 */

import type { KvEntry } from "./shapes.ts";
import { decodeValue } from "./codec.ts";
import type { Connection } from "./connection.ts";
import type { SqlRow, SqlValue } from "./driver.ts";
import { checkListOptions, compileQuery, type KeyCondition, type KeyQuery, type ListOptions } from "./query.ts";
import { LITERAL_LIMIT, Shape, type Table } from "./table.ts";

/** Entries `list()` fetches per statement. */
const LIST_BATCH = LITERAL_LIMIT;

/** One page of live rows of `shape` matching `cond`, after the key `after`. */
function page(
  conn: Connection,
  table: Table,
  cond: KeyCondition,
  shape: Shape,
  options: ListOptions,
  after: string | undefined,
  limit?: number,
): SqlRow[] {
  const st = table.page(cond, shape, options.reverse === true, after !== undefined, limit);
  const params = [...cond.params, conn.now()];
  if (after !== undefined) params.push(after);
  if (limit !== undefined && limit > LITERAL_LIMIT) params.push(limit);
  return st.all(params);
}

/** The rows of a whole listing call, its query and options checked. */
function rows(
  conn: Connection,
  table: Table,
  query: KeyQuery | undefined,
  options: ListOptions | undefined,
  shape: Shape,
  what: string,
): SqlRow[] {
  const cond = compileQuery(query, what);
  const o = checkListOptions(options, what);
  const found = page(conn, table, cond, shape, o, o.after, o.limit);
  conn.counters.rowsIterated += found.length;
  return found;
}

/** `keys()`. */
export function keys(conn: Connection, table: Table, query?: KeyQuery, options?: ListOptions): string[] {
  // Rows are fresh arrays from the driver: rewriting them in place saves an
  // allocation per row (measured 1.2 us per 50 rows on bun:sqlite).
  const found = rows(conn, table, query, options, Shape.keys, "list keys") as unknown[];
  for (let i = 0; i < found.length; i++) found[i] = (found[i] as SqlRow)[0];
  return found as string[];
}

/** `values()`. */
export function values<T>(conn: Connection, table: Table, query?: KeyQuery, options?: ListOptions): T[] {
  const codec = conn.codec;
  const found = rows(conn, table, query, options, Shape.values, "list values") as unknown[];
  for (let i = 0; i < found.length; i++) {
    const row = found[i] as SqlRow;
    found[i] = decodeValue(row[0], row[1], codec);
  }
  return found as T[];
}

/** `entries()`. */
export function entries<T>(conn: Connection, table: Table, query?: KeyQuery, options?: ListOptions): [string, T][] {
  const codec = conn.codec;
  const found = rows(conn, table, query, options, Shape.entries, "list entries");
  for (const row of found) {
    row[1] = decodeValue(row[1], row[2], codec) as SqlValue;
    row.pop();
  }
  return found as unknown as [string, T][];
}

/**
 * `list()`: its query and options are checked at once; the rows are fetched
 * lazily, a batch at a time by key, `check` running before each batch (the
 * store may have been closed meanwhile).
 */
export function list<T>(
  conn: Connection,
  table: Table,
  query: KeyQuery | undefined,
  options: ListOptions | undefined,
  check: () => void,
): IterableIterator<KvEntry<T>> {
  const cond = compileQuery(query, "list entries");
  return iterate<T>(conn, table, cond, checkListOptions(options, "list entries"), check);
}

function* iterate<T>(
  conn: Connection,
  table: Table,
  cond: KeyCondition,
  options: ListOptions,
  check: () => void,
): IterableIterator<KvEntry<T>> {
  let after = options.after;
  let left = options.limit ?? Infinity;
  while (left > 0) {
    check();
    const batch = Math.min(left, LIST_BATCH);
    const found = page(conn, table, cond, Shape.list, options, after, batch);
    conn.counters.rowsIterated += found.length;
    for (const row of found) {
      yield {
        key: row[0] as string,
        value: decodeValue(row[1], row[2], conn.codec) as T,
        expiresAt: row[3] === null ? null : Number(row[3]),
        version: Number(row[4]),
      };
    }
    if (found.length < batch) return;
    left -= found.length;
    after = found[found.length - 1]![0] as string;
  }
}

/** `count()`. */
export function count(conn: Connection, table: Table, query?: KeyQuery): number {
  const cond = compileQuery(query, "count keys");
  return Number(table.count(cond).get([...cond.params, conn.now()])![0]);
}
