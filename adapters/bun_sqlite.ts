/**
 * kvsqlite over `bun:sqlite` (Bun >= 1.1).
 *
 * The module is obtained with `process.getBuiltinModule` when a store is
 * opened, so importing this file loads no driver.
 *
 * @example
 * ```ts ignore
 * import { openKv } from "@kvsqlite/kvsqlite/bun";
 * using kv = openKv("data/app.db");
 * ```
 *
 * @module
 */

import type { Driver, SqlRow, SqlValue, Statement } from "../src/driver.ts";
import { fromDriver, openWith } from "../src/open.ts";
import { builtin } from "../src/runtime.ts";
import { type KvAsync, type KvAsyncOptions, openAsync, workerScript } from "../src/async/client.ts";
import type { Kv } from "../src/kv.ts";
import type { KvOptions } from "../src/options.ts";

export * from "../src/public.ts";

/** The parts of `bun:sqlite`'s `Statement` that kvsqlite uses. */
export interface BunStatementLike {
  /** The driver's own `run`. */
  run(...params: SqlValue[]): { changes: number };
  /** The driver's own `values`. */
  values(...params: SqlValue[]): unknown[][];
  /** The driver's own `finalize`. */
  finalize(): void;
}

/** The parts of `bun:sqlite`'s `Database` that kvsqlite uses. */
export interface BunDatabaseLike {
  /** The driver's own `prepare`. */
  prepare(sql: string): BunStatementLike;
  /** The driver's own `exec`. */
  exec(sql: string): unknown;
  /** The driver's own `close`. */
  close(throwOnError?: boolean): void;
}

function statement(db: BunDatabaseLike, sql: string): Statement {
  // Safe integers are left off: they cost every read, and kvsqlite never
  // writes an integer past 2^53 (FORMAT.md), so none comes back rounded.
  const st = db.prepare(sql);
  return {
    run: (params) => st.run(...params).changes,
    // bun:sqlite returns blobs as plain Uint8Array and rows as arrays here.
    get: (params) => st.values(...params)[0] as SqlRow | undefined,
    all: (params) => st.values(...params) as SqlRow[],
    finalize: () => st.finalize(),
  };
}

/**
 * The {@link Driver} over a `bun:sqlite` database.
 *
 * @param db An open `Database`.
 * @returns The driver.
 */
export function bunSqliteDriver(db: BunDatabaseLike): Driver {
  return {
    name: "bun:sqlite",
    prepare: (sql) => statement(db, sql),
    exec: (sql) => void db.exec(sql),
    close: () => db.close(),
    errorCode(error) {
      const code = (error as { errno?: unknown }).errno;
      return typeof code === "number" ? code : undefined;
    },
  };
}

type BunSqlite = {
  Database: new (path: string, options?: number | { create?: boolean }) => BunDatabaseLike;
};

/**
 * Opens (creating it and its folders if needed) a store over `bun:sqlite`.
 *
 * @param path The file; `":memory:"` or omitted for a store in memory.
 * @param options See `KvOptions`.
 * @returns The store.
 */
export function openKv(path?: string, options?: KvOptions): Kv {
  return openWith(path, options, (file, readOnly) => {
    const mod = builtin<BunSqlite>("bun:sqlite");
    if (mod === undefined) throw new Error("bun:sqlite is only available in Bun");
    // SQLITE_OPEN_READONLY | SQLITE_OPEN_URI: the core may open a read-only
    // file as a `file:...?immutable=1` URI.
    return bunSqliteDriver(new mod.Database(file, readOnly ? 0x41 : { create: true }));
  }, "bun:sqlite");
}

/**
 * Wraps a `bun:sqlite` `Database` the caller already opened. `kv.close()`
 * leaves it open unless `closeDatabase: true`.
 *
 * @param db The open database.
 * @param options See `KvOptions`.
 * @returns The store.
 */
export function fromDatabase(db: BunDatabaseLike, options?: KvOptions): Kv {
  return fromDriver(bunSqliteDriver(db), { ...options, path: (db as { filename?: string }).filename ?? ":memory:" });
}

/**
 * Opens a store over `bun:sqlite` in a worker thread: the methods of `Kv`, each
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
  return openAsync(workerScript(import.meta.url, "bun_sqlite"), path, options);
}
