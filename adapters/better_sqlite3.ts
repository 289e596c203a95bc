/**
 * kvsqlite over any handle with better-sqlite3's shape: `better-sqlite3`
 * itself, and `libsql` (libSQL's embedded driver, on a local file). The
 * package imports neither: pass your `Database` class to
 * {@link openKv}, or your open handle to {@link fromDatabase}.
 *
 * @example
 * ```ts ignore
 * import Database from "better-sqlite3"; // or: import Database from "libsql";
 * import { openKv } from "@kvsqlite/kvsqlite/better-sqlite3";
 * using kv = openKv("data/app.db", { Database });
 * kv.set("a", 1);
 * ```
 *
 * @module
 */

import type { Driver, SqlRow, SqlValue, Statement } from "../src/driver.ts";
import { fromDriver, openWith } from "../src/open.ts";
import { type KvAsync, type KvAsyncOptions, openAsync, workerScript } from "../src/async/client.ts";
import type { Kv } from "../src/kv.ts";
import type { KvOptions } from "../src/options.ts";

export * from "../src/public.ts";

/** The parts of a better-sqlite3 `Statement` that kvsqlite uses. */
export interface BetterStatementLike {
  /** Whether the statement returns rows. */
  readonly reader: boolean;
  /** The driver's own `run`. */
  run(...params: SqlValue[]): { changes: number | bigint };
  /** The driver's own `get`. */
  get(...params: SqlValue[]): unknown;
  /** The driver's own `all`. */
  all(...params: SqlValue[]): unknown[];
  /** The driver's own `raw`: rows as arrays. */
  raw(toggle?: boolean): unknown;
}

/** The parts of a better-sqlite3 `Database` that kvsqlite uses. */
export interface BetterDatabaseLike {
  /** The driver's own `prepare`. */
  prepare(sql: string): BetterStatementLike;
  /** The driver's own `exec`. */
  exec(sql: string): unknown;
  /** The driver's own `close`. */
  close(): unknown;
  /** The file, as the driver names it. */
  readonly name?: string;
}

/** A better-sqlite3-compatible `Database` class (better-sqlite3's default export, or libsql's). */
export type BetterDatabaseClass = new (
  path: string,
  options?: { readonly?: boolean; fileMustExist?: boolean },
) => BetterDatabaseLike;

/** Options of {@link openKv}: kvsqlite's, and the driver's class. */
export interface BetterOpenOptions extends KvOptions {
  /** The `Database` class of better-sqlite3 or libsql. */
  Database: BetterDatabaseClass;
}

/** Options of {@link openKvAsync}: kvsqlite's, and the driver, which the worker thread loads itself. */
export interface BetterAsyncOptions extends KvAsyncOptions {
  /**
   * The module that exports the `Database` class: `"better-sqlite3"`, `"libsql"`, or a path (resolved from the working
   * folder); or the class itself, of which the worker loads the module of that name.
   */
  Database: string | BetterDatabaseClass;
}

// Both drivers name errors by SQLite's code ("SQLITE_BUSY", "SQLITE_IOERR_WRITE"...).
const PRIMARY: Record<string, number> = {
  ERROR: 1,
  BUSY: 5,
  LOCKED: 6,
  NOMEM: 7,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  CONSTRAINT: 19,
  NOTADB: 26,
};

// Blobs come back as Buffer; the core promises plain Uint8Array.
function plain(row: SqlValue[]): SqlRow {
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (v instanceof Uint8Array && v.constructor !== Uint8Array) {
      row[i] = new Uint8Array(v.buffer, v.byteOffset, v.length);
    }
  }
  return row;
}

// better-sqlite3 binds SQLite's numbered parameters (?1, ?2) only by an
// object with numeric keys; binding positionally instead took setMany from
// 0.62 to 0.75 of the raw driver's batched INSERT OR REPLACE. A statement that
// has them is rewritten once, when it is prepared, to plain `?` and a list of
// which value goes where. Quoted names and literals are copied as they are: a
// table named `t?1` keeps its name.
function positional(sql: string): { text: string; order: number[] } | undefined {
  if (!/\?\d/.test(sql)) return undefined;
  const order: number[] = [];
  let text = "";
  let closing = "";
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (closing !== "") {
      // A doubled quote closes and reopens: the name goes on either way.
      if (c === closing) closing = "";
    } else if (c === '"' || c === "'" || c === "`") closing = c;
    else if (c === "[") closing = "]";
    else if (c === "?" && isDigit(sql[i + 1])) {
      let end = i + 1;
      while (isDigit(sql[end])) end++;
      order.push(Number(sql.slice(i + 1, end)) - 1);
      text += "?";
      i = end - 1;
      continue;
    }
    text += c;
  }
  return order.length === 0 ? undefined : { text, order };
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

function statement(db: BetterDatabaseLike, sql: string): Statement {
  const rewritten = positional(sql);
  const st = db.prepare(rewritten?.text ?? sql);
  // Safe integers stay off, as on bun:sqlite: kvsqlite never writes an
  // integer past 2^53 (FORMAT.md), and turning them on costs every read.
  if (st.reader) st.raw(true);
  const order = rewritten?.order;
  const bind = order === undefined
    ? (params: readonly SqlValue[]) => params as SqlValue[]
    : (params: readonly SqlValue[]) => order.map((i) => params[i]!);
  return {
    run: (params) => Number(st.run(...bind(params)).changes),
    get(params) {
      const row = st.get(...bind(params)) as SqlValue[] | undefined;
      return row === undefined ? undefined : plain(row);
    },
    all: (params) => (st.all(...bind(params)) as SqlValue[][]).map(plain),
    // Statements are released with the database.
    finalize() {},
  };
}

/**
 * The {@link Driver} over a better-sqlite3-compatible database.
 *
 * @param db An open `Database` of better-sqlite3 or libsql.
 * @param name The driver's name in messages and stats.
 * @returns The driver.
 */
export function betterSqliteDriver(db: BetterDatabaseLike, name = "better-sqlite3"): Driver {
  return {
    name,
    prepare: (sql) => statement(db, sql),
    exec: (sql) => void db.exec(sql),
    close: () => void db.close(),
    errorCode(error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== "string") return undefined;
      const m = /^SQLITE_([A-Z]+)/.exec(code);
      return m ? PRIMARY[m[1]!] : undefined;
    },
  };
}

// libsql's class has a sync() method; better-sqlite3's has not.
function driverName(Database: unknown): string {
  const proto = (Database as { prototype?: { sync?: unknown } } | undefined)?.prototype;
  return typeof proto?.sync === "function" ? "libsql" : "better-sqlite3";
}

/**
 * Opens (creating it and its folders if needed) a store over better-sqlite3
 * or libsql, with the `Database` class you pass.
 *
 * @param path The file; `":memory:"` for a store in memory.
 * @param options kvsqlite's options, and `Database`: the driver's class.
 * @returns The store.
 * @throws {TypeError} Without a `Database` class.
 */
export function openKv(path: string | undefined, options: BetterOpenOptions): Kv {
  if (options === null || typeof options !== "object" || typeof options.Database !== "function") {
    throw new TypeError("Cannot open store: options.Database must be the Database class of better-sqlite3 or libsql");
  }
  const { Database, ...rest } = options;
  const name = driverName(Database);
  return openWith(path, rest, (file, readOnly) => {
    const db = new Database(file, readOnly ? { readonly: true, fileMustExist: true } : {});
    return betterSqliteDriver(db, name);
  }, name);
}

/**
 * Wraps a better-sqlite3 or libsql `Database` the caller already opened.
 * `kv.close()` leaves it open unless `closeDatabase: true`.
 *
 * @param db The open database.
 * @param options See `KvOptions`.
 * @returns The store.
 */
export function fromDatabase(db: BetterDatabaseLike, options?: KvOptions): Kv {
  return fromDriver(betterSqliteDriver(db, driverName(db.constructor)), { ...options, path: db.name || mainFile(db) });
}

// libsql's handle does not name its file; SQLite does ("" in memory).
function mainFile(db: BetterDatabaseLike): string {
  const st = db.prepare("SELECT file FROM pragma_database_list WHERE name = 'main'");
  st.raw(true);
  const file = (st.get() as [string] | undefined)?.[0];
  return file ? file : ":memory:";
}

/**
 * Opens a store over better-sqlite3 or libsql in a worker thread: the
 * methods of `Kv`, each returning a promise. A class cannot cross to another
 * thread, so the worker loads the driver's module itself: the one `Database`
 * names, or for the class itself `"better-sqlite3"` or `"libsql"`.
 *
 * @param path The file; `":memory:"` for a store in memory.
 * @param options kvsqlite's options (but `codec`), and `Database`: the driver's module.
 * @returns The store, once the worker has opened it.
 * @throws {TypeError} Without a `Database` module name or class.
 *
 * @example
 * ```ts ignore
 * await using kv = await openKvAsync("data/app.db", { Database: "better-sqlite3" });
 * await kv.set("a", 1);
 * ```
 */
export async function openKvAsync(path: string | undefined, options: BetterAsyncOptions): Promise<KvAsync> {
  const Database = options?.Database;
  if (typeof Database !== "string" && typeof Database !== "function") {
    throw new TypeError(
      'Cannot open store: options.Database must name the driver\'s module ("better-sqlite3" or "libsql") or be its class',
    );
  }
  const { Database: _, ...rest } = options;
  const id = typeof Database === "string" ? Database : driverName(Database);
  return await openAsync(workerScript(import.meta.url, "better_sqlite3"), path, rest, { option: "Database", id });
}
