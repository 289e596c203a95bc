/**
 * Opening a store: options, pragmas, migration, the sweeper. Adapters call
 * {@link openWith} (they open a file) or {@link fromDriver} (the user did).
 *
 * @module
 */

import { closeSync, mkdirSync, mkdtempSync, openSync, rmdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { taggedJson } from "./codec.ts";
import { Connection } from "./connection.ts";
import type { Driver } from "./driver.ts";
import { KvBusyError, KvError, KvReadOnlyError, primaryCode, wrapDriverError } from "./errors.ts";
import { typeName } from "./check.ts";
import { Kv } from "./kv.ts";
import { type KvOptions, type ResolvedOptions, resolveOptions } from "./options.ts";
import { checkSchema, migrate } from "./schema.ts";
import { sleepSync, unrefInterval } from "./runtime.ts";
import { openFeed } from "./changes.ts";

/** What an adapter supplies to open a file: the driver over a new connection. */
export type OpenDatabase = (path: string, readOnly: boolean) => Driver;

function isMemory(path: string): boolean {
  return path === ":memory:" || path.startsWith("file::memory:");
}

function checkPath(path: unknown): string {
  if (path === undefined) return ":memory:";
  if (typeof path !== "string") {
    throw new TypeError(`Cannot open store: path must be a string, received ${typeName(path)}`);
  }
  if (path === "") throw new RangeError(`Cannot open store: path must not be empty (use ":memory:" for memory)`);
  return path;
}

/** The `code` of a file-system error, if it has one. */
function fsCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Creates the folders missing above `file`, one level at a time (a recursive
 * `mkdirSync` never returns under `/proc` on Node), and throws an error that
 * names the folder and the cause when one cannot be made: a file in the way
 * (ENOTDIR), a read-only file system (EROFS), no permission (EACCES, EPERM).
 */
function makeParent(file: string): void {
  const cut = Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\"));
  if (cut <= 0) return;
  const missing: string[] = [];
  for (let at = file.slice(0, cut);;) {
    let isFolder: boolean;
    try {
      isFolder = statSync(at).isDirectory();
    } catch (error) {
      const code = fsCode(error);
      if (code === "ENOENT" && dirname(at) !== at) {
        missing.push(at);
        at = dirname(at);
        continue;
      }
      // A file above it: the folder above is looked at, to name the file.
      if (code === "ENOTDIR" && dirname(at) !== at) {
        missing.length = 0;
        at = dirname(at);
        continue;
      }
      // Not ours to look at (Deno without read permission above the store's folder, say): the folders below
      // are made, and making them says what is wrong, if anything is.
      break;
    }
    if (!isFolder) throw cannotCreate(file, at, "ENOTDIR", undefined);
    break;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (error) {
      const code = fsCode(error);
      if (code !== "EEXIST") throw cannotCreate(file, folder, code ?? "", error);
    }
  }
}

function cannotCreate(file: string, folder: string, code: string, cause: unknown): KvError {
  const parent = JSON.stringify(dirname(folder));
  if (code === "ENOTDIR") {
    return new KvError(
      `Cannot open ${JSON.stringify(file)}: ${JSON.stringify(folder)} is a file, not a folder (ENOTDIR)`,
    );
  }
  if (code === "EROFS") {
    return new KvReadOnlyError(
      `Cannot open ${JSON.stringify(file)} for writing: the folder ${parent} is on a read-only file system (EROFS)`,
      { cause },
    );
  }
  const why = code === "EACCES" || code === "EPERM"
    ? `the folder ${parent} is not writable by this process`
    : `the folder ${JSON.stringify(folder)} cannot be created`;
  return new KvError(`Cannot open ${JSON.stringify(file)}: ${why}${code ? ` (${code})` : ""}`, { cause });
}

/**
 * Opens the file at `path` through an adapter's `openDatabase` and returns
 * the store. Parent folders are created.
 */
export function openWith(path: unknown, options: KvOptions | undefined, openDatabase: OpenDatabase, name: string): Kv {
  const file = checkPath(path);
  const resolved = resolveOptions(options);
  if (resolved.closeDatabase) {
    throw new TypeError("Cannot open store: closeDatabase goes with fromDatabase()");
  }
  if (!isMemory(file) && !resolved.readOnly) makeParent(file);
  const open = (target: string): Kv => {
    let driver: Driver;
    try {
      driver = openDatabase(target, resolved.readOnly);
    } catch (error) {
      throw wrapDriverError(error, `Cannot open ${JSON.stringify(file)} with ${name}`, undefined);
    }
    return build(driver, file, { ...resolved, closeDatabase: true });
  };
  try {
    return open(file);
  } catch (error) {
    if (!isMemory(file) && isFolder(file)) {
      throw new KvError(`Cannot open ${JSON.stringify(file)}: it is a folder, not a database file (EISDIR)`, {
        cause: error,
      });
    }
    if (!noShm.has(error as object)) {
      const writable = resolved.readOnly || isMemory(file) || !(error instanceof KvError) ||
        (error.code !== "KV_ERROR" && error.code !== "KV_READ_ONLY");
      throw (writable ? undefined : notWritable(file, error)) ?? error;
    }
    // A WAL file on a read-only folder or file system: SQLite cannot create
    // the -shm beside it. Opened immutable, it reads the file alone, which is
    // right only while no -wal holds changes the file lacks.
    if (fileSize(`${file}-wal`) > 0) throw error;
    try {
      return open(`file:${file.replace(/[?#%]/g, encodeURIComponent)}?immutable=1`);
    } catch {
      throw new KvReadOnlyError(
        `Cannot open ${JSON.stringify(file)} read-only: SQLite cannot create ${
          JSON.stringify(`${file}-shm`)
        } beside it (a WAL file in a read-only folder or file system), and this driver cannot open it as an immutable file; open it once where it is writable, or use journalMode "delete"`,
        { cause: error },
      );
    }
  }
}

/**
 * Why `file` cannot be opened for writing, when that is why its open failed:
 * the file, or the nearest folder above it that exists, is on a read-only file
 * system or not writable by this process. SQLite says only "unable to open
 * database file"; this names the path and the cause.
 */
function notWritable(file: string, cause: unknown): KvReadOnlyError | undefined {
  for (let at = file;;) {
    try {
      // Tried, not asked: access(W_OK) does not see a read-only mount on every
      // runtime (Deno answers from the permission bits). Opening the file for
      // writing changes nothing; a folder is tried with an empty folder, removed.
      if (at === file) closeSync(openSync(at, "r+"));
      else rmdirSync(mkdtempSync(join(at, ".kvsqlite-")));
      return undefined;
    } catch (error) {
      const code = fsCode(error);
      if (code === "ENOENT" && dirname(at) !== at) {
        at = dirname(at);
        continue;
      }
      if (code !== "EROFS" && code !== "EACCES" && code !== "EPERM") return undefined;
      const what = at === file ? "it" : `the folder ${JSON.stringify(at)}`;
      const why = code === "EROFS" ? "is on a read-only file system" : "is not writable by this process";
      return new KvReadOnlyError(
        `Cannot open ${
          JSON.stringify(file)
        } for writing: ${what} ${why} (${code}); open it with { readOnly: true } to read it`,
        { cause },
      );
    }
  }
}

/** Errors of a read-only open that failed for want of a writable -shm. */
const noShm = new WeakSet<object>();

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Wraps any synchronous SQLite driver that implements {@link Driver}.
 *
 * @param driver The driver over an open connection.
 * @param options As for `openKv()`; `closeDatabase` closes the driver on `kv.close()`.
 * @returns The store.
 *
 * @example
 * ```ts ignore
 * import { fromDriver } from "@kvsqlite/kvsqlite";
 * using kv = fromDriver(myDriver, { table: "cache" });
 * ```
 */
export function fromDriver(driver: Driver, options?: KvOptions & { path?: string }): Kv {
  const { path, ...rest } = options ?? {};
  return build(driver, path ?? ":memory:", resolveOptions(rest));
}

function build(driver: Driver, path: string, o: ResolvedOptions): Kv {
  const conn = new Connection({
    driver,
    path,
    readOnly: o.readOnly,
    codec: o.codec ?? taggedJson,
    now: o.now,
    closeDatabase: o.closeDatabase,
    batched: o.durability === "batched" && !o.readOnly,
    commitInterval: o.commitInterval,
    onCommitError: o.onCommitError,
  });
  try {
    conn.exec(`PRAGMA busy_timeout = ${o.busyTimeout}`);
    inspect(driver, o.table, path, o.readOnly);
    if (!o.readOnly) creationSettings(conn, o);
    if (!o.readOnly && !isMemory(path)) setJournalMode(conn, o.journalMode, o.busyTimeout);
    conn.exec(`PRAGMA synchronous = ${o.synchronous.toUpperCase()}`);
    if (o.cacheSize !== undefined) conn.exec(`PRAGMA cache_size = ${o.cacheSize}`);
    if (o.mmapSize !== undefined) conn.exec(`PRAGMA mmap_size = ${o.mmapSize}`);
    if (o.journalSizeLimit !== undefined) conn.exec(`PRAGMA journal_size_limit = ${o.journalSizeLimit}`);
    try {
      migrate(driver, o.table, o.readOnly);
      conn.changeFeed = openFeed(driver, o.table, o.changeFeed, o.changeFeedRetention, o.readOnly);
    } catch (error) {
      throw error instanceof KvError
        ? error
        : wrapDriverError(error, "Cannot migrate the schema", driver.errorCode(error));
    }
    conn.pollInterval = o.pollInterval;
  } catch (error) {
    conn.close(false);
    throw error;
  }
  const kv = new Kv(conn, o.table);
  if (o.sweepInterval > 0) startSweeper(conn, kv, o.sweepInterval);
  return kv;
}

function inspect(driver: Driver, table: string, path: string, readOnly: boolean): void {
  try {
    // One snapshot: another process may migrate between the reads of the
    // version and of the columns. A savepoint reads in a transaction without
    // taking a write lock, inside a caller's transaction too.
    driver.exec("SAVEPOINT kv_inspect");
    try {
      checkSchema(driver, table);
    } finally {
      driver.exec("RELEASE kv_inspect");
    }
  } catch (error) {
    if (error instanceof KvError) throw error;
    const code = driver.errorCode(error);
    if (readOnly && !isMemory(path) && primaryCode(error, code) === 14) {
      const shm = new KvReadOnlyError(
        `Cannot open ${JSON.stringify(path)} read-only: SQLite cannot create ${
          JSON.stringify(`${path}-shm`)
        } beside it (a WAL file in a read-only folder or file system) and ${
          JSON.stringify(`${path}-wal`)
        } holds changes not yet in the file; open it once where it is writable, or use journalMode "delete"`,
        { cause: error },
      );
      noShm.add(shm);
      throw shm;
    }
    throw wrapDriverError(error, `Cannot read ${JSON.stringify(path)}`, code);
  }
}

/**
 * The page size and auto-vacuum mode are fixed when SQLite creates the file's
 * first page; on an existing file they are left as they are (changing them
 * would take a full VACUUM, and WAL mode refuses a new page size).
 */
function creationSettings(conn: Connection, o: ResolvedOptions): void {
  if (o.pageSize === undefined && o.autoVacuum === "none") return;
  if (Number(conn.prepare("PRAGMA page_count").get([])![0]) !== 0) return;
  if (o.pageSize !== undefined) conn.exec(`PRAGMA page_size = ${o.pageSize}`);
  if (o.autoVacuum === "incremental") conn.exec("PRAGMA auto_vacuum = INCREMENTAL");
}

// SQLite answers a journal mode change that meets another connection's lock
// with SQLITE_BUSY at once, without its busy handler; so the wait is here.
function setJournalMode(conn: Connection, mode: string, busyTimeout: number): void {
  const current = conn.prepare("PRAGMA journal_mode").get([]);
  if (current?.[0] === mode) return;
  const deadline = Date.now() + busyTimeout;
  for (;;) {
    try {
      conn.exec(`PRAGMA journal_mode = ${mode.toUpperCase()}`);
      return;
    } catch (error) {
      if (!(error instanceof KvBusyError) || Date.now() >= deadline) throw error;
      sleepSync(5);
    }
  }
}

/** Purges the expired keys of a store and of every namespace below it: what the sweeper does on each tick. */
export function sweep(kv: Kv): void {
  kv.purgeExpired();
  for (const name of kv.namespaces()) sweep(kv.namespace(name));
}

function startSweeper(conn: Connection, kv: Kv, interval: number): void {
  conn.sweeper = unrefInterval(() => {
    if (conn.closed) return;
    try {
      sweep(kv);
    } catch {
      // A busy or read-only moment is retried on the next tick.
    }
  }, interval);
}
