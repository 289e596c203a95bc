/**
 * kvsqlite over `node:sqlite` (Node >= 22.13, Deno >= 2.2, Bun >= 1.3).
 *
 * The module is obtained with `process.getBuiltinModule` when a store is
 * opened, so importing this file loads no driver.
 *
 * @example
 * ```ts
 * import { openKv } from "@kvsqlite/kvsqlite/node";
 * using kv = openKv(":memory:");
 * kv.set("a", 1);
 * ```
 *
 * @module
 */

import type { Driver, SqlRow, SqlValue, Statement } from "../src/driver.ts";
import { fromDriver, openWith } from "../src/open.ts";
import { builtin, noNodeSqlite, processVersions } from "../src/runtime.ts";
import { type KvAsync, type KvAsyncOptions, openAsync, workerScript } from "../src/async/client.ts";
import type { Kv } from "../src/kv.ts";
import type { KvOptions } from "../src/options.ts";

export * from "../src/public.ts";

/** The parts of `node:sqlite`'s `StatementSync` that kvsqlite uses. */
export interface StatementSyncLike {
  /** The driver's own `run`. */
  run(...params: SqlValue[]): { changes: number | bigint };
  /** The driver's own `get`. */
  get(...params: SqlValue[]): unknown;
  /** The driver's own `all`. */
  all(...params: SqlValue[]): unknown[];
  /** The driver's own `setReturnArrays`. */
  setReturnArrays(enabled: boolean): void;
  /** The driver's own `setReadBigInts`. */
  setReadBigInts(enabled: boolean): void;
}

/** The parts of `node:sqlite`'s `DatabaseSync` that kvsqlite uses. */
export interface DatabaseSyncLike {
  /** The driver's own `prepare`. */
  prepare(sql: string): StatementSyncLike;
  /** The driver's own `exec`. */
  exec(sql: string): void;
  /** The driver's own `close`. */
  close(): void;
}

function isOutOfRange(error: unknown): boolean {
  return (error as { code?: string }).code === "ERR_OUT_OF_RANGE";
}

function safeRow(row: unknown): SqlRow {
  return (row as SqlValue[]).map((v) =>
    typeof v === "bigint" && v >= Number.MIN_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER ? Number(v) : v
  );
}

function statement(db: DatabaseSyncLike, sql: string): Statement {
  const st = db.prepare(sql);
  st.setReturnArrays(true);
  // node:sqlite throws on integers past 2^53 unless asked for bigints; a
  // second statement reads those rows with bigints, only when needed.
  let wide: StatementSyncLike | undefined;
  const widen = (): StatementSyncLike => {
    if (wide === undefined) {
      wide = db.prepare(sql);
      wide.setReturnArrays(true);
      wide.setReadBigInts(true);
    }
    return wide;
  };
  return {
    run: (params) => Number(st.run(...params).changes),
    get(params) {
      try {
        return st.get(...params) as SqlRow | undefined;
      } catch (error) {
        if (!isOutOfRange(error)) throw error;
        const row = widen().get(...params);
        return row === undefined ? undefined : safeRow(row);
      }
    },
    all(params) {
      try {
        return st.all(...params) as SqlRow[];
      } catch (error) {
        if (!isOutOfRange(error)) throw error;
        return widen().all(...params).map(safeRow);
      }
    },
    // node:sqlite finalizes statements when the database closes.
    finalize() {},
  };
}

/**
 * The {@link Driver} over a `node:sqlite` database.
 *
 * @param db An open `DatabaseSync`.
 * @returns The driver.
 */
export function nodeSqliteDriver(db: DatabaseSyncLike): Driver {
  return {
    name: "node:sqlite",
    prepare: (sql) => statement(db, sql),
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    errorCode(error) {
      const code = (error as { errcode?: unknown }).errcode;
      return typeof code === "number" ? code : undefined;
    },
  };
}

type NodeSqlite = {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => DatabaseSyncLike;
};

/**
 * Opens (creating it and its folders if needed) a store over `node:sqlite`.
 *
 * @param path The file; `":memory:"` or omitted for a store in memory.
 * @param options See `KvOptions`.
 * @returns The store.
 */
export function openKv(path?: string, options?: KvOptions): Kv {
  return openWith(path, options, (file, readOnly) => {
    const mod = builtin<NodeSqlite>("node:sqlite");
    if (mod === undefined) throw new Error(noNodeSqlite(processVersions()));
    return nodeSqliteDriver(new mod.DatabaseSync(file, { readOnly }));
  }, "node:sqlite");
}

/**
 * Wraps a `DatabaseSync` the caller already opened. `kv.close()` leaves it
 * open unless `closeDatabase: true`.
 *
 * @param db The open database.
 * @param options See `KvOptions`.
 * @returns The store.
 */
export function fromDatabase(db: DatabaseSyncLike, options?: KvOptions): Kv {
  return fromDriver(nodeSqliteDriver(db), {
    ...options,
    path: (db as { location?: () => string | null }).location?.() ?? ":memory:",
  });
}

/**
 * Opens a store over `node:sqlite` in a worker thread: the methods of `Kv`, each
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
  return openAsync(workerScript(import.meta.url, "node_sqlite"), path, options);
}
