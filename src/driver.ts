/**
 * The contract between the kvsqlite core and a synchronous SQLite driver.
 *
 * An adapter translates one driver into this shape and does nothing else:
 * every rule of the store lives in the core.
 *
 * @module
 */

/** A value that crosses the driver boundary: SQLite's own storage classes, nothing else. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** One result row, its columns in the order of the SELECT list. */
export type SqlRow = SqlValue[];

/**
 * A prepared statement. The caller says which verb it wants; an adapter never
 * inspects SQL text to guess.
 */
export interface Statement {
  /** Runs the statement with positional parameters and returns how many rows it changed. */
  run(params: readonly SqlValue[]): number;
  /** Returns the first row as an array, or `undefined` when there is none. */
  get(params: readonly SqlValue[]): SqlRow | undefined;
  /** Returns every row as an array of arrays. */
  all(params: readonly SqlValue[]): SqlRow[];
  /** Releases the statement. Called once, before the database closes. */
  finalize(): void;
}

/**
 * A synchronous SQLite connection, as the core sees it.
 *
 * Parameters: a `bigint` binds as INTEGER; a `number` may bind as REAL or
 * INTEGER (the core sends numbers only where the column's affinity or the
 * comparison makes the difference invisible). Results: integers must come back
 * as `number` when they are safe integers and as `bigint` otherwise; blobs as
 * `Uint8Array`; `NULL` as `null`.
 *
 * @example Plugging in a driver of your own
 * ```ts ignore
 * import { fromDriver, type Driver } from "@kvsqlite/kvsqlite";
 * const driver: Driver = makeMyDriver();
 * using kv = fromDriver(driver);
 * ```
 */
export interface Driver {
  /** A short name for messages and stats, such as `"node:sqlite"`. */
  readonly name: string;
  /** Prepares a statement that will be reused many times. */
  prepare(sql: string): Statement;
  /** Runs one or more statements that take no parameters and return nothing. */
  exec(sql: string): void;
  /** Closes the connection. */
  close(): void;
  /**
   * The primary SQLite result code carried by a driver error (`5` for
   * SQLITE_BUSY, `8` for SQLITE_READONLY, ...), or `undefined` when the
   * driver did not say. The core falls back to SQLite's standard messages.
   */
  errorCode(error: unknown): number | undefined;
}
