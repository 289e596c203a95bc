/**
 * kvsqlite over `@db/sqlite` (Deno FFI, `jsr:@db/sqlite@^0.13`).
 *
 * Needs `--allow-ffi` and `--allow-env=DENO_SQLITE_PATH,DENO_SQLITE_LOCAL`
 * (plus `--allow-read`/`--allow-write` for the folder when it must be created).
 *
 * @example
 * ```ts ignore
 * import { openKv } from "@kvsqlite/kvsqlite/deno";
 * using kv = openKv("data/app.db");
 * ```
 *
 * @module
 */

import { Database } from "@db/sqlite";
import type { Driver, SqlRow, SqlValue, Statement } from "../src/driver.ts";
import { fromDriver, openWith } from "../src/open.ts";
import { type KvAsync, type KvAsyncOptions, openAsync, workerScript } from "../src/async/client.ts";
import type { Kv } from "../src/kv.ts";
import type { KvOptions } from "../src/options.ts";

export * from "../src/public.ts";

/** The parts of `@db/sqlite`'s `Statement` that kvsqlite uses. */
export interface DbStatementLike {
  /** The driver's own `run`. */
  run(...params: SqlValue[]): number;
  /** The driver's own `value`. */
  value(...params: SqlValue[]): unknown[] | undefined;
  /** The driver's own `values`. */
  values(...params: SqlValue[]): unknown[][];
  /** The driver's own `finalize`. */
  finalize(): void;
}

/** The parts of `@db/sqlite`'s `Database` that kvsqlite uses. */
export interface DbDatabaseLike {
  /** The driver's own `prepare`. */
  prepare(sql: string): DbStatementLike;
  /** The driver's own `exec`. */
  exec(sql: string): unknown;
  /** The driver's own `close`. */
  close(): void;
  /** The driver's own `int64`. */
  int64: boolean;
  /** The driver's own `path`. */
  readonly path: string;
}

function statement(sql: string, db: DbDatabaseLike): Statement {
  const st = db.prepare(sql);
  return {
    run: (params) => st.run(...params),
    get: (params) => st.value(...params) as SqlRow | undefined,
    all: (params) => st.values(...params) as SqlRow[],
    finalize: () => st.finalize(),
  };
}

/**
 * The {@link Driver} over an `@db/sqlite` database. Turns on `int64`: without
 * it integers are read through 32 bits and ms timestamps come back wrong.
 *
 * @param db An open `Database`.
 * @returns The driver.
 */
export function dbSqliteDriver(db: DbDatabaseLike): Driver {
  db.int64 = true;
  return {
    name: "@db/sqlite",
    prepare: (sql) => statement(sql, db),
    exec: (sql) => void db.exec(sql),
    close: () => db.close(),
    // Most @db/sqlite errors carry only SQLite's message; the core reads it.
    errorCode(error) {
      const code = (error as { code?: unknown }).code;
      return typeof code === "number" ? code : undefined;
    },
  };
}

/**
 * Opens (creating it and its folders if needed) a store over `@db/sqlite`.
 *
 * @param path The file; `":memory:"` or omitted for a store in memory.
 * @param options See `KvOptions`.
 * @returns The store.
 */
export function openKv(path?: string, options?: KvOptions): Kv {
  return openWith(
    path,
    options,
    (file, readOnly) =>
      dbSqliteDriver(
        new Database(
          file,
          readOnly ? { readonly: true, int64: true, parseJson: false } : { int64: true, parseJson: false },
        ),
      ),
    "@db/sqlite",
  );
}

/**
 * Wraps an `@db/sqlite` `Database` the caller already opened. `kv.close()`
 * leaves it open unless `closeDatabase: true`.
 *
 * @param db The open database.
 * @param options See `KvOptions`.
 * @returns The store.
 */
export function fromDatabase(db: DbDatabaseLike, options?: KvOptions): Kv {
  return fromDriver(dbSqliteDriver(db), { ...options, path: db.path });
}

/**
 * Opens a store over `@db/sqlite` in a worker thread: the methods of `Kv`, each
 * returning a promise, so that this thread never waits on SQLite.
 *
 * @param path The file; `":memory:"` or omitted for a store in memory.
 * @param options As for {@link openKv}, but `codec`.
 * @returns The store, once the worker has opened it.
 *
 * @example
 * ```ts ignore
 * await using kv = await openKvAsync("data/app.db");
 * await kv.set("a", 1);
 * ```
 */
export function openKvAsync(path?: string, options?: KvAsyncOptions): Promise<KvAsync> {
  return openAsync(workerScript(import.meta.url, "db_sqlite"), path, options);
}
