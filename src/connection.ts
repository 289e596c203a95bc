/**
 * The state every namespace of one open store shares: the driver, the
 * statement cache, the transaction depth, the clock, the counters.
 *
 * @module
 */

import type { Driver, SqlRow, SqlValue, Statement } from "./driver.ts";
import type { Codec } from "./codec.ts";
import { type ChangeFeed, feedFor } from "./feed.ts";
import { Batch } from "./batch.ts";
import {
  KvClosedError,
  KvCorruptError,
  type KvError,
  KvReadOnlyError,
  primaryCode,
  wrapDriverError,
} from "./errors.ts";

/** A prepared statement that reports driver failures as kvsqlite errors. */
export class Prepared {
  readonly #st: Statement;
  readonly #conn: Connection;
  readonly sql: string;

  /**
   * @param conn The connection: its driver runs the statement, its path is named in errors.
   * @param sql The statement.
   */
  constructor(conn: Connection, sql: string) {
    this.#conn = conn;
    this.sql = sql;
    try {
      this.#st = conn.driver.prepare(sql);
    } catch (error) {
      throw conn.fail(error, `Cannot prepare statement on ${JSON.stringify(conn.path)}`, sql);
    }
  }

  run(params: readonly SqlValue[]): number {
    try {
      return this.#st.run(params);
    } catch (error) {
      throw this.#conn.fail(error, `SQLite failed on ${JSON.stringify(this.#conn.path)}`, this.sql);
    }
  }

  get(params: readonly SqlValue[]): SqlRow | undefined {
    try {
      return this.#st.get(params);
    } catch (error) {
      throw this.#conn.fail(error, `SQLite failed on ${JSON.stringify(this.#conn.path)}`, this.sql);
    }
  }

  all(params: readonly SqlValue[]): SqlRow[] {
    try {
      return this.#st.all(params);
    } catch (error) {
      throw this.#conn.fail(error, `SQLite failed on ${JSON.stringify(this.#conn.path)}`, this.sql);
    }
  }

  finalize(): void {
    try {
      this.#st.finalize();
    } catch {
      // A statement that cannot be finalized is released with the connection.
    }
  }
}

/** Counters kept since the store was opened, shared by its namespaces. */
export interface Counters {
  /** Keys looked up by get, getEntry, getMany and take. */
  gets: number;
  /** Look-ups that found a live key. */
  hits: number;
  /** Look-ups that found nothing live. */
  misses: number;
  /** Misses where the key was there but expired. */
  expiredReads: number;
  /** Keys written. */
  sets: number;
  /** Live keys deleted. */
  deletes: number;
  /** Expired rows purged. */
  purged: number;
  /** Transactions committed through `transaction()`. */
  transactions: number;
  /** COMMITs kvsqlite issued: batches, and multi-statement calls outside a transaction. */
  commits: number;
  /** Rows returned by listings (`keys`, `values`, `entries`, `list`). */
  rowsIterated: number;
  /** Failures SQLite reported (wrapped into a `KvError`). */
  errors: number;
  /** WAL checkpoints run through `checkpoint()`. */
  checkpoints: number;
  /** Looks for other connections' commits (`PRAGMA data_version`) made for watchers and queue listeners. */
  polls: number;
}

/** Counters at zero: a store's when it opens, or after `stats({ reset: true })`. */
export function zeroCounters(): Counters {
  return {
    gets: 0,
    hits: 0,
    misses: 0,
    expiredReads: 0,
    sets: 0,
    deletes: 0,
    purged: 0,
    transactions: 0,
    commits: 0,
    rowsIterated: 0,
    errors: 0,
    checkpoints: 0,
    polls: 0,
  };
}

/** Settings fixed when the store opens. */
export interface ConnectionInit {
  driver: Driver;
  path: string;
  readOnly: boolean;
  codec: Codec;
  now: () => number;
  closeDatabase: boolean;
  /** `durability: "batched"`: writes share a transaction committed at the end of the task. */
  batched?: boolean;
  commitInterval?: number | undefined;
  onCommitError?: ((error: KvError) => void) | undefined;
}

/** SQLite result codes after which it has rolled the whole transaction back by itself. */
const ABORTS_TRANSACTION = new Set([7, 10, 11, 13, 26]);

/** One open database, shared by the root store and all its namespaces. */
export class Connection {
  readonly driver: Driver;
  readonly path: string;
  readonly readOnly: boolean;
  readonly codec: Codec;
  readonly now: () => number;
  readonly counters: Counters = zeroCounters();
  /** The file's change feed, shared with the other connections of this process to it. */
  readonly feed: ChangeFeed;
  closed = false;
  /** Set once SQLite reported the file damaged: nothing is written to it on close. */
  damaged = false;
  depth = 0;
  sweeper: ReturnType<typeof setInterval> | undefined;
  /** Told when the store closes: what runs on it (watchers, queue listeners) ends. */
  readonly closers: Set<() => void> = new Set();
  /** ms between two looks for other processes' commits while something watches or listens. */
  pollInterval = 5;
  /** The file has the change feed: its key tables log every write (changes.ts). */
  changeFeed = false;
  readonly #closeDatabase: boolean;
  /** The batch of writes (`durability: "batched"`), `undefined` in the default mode. */
  readonly batch: Batch | undefined;
  readonly #cache = new Map<string, Prepared>();
  #versionCounter = 0;

  constructor(init: ConnectionInit) {
    this.driver = init.driver;
    this.path = init.path;
    this.readOnly = init.readOnly;
    this.codec = init.codec;
    this.now = init.now;
    this.#closeDatabase = init.closeDatabase;
    this.feed = feedFor(init.path);
    this.batch = init.batched === true ? new Batch(this, init.commitInterval, init.onCommitError) : undefined;
  }

  /** Throws {@link KvClosedError} once the store is closed. */
  check(what: string): void {
    if (this.closed) throw new KvClosedError(`Cannot ${what}: the store is closed`);
  }

  /**
   * Throws {@link KvClosedError} or {@link KvReadOnlyError} unless a write may
   * go ahead, or the error of a batch lost since the last call; in batched
   * mode, opens the batch.
   */
  checkWrite(what: string, batch = true): void {
    if (this.closed) throw new KvClosedError(`Cannot ${what}: the store is closed`);
    if (this.readOnly) throw new KvReadOnlyError(`Cannot ${what}: the store was opened read-only`);
    this.batch?.throwLost();
    this.claimWrite(batch);
    this.batch?.count();
  }

  /**
   * Readies a write: commits the other connections' batches on this file (this
   * thread would wait on their lock forever), and opens this one's batch.
   */
  claimWrite(batch = true): void {
    if (this.feed.batches.size > 0) this.feed.yieldBatches(this.batch);
    if (batch) this.batch?.begin();
  }

  /** Announces a write of `key` (or of the whole table) to this process's caches of the file. */
  changed(table: string, key?: string): void {
    if (this.feed.listeners.size > 0) this.feed.notify(table, key);
  }

  /** The cached statement for `sql`, prepared on first use. */
  prepare(sql: string): Prepared {
    let st = this.#cache.get(sql);
    if (st === undefined) {
      st = new Prepared(this, sql);
      this.#cache.set(sql, st);
    }
    return st;
  }

  /** Finalizes and forgets every cached statement that mentions `table`. */
  forget(quotedTable: string): void {
    for (const [sql, st] of this.#cache) {
      if (sql.includes(quotedTable)) {
        st.finalize();
        this.#cache.delete(sql);
      }
    }
  }

  exec(sql: string): void {
    try {
      this.driver.exec(sql);
    } catch (error) {
      throw this.fail(error, `SQLite failed on ${JSON.stringify(this.path)}`, sql);
    }
  }

  /** Wraps a driver failure, and remembers when it said the file is damaged. */
  fail(error: unknown, what: string, sql?: string): KvError {
    const code = this.driver.errorCode(error);
    const wrapped = wrapDriverError(error, what, code, sql);
    this.counters.errors++;
    if (wrapped instanceof KvCorruptError) this.damaged = true;
    if (this.batch?.isOpen && ABORTS_TRANSACTION.has(primaryCode(error, code) ?? 0)) this.batch.abandon(wrapped);
    return wrapped;
  }

  /**
   * A version number for a write: later writes in this process get larger
   * numbers, and the SQL keeps it above the row's previous version.
   */
  nextVersion(now: number): number {
    const counter = this.#versionCounter = (this.#versionCounter + 1) % 1024;
    const base = Math.max(0, Math.floor(now)) * 1024;
    return Number.isSafeInteger(base + counter) ? base + counter : counter;
  }

  /**
   * Runs `fn` atomically: a transaction at the outermost level
   * (`BEGIN IMMEDIATE` for writes), a savepoint inside another one.
   */
  atomic<T>(fn: () => T, write = true): T {
    if (write && !this.readOnly) this.claimWrite();
    const depth = this.depth;
    // Inside another transaction, or inside the open batch, a savepoint.
    const nested = depth > 0 || this.batch?.isOpen === true;
    this.exec(nested ? `SAVEPOINT kv${depth}` : write && !this.readOnly ? "BEGIN IMMEDIATE" : "BEGIN");
    this.depth = depth + 1;
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.depth = depth;
      this.rollback(nested ? depth + 1 : 0);
      throw error;
    }
    this.depth = depth;
    try {
      this.exec(nested ? `RELEASE kv${depth}` : "COMMIT");
      if (!nested) this.counters.commits++;
    } catch (error) {
      this.rollback(nested ? depth + 1 : 0);
      throw error;
    }
    return result;
  }

  /** Rolls back to savepoint `kv{level - 1}`, or the whole transaction when `level` is 0. */
  rollback(level: number): void {
    try {
      this.driver.exec(level > 0 ? `ROLLBACK TO kv${level - 1}; RELEASE kv${level - 1}` : "ROLLBACK");
    } catch {
      // SQLite already rolled the transaction back by itself.
    }
    // What the rolled-back writes told this process's caches is void: every
    // cache of the file forgets what it may have taken from them.
    if (this.feed.listeners.size > 0) this.feed.notify(undefined);
  }

  /** Closes the driver (unless the user owns it) and releases every statement. */
  close(optimize: boolean): void {
    if (this.closed) return;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    let lost: unknown;
    try {
      this.batch?.flush();
    } catch (error) {
      lost = error;
    }
    if (optimize && !this.readOnly && !this.damaged) {
      try {
        this.driver.exec("PRAGMA optimize");
      } catch {
        // Optimizing is a courtesy; closing must not fail because of it.
      }
    }
    this.closed = true;
    for (const close of [...this.closers]) close();
    this.closers.clear();
    for (const st of this.#cache.values()) st.finalize();
    this.#cache.clear();
    if (this.#closeDatabase) {
      try {
        this.driver.close();
      } catch (error) {
        throw wrapDriverError(error, "Cannot close the store", this.driver.errorCode(error));
      }
    }
    // The store is closed either way; a last batch that could not commit is said.
    if (lost !== undefined) throw lost;
  }
}
