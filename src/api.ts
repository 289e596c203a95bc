/**
 * The store's surface, declared once: every method of a store with its
 * documentation, for both modes. `Kv` implements `KvMethods<"sync">` (each
 * call returns its result) and `KvAsync` implements `KvMethods<"async">` (each
 * call returns a promise of the same result); the compiler holds both to this
 * declaration, so a method added here is added to both or fails to build.
 *
 * The examples use the synchronous store; with `openKvAsync()` each call is
 * the same, awaited.
 *
 * @module
 */

import type { CheckpointMode, CheckpointResult } from "./checkpoint.ts";
import type { ExpiryOptions } from "./expiry.ts";
import type { KeyQuery, ListOptions } from "./query.ts";
import type { KvStats } from "./stats.ts";
import type { SetOptions } from "./write.ts";
import type { KvMissing, KvWatch, WatchChanges, WatchOptions } from "./watch/watch.ts";
import type { ChangesOptions, KvChange } from "./changes.ts";
import type { Iter, KvEntry, Mode, Ret } from "./shapes.ts";
import type { QueueMethods } from "./queue/methods.ts";

export type { Iter, KvEntry, Mode, Ret } from "./shapes.ts";
export type { QueueMethods } from "./queue/methods.ts";

/** What a transaction's `fn` may return in mode `M`: a synchronous store refuses a promise. */
export type TxResult<M extends Mode, R> = M extends "sync" ? (R extends PromiseLike<unknown> ? never : R)
  : R | Promise<R>;

/** Options of `close()`. */
export interface CloseOptions {
  /** Run `PRAGMA optimize` before closing. @default true */
  optimize?: boolean;
}

/**
 * Every method of a kvsqlite store. `M` says whether results come back as they
 * are (`Kv`, from `openKv()`) or as promises (`KvAsync`, from `openKvAsync()`).
 *
 * @typeParam M `"sync"` or `"async"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type KvMethods, openKv, openKvAsync } from "@kvsqlite/kvsqlite";
 * // Code written against either mode: awaiting a plain value returns it.
 * async function visits(kv: KvMethods<"sync"> | KvMethods<"async">): Promise<number> {
 *   return await kv.incr("visits");
 * }
 * using kv = openKv();
 * await using kva = await openKvAsync();
 * assert.equal(await visits(kv), 1);
 * assert.equal(await visits(kva), 1);
 * ```
 */
export interface KvMethods<M extends Mode> {
  // ---- reads ---------------------------------------------------------------

  /**
   * The value of a live key.
   *
   * @param key The key.
   * @returns The value, or `undefined` when the key is missing or expired.
   * @throws {TypeError | RangeError} When the key is not a valid key.
   * @throws {KvClosedError} After `close()`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("n", 1);
   * assert.equal(kv.get<number>("n"), 1);
   * assert.equal(kv.get("missing"), undefined);
   * ```
   */
  get<T = unknown>(key: string): Ret<M, T | undefined>;
  /**
   * The value of a live key, or `fallback` when it is missing or expired.
   *
   * @param key The key.
   * @param fallback Returned (itself, not a copy) when the key is missing or expired.
   * @returns The value or the fallback.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * assert.equal(kv.get("visits", 0), 0);
   * ```
   */
  get<T = unknown>(key: string, fallback: T): Ret<M, T>;

  /**
   * A live key with its expiry and version.
   *
   * @param key The key.
   * @returns The entry, or `undefined` when the key is missing or expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 1);
   * const entry = kv.getEntry("a")!;
   * assert.equal(entry.expiresAt, null);
   * assert.equal(kv.set("a", 2, { ifVersion: entry.version }), true);
   * ```
   */
  getEntry<T = unknown>(key: string): Ret<M, KvEntry<T> | undefined>;

  /**
   * The values of many keys, read in one statement (one snapshot), however many.
   *
   * @param keys The keys; duplicates are allowed.
   * @returns One value or `undefined` per key, in the order given.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ a: 1, b: 2 });
   * assert.deepEqual(kv.getMany(["a", "x", "b"]), [1, undefined, 2]);
   * ```
   */
  getMany<T = unknown>(keys: readonly string[]): Ret<M, (T | undefined)[]>;

  /**
   * Whether a key is live.
   *
   * @param key The key.
   * @returns `true` when the key exists and has not expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", null);
   * assert.equal(kv.has("a"), true); // a stored null or undefined is still a key
   * assert.equal(kv.has("b"), false);
   * ```
   */
  has(key: string): Ret<M, boolean>;

  /**
   * The tags of a live key.
   *
   * @param key The key.
   * @returns Its tags, sorted; `[]` when it has none; `undefined` when it is missing or expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("post:1", "hello", { tags: ["user:42", "feed"] });
   * assert.deepEqual(kv.tags("post:1"), ["feed", "user:42"]);
   * assert.deepEqual(kv.keys({ tag: "user:42" }), ["post:1"]);
   * ```
   */
  tags(key: string): Ret<M, string[] | undefined>;

  // ---- writes --------------------------------------------------------------

  /**
   * Writes a value.
   *
   * @param key The key (1 to 2048 UTF-8 bytes, well-formed).
   * @param value Any value the codec can encode.
   * @param options `ttl` or `expiresAt`; `ifAbsent`, `ifPresent` or `ifVersion`; `keepTtl`; `tags`.
   * @returns `true` when written, `false` when a condition stopped the write.
   * @throws {TypeError | RangeError} For a bad key or bad options (nothing is written).
   * @throws {KvCodecError} When the value cannot be encoded (nothing is written).
   * @throws {KvReadOnlyError} On a read-only store.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("lock", "me", { ttl: 10_000, ifAbsent: true });
   * assert.equal(kv.set("lock", "you", { ifAbsent: true }), false);
   * ```
   */
  set(key: string, value: unknown, options?: SetOptions): Ret<M, boolean>;

  /**
   * Writes many entries in one transaction: all or, when one is bad, none.
   *
   * @param entries An iterable of `[key, value]` pairs, or a plain object.
   * @param options Applied to every entry, as in `set`.
   * @returns How many entries were written.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * assert.equal(kv.setMany([["a", 1], ["b", 2]], { ttl: 60_000 }), 2);
   * assert.equal(kv.setMany({ c: 3 }), 1);
   * ```
   */
  setMany(
    entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
    options?: SetOptions,
  ): Ret<M, number>;

  /**
   * Deletes a key.
   *
   * @param key The key.
   * @returns `true` when a live key was deleted.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 1);
   * assert.equal(kv.delete("a"), true);
   * assert.equal(kv.delete("a"), false);
   * ```
   */
  delete(key: string): Ret<M, boolean>;

  /**
   * Deletes many keys, given as an array or as a {@link KeyQuery}.
   *
   * @param keysOrQuery The keys, or a query such as `{ prefix: "session:" }`.
   * @returns How many live keys were deleted.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ "s:1": 1, "s:2": 2, t: 3 });
   * assert.equal(kv.deleteMany({ prefix: "s:" }), 2);
   * assert.equal(kv.deleteMany(["t", "missing"]), 1);
   * ```
   */
  deleteMany(keysOrQuery: readonly string[] | KeyQuery): Ret<M, number>;

  /**
   * Reads and deletes a key in one statement.
   *
   * @param key The key.
   * @returns The value it held, or `undefined` when it was missing or expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("job:1", { task: "mail" });
   * assert.deepEqual(kv.take("job:1"), { task: "mail" });
   * assert.equal(kv.has("job:1"), false);
   * ```
   */
  take<T = unknown>(key: string): Ret<M, T | undefined>;

  /**
   * Adds to a number atomically. A missing key counts from 0 and takes
   * `options.ttl` / `options.expiresAt`; an existing key keeps its expiry and tags.
   *
   * @param key The key.
   * @param by The increment. @default 1
   * @param options Expiry for a key that this call creates.
   * @returns The new value.
   * @throws {TypeError} When the stored value is not a number or bigint.
   * @throws {RangeError} When a number would pass `Number.MAX_SAFE_INTEGER` (store a bigint to count further).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.incr("hits", 1, { ttl: 60_000 });
   * const hits: number = kv.incr("hits"); // a number `by` gives a number
   * assert.equal(hits, 2);
   * ```
   */
  incr(key: string, by?: number, options?: ExpiryOptions): Ret<M, number>;
  /**
   * Adds a bigint to a counter atomically (a missing key counts from `0n`).
   *
   * @param key The key.
   * @param by The increment.
   * @param options Expiry for a key that this call creates.
   * @returns The new value.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const big: bigint = kv.incr("big", 2n ** 64n); // a bigint `by` gives a bigint
   * assert.equal(big, 2n ** 64n);
   * ```
   */
  incr(key: string, by: bigint, options?: ExpiryOptions): Ret<M, bigint>;

  /**
   * Moves a key's value, expiry and tags to a new key, atomically.
   *
   * @param from The key to move.
   * @param to Its new name.
   * @param options `overwrite`: replace a live `to`. @default { overwrite: false }
   * @returns `false` when `from` is missing, or `to` is live and `overwrite` is false.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ draft: "a", final: "b" });
   * assert.equal(kv.rename("draft", "final"), false);
   * assert.equal(kv.rename("draft", "final", { overwrite: true }), true);
   * assert.equal(kv.get("final"), "a");
   * ```
   */
  rename(from: string, to: string, options?: { overwrite?: boolean }): Ret<M, boolean>;

  // ---- expiry --------------------------------------------------------------

  /**
   * The time a key has left.
   *
   * @param key The key.
   * @returns ms remaining; `Infinity` when it never expires; `undefined` when missing or expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 1, { ttl: 60_000 });
   * kv.set("b", 2);
   * assert.ok(kv.ttl("a")! <= 60_000);
   * assert.equal(kv.ttl("b"), Infinity);
   * assert.equal(kv.ttl("c"), undefined);
   * ```
   */
  ttl(key: string): Ret<M, number | undefined>;

  /**
   * Extends a live key's expiry and returns its value, in one statement
   * (Redis GETEX): a sliding session is one call, with no race between
   * reading and extending.
   *
   * @param key The key.
   * @param ttl ms from now: a finite number > 0.
   * @returns The value, or `undefined` when the key is missing or expired (nothing changes then).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("session:1", { user: "ada" }, { ttl: 60_000 });
   * assert.deepEqual(kv.touch("session:1", 30 * 60_000), { user: "ada" });
   * ```
   */
  touch<T = unknown>(key: string, ttl: number): Ret<M, T | undefined>;

  /**
   * Sets a live key to expire `ttl` ms from now, without rewriting its value.
   *
   * @param key The key.
   * @param ttl ms from now: a finite number > 0.
   * @returns `false` when the key is missing or expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 1);
   * assert.equal(kv.expire("a", 60_000), true);
   * assert.equal(kv.expire("missing", 60_000), false);
   * ```
   */
  expire(key: string, ttl: number): Ret<M, boolean>;

  /**
   * Sets a live key to expire at an absolute time, without rewriting its value.
   *
   * @param key The key.
   * @param at ms since the epoch, or a `Date`.
   * @returns `false` when the key is missing or expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 1);
   * const at = Date.now() + 60_000;
   * kv.expireAt("a", new Date(at));
   * assert.equal(kv.getEntry("a")!.expiresAt, at);
   * ```
   */
  expireAt(key: string, at: number | Date): Ret<M, boolean>;

  /**
   * Removes a live key's expiry.
   *
   * @param key The key.
   * @returns `false` when the key is missing or expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 1, { ttl: 60_000 });
   * kv.persist("a");
   * assert.equal(kv.ttl("a"), Infinity);
   * ```
   */
  persist(key: string): Ret<M, boolean>;

  /**
   * Deletes every expired row of this key space, through the expiry index:
   * its cost grows with the expired rows, not with the store. Expired keys are
   * invisible to every read before they are purged.
   *
   * @returns How many rows were deleted.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * let now = 0;
   * using kv = openKv(":memory:", { now: () => now });
   * kv.set("a", 1, { ttl: 10 });
   * now = 20;
   * assert.equal(kv.purgeExpired(), 1);
   * ```
   */
  purgeExpired(): Ret<M, number>;

  // ---- listings ------------------------------------------------------------

  /**
   * The live keys matching a query, in UTF-8 byte order.
   *
   * @param query Which keys; all when omitted.
   * @param options `limit`, `reverse`, `after` (the last key of the previous page).
   * @returns The keys.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ "user:1": "a", "user:2": "b", "x": 0 });
   * assert.deepEqual(kv.keys({ prefix: "user:" }), ["user:1", "user:2"]);
   * assert.deepEqual(kv.keys({ glob: "user:*" }, { reverse: true, limit: 1 }), ["user:2"]);
   * ```
   */
  keys(query?: KeyQuery, options?: ListOptions): Ret<M, string[]>;

  /**
   * The values of the live keys matching a query, in key order.
   *
   * @param query Which keys; all when omitted.
   * @param options `limit`, `reverse`, `after`.
   * @returns The values.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ "n:1": 1, "n:2": 2 });
   * assert.deepEqual(kv.values({ prefix: "n:" }), [1, 2]);
   * ```
   */
  values<T = unknown>(query?: KeyQuery, options?: ListOptions): Ret<M, T[]>;

  /**
   * `[key, value]` pairs of the live keys matching a query, in key order.
   *
   * @param query Which keys; all when omitted.
   * @param options `limit`, `reverse`, `after`.
   * @returns The pairs.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ "n:1": 1, "n:2": 2 });
   * assert.deepEqual(kv.entries({ start: "n:2" }), [["n:2", 2]]);
   * ```
   */
  entries<T = unknown>(query?: KeyQuery, options?: ListOptions): Ret<M, [string, T][]>;

  /**
   * Iterates over live entries lazily, fetching them in batches by key
   * (keyset pagination): no read lock is held between batches and memory does
   * not grow with the store. The async store's iterator fetches pages from its
   * worker thread.
   *
   * @param query Which keys; all when omitted.
   * @param options `limit`, `reverse`, `after`.
   * @returns An iterator of entries (with expiry and version).
   * @throws {TypeError | RangeError} At once, for a bad query or options.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ a: 1, b: 2 });
   * const seen: string[] = [];
   * for (const entry of kv.list({ prefix: "" })) seen.push(`${entry.key}=${entry.value}`);
   * assert.deepEqual(seen, ["a=1", "b=2"]);
   * ```
   */
  list<T = unknown>(query?: KeyQuery, options?: ListOptions): Iter<M, KvEntry<T>>;

  /**
   * How many live keys match a query.
   *
   * @param query Which keys; all when omitted.
   * @returns The count.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ "user:1": 1, "user:2": 2, x: 3 });
   * assert.equal(kv.count({ like: "USER:%" }), 2);
   * assert.equal(kv.count(), 3);
   * ```
   */
  count(query?: KeyQuery): Ret<M, number>;

  /**
   * Deletes every key of this key space (not of other namespaces).
   *
   * @returns How many live keys were deleted.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.setMany({ a: 1, b: 2 });
   * kv.namespace("other").set("c", 3);
   * assert.equal(kv.clear(), 2);
   * assert.equal(kv.namespace("other").count(), 1);
   * ```
   */
  clear(): Ret<M, number>;

  // ---- transactions and namespaces -----------------------------------------

  /**
   * Runs `fn` in one transaction: it commits when `fn` returns (or its
   * promise resolves, on the async store), and rolls back when it throws (or
   * rejects). Nested calls become savepoints. On the synchronous store `fn`
   * must be synchronous (an async `fn` is a `TypeError` and nothing is
   * committed); on the async store it may be async.
   *
   * @param fn Receives the store (the transaction's handle on the async store).
   * @returns What `fn` returned.
   * @throws {TypeError} When `fn` is not a function, or on the synchronous store is async or returns a promise.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 10);
   * kv.transaction((tx) => {
   *   tx.set("a", tx.get<number>("a")! - 5);
   *   tx.set("b", 5);
   * });
   * assert.deepEqual(kv.getMany(["a", "b"]), [5, 5]);
   * ```
   */
  transaction<R>(fn: (tx: KvMethods<M>) => TxResult<M, R>): Ret<M, R>;

  /**
   * An isolated key space in the same file, sharing this store's connection
   * and transactions. Names may not contain `/`; namespaces nest.
   *
   * @param name The namespace's name.
   * @returns The namespace's store, at once (the same object for the same name).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const users = kv.namespace("users");
   * users.set("42", "ada");
   * assert.equal(kv.has("42"), false);
   * assert.deepEqual(kv.namespaces(), ["users"]);
   * ```
   */
  namespace(name: string): KvMethods<M>;

  /**
   * The names of the namespaces directly inside this one.
   *
   * @returns Their names, sorted.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.namespace("b").set("x", 1);
   * kv.namespace("a").namespace("inner").set("y", 2);
   * assert.deepEqual(kv.namespaces(), ["a", "b"]);
   * ```
   */
  namespaces(): Ret<M, string[]>;

  /**
   * Deletes a namespace, its keys and the namespaces inside it.
   *
   * @param name The namespace's name.
   * @returns `false` when there was no such namespace.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.namespace("tmp").set("x", 1);
   * assert.equal(kv.dropNamespace("tmp"), true);
   * assert.deepEqual(kv.namespaces(), []);
   * ```
   */
  dropNamespace(name: string): Ret<M, boolean>;

  // ---- watching, the change feed, queues -----------------------------------

  /**
   * Watches some keys: an async iterator (and `.stream()`) of their state, one
   * slot per key (an entry, or `{ key, value: undefined, version: null }`),
   * now and again whenever one of them is written, deleted or expires,
   * through any process on the file: this process's writes are seen at once,
   * other processes' within `pollInterval` ms (an open option, default 5).
   * Intermediate states may be coalesced; the last one is never missed.
   * `return()` or closing the store ends it; a watch never keeps the process
   * alive.
   *
   * @param keys The keys (at least one).
   * @param options None yet.
   * @returns The watch.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 1);
   * const watch = kv.watch(["a", "b"]);
   * assert.deepEqual((await watch.next()).value?.map((e) => e.value), [1, undefined]);
   * kv.set("b", 2);
   * assert.deepEqual((await watch.next()).value?.map((e) => e.value), [1, 2]);
   * await watch.return();
   * ```
   */
  watch<T = unknown>(keys: readonly string[], options?: WatchOptions): KvWatch<(KvEntry<T> | KvMissing)[]>;
  /**
   * Watches every key a query matches, new ones included: the first state
   * lists every matching entry as `changed`; each later one the entries that
   * appeared or changed and the keys deleted or expired since the last.
   *
   * @param query Which keys, as for `keys()`.
   * @param options None yet.
   * @returns The watch.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const watch = kv.watch({ prefix: "job:" });
   * assert.deepEqual((await watch.next()).value, { changed: [], deleted: [] });
   * kv.set("job:1", "queued");
   * assert.deepEqual((await watch.next()).value?.changed.map((e) => e.key), ["job:1"]);
   * await watch.return();
   * ```
   */
  watch<T = unknown>(query: KeyQuery, options?: WatchOptions): KvWatch<WatchChanges<T>>;

  /**
   * The change feed of this key space (a file opened once with
   * `changeFeed: true`): the writes after `since`, in the order they were
   * committed, each `{ seq, key, op, version }`. Resume from the last `seq`
   * seen, across restarts; a cursor older than the log's retention throws
   * `KvChangesGapError`, never skips.
   *
   * @param options `since` (the last seq seen; omitted: from the oldest the log holds), `limit` (default 1000).
   * @returns The changes.
   * @throws {KvChangesGapError} When the changes after `since` are no longer in the log.
   * @throws {KvError} On a file without the change feed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv(":memory:", { changeFeed: true });
   * kv.set("a", 1);
   * kv.delete("a");
   * const [set, del] = kv.changes();
   * assert.deepEqual([set?.op, del?.op], ["set", "delete"]);
   * assert.deepEqual(kv.changes({ since: del!.seq }), []);
   * ```
   */
  changes(options?: ChangesOptions): Ret<M, KvChange[]>;

  /**
   * A durable queue in the file, shared by every process on it (one per name
   * and key space): enqueue, listen (at least once, with retries and dead
   * letters), or claim and acknowledge by hand.
   *
   * @param name The queue's name. @default ""
   * @returns The queue (the same object for the same name).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const mail = kv.queue<{ to: string }>("mail");
   * mail.enqueue({ to: "ada" });
   * const message = mail.claim()!;
   * assert.equal(message.value.to, "ada");
   * assert.equal(mail.ack(message.id), true);
   * assert.equal(mail.size(), 0);
   * ```
   */
  queue<T = unknown>(name?: string): QueueMethods<M, T>;

  // ---- maintenance ---------------------------------------------------------

  /**
   * Counters since open (or the last reset) and gauges of the file now.
   *
   * @param options `reset`: return the counters and start them from zero. @default { reset: false }
   * @returns The counters and gauges.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.set("a", 1);
   * kv.get("a");
   * kv.get("b");
   * const stats = kv.stats({ reset: true });
   * assert.deepEqual([stats.sets, stats.hits, stats.misses, stats.keys], [1, 1, 1, 1]);
   * assert.equal(kv.stats().sets, 0);
   * ```
   */
  stats(options?: { reset?: boolean }): Ret<M, KvStats>;

  /**
   * Checkpoints the WAL into the database file (committing a batch first).
   * `"passive"` never waits. `"full"`, `"restart"` and `"truncate"` wait for
   * writers up to `busyTimeout`, but report `busy: true` after 100 ms when a
   * reader holds an older snapshot (Litestream holds one all the time), rather
   * than block every writer of the file for the whole busy timeout.
   *
   * @param mode SQLite's checkpoint mode. @default "passive"
   * @returns Whether another connection kept it from finishing, and the frames moved.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * const dir = Deno.makeTempDirSync();
   * using kv = openKv(`${dir}/app.db`);
   * kv.set("a", 1);
   * assert.equal(kv.checkpoint("truncate").busy, false);
   * ```
   */
  checkpoint(mode?: CheckpointMode): Ret<M, CheckpointResult>;

  /**
   * Reclaims free pages: the whole file (`VACUUM`), or with `pages` at most
   * that many (`PRAGMA incremental_vacuum`, for a file created with
   * `autoVacuum: "incremental"`). Not inside a transaction.
   *
   * @param options `pages`: how many free pages to release at most.
   * @throws {TypeError} With `pages` on a file not created with `autoVacuum: "incremental"`.
   *
   * @example
   * ```ts
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv(":memory:", { autoVacuum: "incremental" });
   * kv.setMany(Array.from({ length: 100 }, (_, i) => [`k${i}`, "x".repeat(1000)] as const));
   * kv.clear();
   * kv.vacuum({ pages: 10 }); // or kv.vacuum() for the whole file
   * ```
   */
  vacuum(options?: { pages?: number }): Ret<M, void>;

  /**
   * Runs `PRAGMA optimize` (also done on `close()` by default).
   *
   * @example
   * ```ts
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.optimize();
   * ```
   */
  optimize(): Ret<M, void>;

  /**
   * Checks the whole file with `PRAGMA integrity_check`.
   *
   * @throws {KvCorruptError} With SQLite's report when the file is damaged.
   *
   * @example
   * ```ts
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.integrityCheck(); // returns quietly on a sound file
   * ```
   */
  integrityCheck(): Ret<M, void>;

  /**
   * Writes a consistent copy of the whole file while the store stays open
   * (committing a batch first). Parent folders are created.
   *
   * @param path Where to write the copy.
   * @param options `overwrite`: replace an existing file. @default { overwrite: false }
   * @throws {KvError} When the target exists and `overwrite` is not set.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * const dir = Deno.makeTempDirSync();
   * using kv = openKv(`${dir}/app.db`);
   * kv.set("a", 1);
   * kv.backup(`${dir}/backups/app.db`);
   * using copy = openKv(`${dir}/backups/app.db`, { readOnly: true });
   * assert.equal(copy.get("a"), 1);
   * ```
   */
  backup(path: string, options?: { overwrite?: boolean }): Ret<M, void>;

  /**
   * Commits the writes of the open batch now (`durability: "batched"`); a
   * no-op when nothing is pending, and in the default mode.
   *
   * @throws {KvError} The failure of this commit, or of a batch that failed
   * in the background since the last call (it was rolled back).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv(":memory:", { durability: "batched" });
   * kv.set("a", 1); // in the batch, visible to this store at once
   * kv.flush(); // committed: visible to every connection, durable
   * assert.equal(kv.stats().commits, 1);
   * ```
   */
  flush(): Ret<M, void>;

  /**
   * Closes the store (committing a batch first). Idempotent; every later
   * call throws `KvClosedError`. Closing a namespace closes only that view;
   * closing the root closes the file.
   *
   * @param options `optimize`: run `PRAGMA optimize` first. @default { optimize: true }
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvClosedError, openKv } from "@kvsqlite/kvsqlite";
   * const kv = openKv();
   * kv.close();
   * kv.close(); // idempotent
   * assert.throws(() => kv.get("a"), KvClosedError);
   * ```
   */
  close(options?: CloseOptions): Ret<M, void>;

  /**
   * `close()`, for `using` (the async store posts its close without waiting;
   * prefer `await using` there).
   *
   * @example
   * ```ts
   * import { openKv } from "@kvsqlite/kvsqlite";
   * {
   *   using kv = openKv();
   *   kv.set("a", 1);
   * } // closed here
   * ```
   */
  [Symbol.dispose](): void;
}

/**
 * The async store's whole surface: its methods, `await using`, and
 * `for await` over `[key, value]` pairs. `KvAsync` implements it.
 */
export interface AsyncKvStore extends KvMethods<"async">, AsyncDisposable, AsyncIterable<[string, unknown]> {}
