/**
 * The `Kv` class: the synchronous store. Each method checks that the store
 * is open and that its arguments are valid, and hands the work to the room
 * that holds it (writes, listings, tags, namespaces, maintenance). Its surface
 * and documentation are declared once in `api.ts`.
 *
 * @module
 */

import type { CloseOptions, KvEntry, KvMethods, TxResult } from "./api.ts";
import { decodeValue, encodeValue, isNativeString, Kind } from "./codec.ts";
import { type Connection, zeroCounters } from "./connection.ts";
import type { SqlValue } from "./driver.ts";
import { KvClosedError } from "./errors.ts";
import { atToTime, type ExpiryOptions, isLive, ttlToTime } from "./expiry.ts";
import { booleanOption, checkOptions, typeName } from "./check.ts";
import { checkKey, checkStoredKey } from "./keys.ts";
import type { KeyQuery, ListOptions } from "./query.ts";
import { checkName } from "./names.ts";
import { countLookup, type KvStats, readStats } from "./stats.ts";
import { Table } from "./table.ts";
import * as writes from "./write.ts";
import { checkEntry, checkIncr, entriesOf, type SetOptions } from "./write.ts";
import * as listing from "./listing.ts";
import * as namespaces from "./namespace.ts";
import * as tags from "./tags.ts";
import * as maintenance from "./maintenance.ts";
import { checkpoint as checkpointWal, type CheckpointMode, type CheckpointResult } from "./checkpoint.ts";
import { isAsyncFunction } from "./runtime.ts";
import {
  checkWatch,
  type KvMissing,
  type KvWatch,
  type WatchChanges,
  watchKeys,
  type WatchOptions,
  watchQuery,
} from "./watch/watch.ts";
import { type ChangesOptions, type KvChange, readChanges } from "./changes.ts";
import { KvQueue } from "./queue/kv_queue.ts";
import { checkQueueName, QueueStore } from "./queue/queue.ts";

export type { CloseOptions, KvEntry } from "./api.ts";
export type { SetOptions } from "./write.ts";
export type { CheckpointMode, CheckpointResult } from "./checkpoint.ts";

/** What the modules around the facade (the cache, the worker) need of a store; not part of the public API. */
export interface KvInternals {
  conn: Connection;
  table: string;
}

let internalsOf: (kv: Kv) => KvInternals;

/** The connection and table behind a store. */
export function kvInternals(kv: Kv): KvInternals {
  return internalsOf(kv);
}

let setEncodedOf: (kv: Kv, key: string, v: SqlValue, kind: number, options: SetOptions | undefined) => boolean;
let setManyEncodedOf: (kv: Kv, flat: readonly unknown[], options: SetOptions | undefined) => number;

/**
 * `kv.set()` of a value already encoded by the default codec (the async
 * client encodes on the caller's thread, where the value is checked anyway).
 */
export function setEncoded(kv: Kv, key: string, v: SqlValue, kind: number, options?: SetOptions): boolean {
  return setEncodedOf(kv, key, v, kind, options);
}

/** `kv.setMany()` of what `encodeEntries` (write.ts) made. */
export function setManyEncoded(kv: Kv, flat: readonly unknown[], options?: SetOptions): number {
  return setManyEncodedOf(kv, flat, options);
}

/**
 * A persistent key-value store on one SQLite table, whose calls return their
 * results. Obtain one with `openKv()`; a namespace is another `Kv` over the
 * same connection. Every method is documented on {@link KvMethods}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv } from "@kvsqlite/kvsqlite";
 * using kv = openKv();
 * kv.set("session:42", { user: "ada" }, { ttl: 30 * 60_000 });
 * assert(kv.get<{ user: string }>("session:42")?.user === "ada");
 * ```
 */
export class Kv implements KvMethods<"sync">, Disposable, Iterable<[string, unknown]> {
  readonly #conn: Connection;
  readonly #table: Table;
  readonly #children = new Map<string, Kv>();
  readonly #queues = new Map<string, KvQueue<unknown>>();
  #closed = false;

  static {
    internalsOf = (kv) => ({ conn: kv.#conn, table: kv.#table.name });
    setEncodedOf = (kv, key, v, kind, options) => {
      const conn = kv.#checkWrite("set key");
      checkKey(key, "set key");
      return writes.set(conn, kv.#table, key, v, kind, options);
    };
    setManyEncodedOf = (kv, flat, options) =>
      writes.setMany(kv.#checkWrite("set many keys"), kv.#table, options, (write) => {
        for (let i = 0; i < flat.length; i += 3) {
          write(flat[i] as string, flat[i + 1] as SqlValue, flat[i + 2] as number);
        }
      });
  }

  /**
   * Not for direct use: obtain a store from `openKv()`, `fromDatabase()` or
   * `fromDriver()`.
   *
   * @param conn The shared connection.
   * @param table The table of this key space.
   */
  constructor(conn: Connection, table: string) {
    this.#conn = conn;
    this.#table = new Table(conn, table);
  }

  #check(what: string): Connection {
    if (this.#closed) throw new KvClosedError(`Cannot ${what}: the namespace is closed`);
    this.#conn.check(what);
    return this.#conn;
  }

  #checkWrite(what: string): Connection {
    this.#check(what);
    this.#conn.checkWrite(what);
    return this.#conn;
  }

  // ---- reads ---------------------------------------------------------------

  /** The value of a live key (see {@link KvMethods.get}). */
  get<T = unknown>(key: string): T | undefined;
  /** The value of a live key, or `fallback` (see {@link KvMethods.get}). */
  get<T = unknown>(key: string, fallback: T): T;
  get<T>(key: string, fallback?: T): T | undefined {
    const conn = this.#check("get key");
    checkStoredKey(key, "get key");
    const row = this.#table.read.get([key]);
    if (!countLookup(conn, row)) return fallback;
    return decodeValue(row[0], row[1], conn.codec) as T;
  }

  /** A live key with its expiry and version (see {@link KvMethods.getEntry}). */
  getEntry<T = unknown>(key: string): KvEntry<T> | undefined {
    const conn = this.#check("get entry");
    checkStoredKey(key, "get entry");
    const row = this.#table.readEntry.get([key]);
    if (!countLookup(conn, row)) return undefined;
    return {
      key,
      value: decodeValue(row[0], row[1], conn.codec) as T,
      expiresAt: row[2] === null ? null : Number(row[2]),
      version: Number(row[3]),
    };
  }

  /** The values of many keys in one snapshot (see {@link KvMethods.getMany}). */
  getMany<T = unknown>(keys: readonly string[]): (T | undefined)[] {
    const conn = this.#check("get many keys");
    if (!Array.isArray(keys)) {
      throw new TypeError(`Cannot get many keys: keys must be an array, received ${typeName(keys)}`);
    }
    for (const key of keys) checkStoredKey(key, "get many keys");
    if (keys.length === 0) return [];
    const found = new Map<string, SqlValue[]>();
    for (const row of this.#table.readMany.all([JSON.stringify(keys), conn.now()])) {
      found.set(row[0] as string, row);
    }
    conn.counters.gets += keys.length;
    return keys.map((key) => {
      const row = found.get(key);
      if (row === undefined) {
        conn.counters.misses++;
        return undefined;
      }
      conn.counters.hits++;
      return decodeValue(row[1], row[2], conn.codec) as T;
    });
  }

  /** Whether a key is live (see {@link KvMethods.has}). */
  has(key: string): boolean {
    const conn = this.#check("check key");
    checkStoredKey(key, "check key");
    const row = this.#table.readExpiry.get([key]);
    return row !== undefined && isLive(row[0], conn.now());
  }

  /** The tags of a live key (see {@link KvMethods.tags}). */
  tags(key: string): string[] | undefined {
    const conn = this.#check("read tags");
    checkStoredKey(key, "read tags");
    return tags.tagsOf(this.#table, key, conn.now());
  }

  // ---- writes --------------------------------------------------------------

  /** Writes a value (see {@link KvMethods.set}). */
  set(key: string, value: unknown, options?: SetOptions): boolean {
    const conn = this.#checkWrite("set key");
    checkKey(key, "set key");
    const [v, kind] = encodeValue(value, conn.codec);
    return writes.set(conn, this.#table, key, v, kind, options);
  }

  /** Writes many entries in one transaction (see {@link KvMethods.setMany}). */
  setMany(entries: Iterable<readonly [string, unknown]> | Record<string, unknown>, options?: SetOptions): number {
    const conn = this.#checkWrite("set many keys");
    // One pass inside the transaction: a bad entry throws and rolls back
    // everything written before it, so nothing is written, without first
    // collecting the encoded batch (measured a tenth of setMany's time).
    return writes.setMany(conn, this.#table, options, (write) => {
      for (const entry of entriesOf(entries, "set many keys")) {
        checkEntry(entry);
        const value = entry[1];
        if (isNativeString(value)) write(entry[0], value, Kind.native);
        else {
          const [v, kind] = encodeValue(value, conn.codec);
          write(entry[0], v, kind);
        }
      }
    });
  }

  /** Deletes a key (see {@link KvMethods.delete}). */
  delete(key: string): boolean {
    const conn = this.#checkWrite("delete key");
    checkStoredKey(key, "delete key");
    return writes.deleteKey(conn, this.#table, key);
  }

  /** Deletes many keys, by list or by query (see {@link KvMethods.deleteMany}). */
  deleteMany(keysOrQuery: readonly string[] | KeyQuery): number {
    const conn = this.#checkWrite("delete many keys");
    if (Array.isArray(keysOrQuery)) { for (const key of keysOrQuery) checkStoredKey(key, "delete many keys"); }
    return writes.deleteMany(conn, this.#table, keysOrQuery);
  }

  /** Reads and deletes a key in one statement (see {@link KvMethods.take}). */
  take<T = unknown>(key: string): T | undefined {
    const conn = this.#checkWrite("take key");
    checkStoredKey(key, "take key");
    const row = writes.take(conn, this.#table, key);
    return row === undefined ? undefined : decodeValue(row[0], row[1], conn.codec) as T;
  }

  /** Adds to a number atomically (see {@link KvMethods.incr}). */
  incr(key: string, by?: number, options?: ExpiryOptions): number;
  /** Adds a bigint to a counter atomically (see {@link KvMethods.incr}). */
  incr(key: string, by: bigint, options?: ExpiryOptions): bigint;
  incr(key: string, by: number | bigint = 1, options?: ExpiryOptions): number | bigint {
    const conn = this.#checkWrite("increment key");
    checkIncr(key, by, options);
    return writes.incr(conn, this.#table, key, by, options);
  }

  /** Moves a key's value, expiry and tags atomically (see {@link KvMethods.rename}). */
  rename(from: string, to: string, options?: { overwrite?: boolean }): boolean {
    const conn = this.#checkWrite("rename key");
    checkStoredKey(from, "rename key");
    checkKey(to, "rename key");
    checkOptions(options, ["overwrite"], "rename key");
    return writes.rename(conn, this.#table, from, to, booleanOption(options, "overwrite", "rename key"));
  }

  // ---- expiry --------------------------------------------------------------

  /** The time a key has left (see {@link KvMethods.ttl}). */
  ttl(key: string): number | undefined {
    const conn = this.#check("read ttl");
    checkStoredKey(key, "read ttl");
    const row = this.#table.readExpiry.get([key]);
    if (row === undefined) return undefined;
    if (row[0] === null) return Infinity;
    const left = Number(row[0]) - conn.now();
    return left > 0 ? left : undefined;
  }

  /** Extends a live key's expiry and returns its value (see {@link KvMethods.touch}). */
  touch<T = unknown>(key: string, ttl: number): T | undefined {
    const conn = this.#checkWrite("touch key");
    checkKey(key, "touch key");
    const now = conn.now();
    const row = this.#table.touch.get([ttlToTime(ttl, now, "touch key"), key, now]);
    if (!countLookup(conn, row)) return undefined;
    conn.changed(this.#table.name, key);
    return decodeValue(row[0], row[1], conn.codec) as T;
  }

  #expiryChanged(key: string, changes: number): boolean {
    if (changes === 0) return false;
    this.#conn.changed(this.#table.name, key);
    return true;
  }

  /** Sets a live key to expire `ttl` ms from now (see {@link KvMethods.expire}). */
  expire(key: string, ttl: number): boolean {
    const conn = this.#checkWrite("set expiry");
    checkKey(key, "set expiry");
    const now = conn.now();
    return this.#expiryChanged(key, this.#table.setExpiry.run([ttlToTime(ttl, now, "set expiry"), key, now]));
  }

  /** Sets a live key to expire at an absolute time (see {@link KvMethods.expireAt}). */
  expireAt(key: string, at: number | Date): boolean {
    const conn = this.#checkWrite("set expiry");
    checkKey(key, "set expiry");
    return this.#expiryChanged(key, this.#table.setExpiry.run([atToTime(at, "set expiry"), key, conn.now()]));
  }

  /** Removes a live key's expiry (see {@link KvMethods.persist}). */
  persist(key: string): boolean {
    const conn = this.#checkWrite("persist key");
    checkKey(key, "persist key");
    return this.#expiryChanged(key, this.#table.setExpiry.run([null, key, conn.now()]));
  }

  /** Deletes the expired rows through the expiry index (see {@link KvMethods.purgeExpired}). */
  purgeExpired(): number {
    const conn = this.#checkWrite("purge expired keys");
    const n = tags.purge(conn, this.#table, conn.now());
    conn.counters.purged += n;
    return n;
  }

  // ---- listings ------------------------------------------------------------

  /** The live keys matching a query, in key order (see {@link KvMethods.keys}). */
  keys(query?: KeyQuery, options?: ListOptions): string[] {
    return listing.keys(this.#check("list keys"), this.#table, query, options);
  }

  /** The values of the live keys matching a query (see {@link KvMethods.values}). */
  values<T = unknown>(query?: KeyQuery, options?: ListOptions): T[] {
    return listing.values<T>(this.#check("list values"), this.#table, query, options);
  }

  /** `[key, value]` pairs of the live keys matching a query (see {@link KvMethods.entries}). */
  entries<T = unknown>(query?: KeyQuery, options?: ListOptions): [string, T][] {
    return listing.entries<T>(this.#check("list entries"), this.#table, query, options);
  }

  /** Live entries, lazily, a batch at a time (see {@link KvMethods.list}). */
  list<T = unknown>(query?: KeyQuery, options?: ListOptions): IterableIterator<KvEntry<T>> {
    const conn = this.#check("list entries");
    return listing.list<T>(conn, this.#table, query, options, () => this.#check("list entries"));
  }

  /** How many live keys match a query (see {@link KvMethods.count}). */
  count(query?: KeyQuery): number {
    return listing.count(this.#check("count keys"), this.#table, query);
  }

  /** `[key, value]` pairs of the whole key space, lazily, like a `Map`. */
  *[Symbol.iterator](): IterableIterator<[string, unknown]> {
    for (const entry of this.list()) yield [entry.key, entry.value];
  }

  /** Deletes every key of this key space (see {@link KvMethods.clear}). */
  clear(): number {
    const conn = this.#checkWrite("clear store");
    return conn.atomic(() => {
      const live = this.count();
      this.#table.clearTags.run([]);
      this.#table.clear.run([]);
      conn.changed(this.#table.name);
      conn.counters.deletes += live;
      return live;
    });
  }

  // ---- transactions and namespaces -----------------------------------------

  /** Runs a synchronous `fn` in one transaction (see {@link KvMethods.transaction}). */
  transaction<R>(fn: (kv: this) => TxResult<"sync", R>): R {
    const conn = this.#check("run transaction");
    if (typeof fn !== "function") {
      throw new TypeError(`Cannot run transaction: fn must be a function, received ${typeName(fn)}`);
    }
    if (isAsyncFunction(fn)) {
      throw new TypeError("Cannot run transaction: fn must be synchronous, received an async function");
    }
    const result = conn.atomic(() => {
      const r = fn(this);
      if (r !== null && typeof (r as { then?: unknown })?.then === "function") {
        (r as PromiseLike<unknown>).then(undefined, () => {});
        throw new TypeError("Cannot run transaction: fn must be synchronous, received a promise");
      }
      return r;
    }, !conn.readOnly);
    conn.counters.transactions++;
    return result as R;
  }

  /** An isolated key space in the same file (see {@link KvMethods.namespace}). */
  namespace(name: string): Kv {
    this.#check("open namespace");
    checkName(name, "name", "open namespace");
    let child = this.#children.get(name);
    if (child === undefined) {
      child = new Kv(this.#conn, namespaces.childTable(this.#table.name, name));
      child.#table.ensure();
      this.#children.set(name, child);
    }
    return child;
  }

  /** The namespaces directly inside this one (see {@link KvMethods.namespaces}). */
  namespaces(): string[] {
    return namespaces.namespaceNames(this.#check("list namespaces"), this.#table.name);
  }

  /** Deletes a namespace and everything in it (see {@link KvMethods.dropNamespace}). */
  dropNamespace(name: string): boolean {
    const conn = this.#checkWrite("drop namespace");
    checkName(name, "name", "drop namespace");
    if (!namespaces.dropNamespace(conn, this.#table.name, name)) return false;
    const child = this.#children.get(name);
    if (child !== undefined) child.#forgetTables();
    return true;
  }

  #forgetTables(): void {
    this.#table.reset();
    for (const child of this.#children.values()) child.#forgetTables();
  }

  // ---- watching, the change feed, queues -----------------------------------

  /** Watches some keys (see {@link KvMethods.watch}). */
  watch<T = unknown>(keys: readonly string[], options?: WatchOptions): KvWatch<(KvEntry<T> | KvMissing)[]>;
  /** Watches the keys a query matches (see {@link KvMethods.watch}). */
  watch<T = unknown>(query: KeyQuery, options?: WatchOptions): KvWatch<WatchChanges<T>>;
  watch<T>(
    keysOrQuery: readonly string[] | KeyQuery,
    options?: WatchOptions,
  ): KvWatch<(KvEntry<T> | KvMissing)[]> | KvWatch<WatchChanges<T>> {
    const conn = this.#check("watch keys");
    checkWatch(keysOrQuery, options);
    return Array.isArray(keysOrQuery)
      ? watchKeys<T>(conn, this.#table, keysOrQuery)
      : watchQuery<T>(conn, this.#table, keysOrQuery as KeyQuery);
  }

  /** The change feed of this key space (see {@link KvMethods.changes}). */
  changes(options?: ChangesOptions): KvChange[] {
    return readChanges(this.#check("read changes"), this.#table.name, options);
  }

  /** A durable queue in the file (see {@link KvMethods.queue}). */
  queue<T = unknown>(name = ""): KvQueue<T> {
    const conn = this.#check("open queue");
    checkQueueName(name, "open queue");
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new KvQueue(new QueueStore(conn, this.#table, name), (what) => this.#check(what));
      this.#queues.set(name, queue);
    }
    return queue as KvQueue<T>;
  }

  // ---- maintenance ---------------------------------------------------------

  /** Counters since open and gauges of the file (see {@link KvMethods.stats}). */
  stats(options?: { reset?: boolean }): KvStats {
    const conn = this.#check("read stats");
    checkOptions(options, ["reset"], "read stats");
    const reset = booleanOption(options, "reset", "read stats");
    const stats = readStats(conn, this.count());
    if (reset) Object.assign(conn.counters, zeroCounters());
    return stats;
  }

  /** Checkpoints the WAL (see {@link KvMethods.checkpoint}). */
  checkpoint(mode: CheckpointMode = "passive"): CheckpointResult {
    return checkpointWal(this.#check("checkpoint"), mode);
  }

  /** Reclaims free pages (see {@link KvMethods.vacuum}). */
  vacuum(options?: { pages?: number }): void {
    maintenance.vacuum(this.#check("vacuum"), options);
  }

  /** Runs `PRAGMA optimize` (see {@link KvMethods.optimize}). */
  optimize(): void {
    this.#check("optimize").exec("PRAGMA optimize");
  }

  /** Checks the whole file (see {@link KvMethods.integrityCheck}). */
  integrityCheck(): void {
    maintenance.integrityCheck(this.#check("check integrity"));
  }

  /** Writes a consistent copy of the file (see {@link KvMethods.backup}). */
  backup(path: string, options?: { overwrite?: boolean }): void {
    maintenance.backup(this.#check("back up"), path, options);
  }

  /** Commits the open batch now (see {@link KvMethods.flush}). */
  flush(): void {
    this.#check("flush").batch?.flush();
  }

  /** Closes the store, or this namespace's view of it (see {@link KvMethods.close}). */
  close(options?: CloseOptions): void {
    checkOptions(options, ["optimize"], "close store");
    if (this.#table.name.includes("/")) {
      this.#closed = true;
      return;
    }
    this.#conn.close(options?.optimize ?? true);
  }

  /** Same as {@link Kv.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
