/**
 * The async client: the same store running in a worker thread, so that the
 * calling thread never waits on SQLite (a lock held by another process, a
 * long `vacuum()`, `backup()` or `setMany()`). Adapters call
 * {@link openAsync}; users call `openKvAsync()` from an entry point.
 *
 * @module
 */

import { Channel } from "./channel.ts";
import { encodeValue, taggedJson } from "../codec.ts";
import type { ExpiryOptions } from "../expiry.ts";
import { checkKey } from "../keys.ts";
import { checkListOptions, compileQuery, type KeyQuery, type ListOptions } from "../query.ts";
import { checkName } from "../names.ts";
import { typeName } from "../check.ts";
import type { CheckpointMode, CheckpointResult, CloseOptions, KvEntry } from "../kv.ts";
import { type KvOptions, resolveOptions } from "../options.ts";
import { unrefInterval } from "../runtime.ts";
import type { KvStats } from "../stats.ts";
import { encodeEntries, type SetOptions } from "../write.ts";

/** Entries a `list()` page fetches from the worker. */
const PAGE = 256;

/**
 * A store whose calls run in a worker thread: the methods of `Kv`, each
 * returning a promise. Obtain one with `openKvAsync()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKvAsync } from "@kvsqlite/kvsqlite";
 * await using kv = await openKvAsync();
 * await kv.set("session:42", { user: "ada" }, { ttl: 30 * 60_000 });
 * assert.deepEqual(await kv.get("session:42"), { user: "ada" });
 * ```
 */
export class KvAsync implements AsyncDisposable, Disposable, AsyncIterable<[string, unknown]> {
  readonly #channel: Channel;
  readonly #ns: string[];
  readonly #tx: number;
  readonly #children = new Map<string, KvAsync>();

  /**
   * Not for direct use: obtain a store from `openKvAsync()`.
   *
   * @param channel The worker's channel.
   * @param ns The namespace path from the root store.
   * @param tx The transaction this handle belongs to (0: none).
   */
  constructor(channel: Channel, ns: string[], tx: number) {
    this.#channel = channel;
    this.#ns = ns;
    this.#tx = tx;
  }

  #call<R>(op: string, args: unknown[]): Promise<R> {
    // Looked up only while a transaction is open: the common call pays nothing.
    const tx = this.#tx !== 0 || this.#channel.transactions.size === 0 ? this.#tx : this.#channel.running();
    return this.#channel.call(this.#ns, tx, op, args) as Promise<R>;
  }

  /**
   * The value of a live key (see `Kv.get`).
   *
   * @param key The key.
   * @param fallback Returned when the key is missing or expired.
   * @returns The value, or the fallback.
   */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /**
   * The value of a live key, or `fallback` when it is missing or expired.
   *
   * @param key The key.
   * @param fallback Returned when the key is missing or expired.
   * @returns The value or the fallback.
   */
  get<T = unknown>(key: string, fallback: T): Promise<T>;
  async get<T>(key: string, ...fallback: [T?]): Promise<T | undefined> {
    if (fallback.length === 0) return await this.#call("get", [key]);
    // The fallback stays here, so that it is returned itself, not a copy.
    const found = await this.#call<[] | [T]>("getOr", [key]);
    return found.length === 1 ? found[0] : fallback[0];
  }

  /**
   * A live key with its expiry and version (see `Kv.getEntry`).
   *
   * @param key The key.
   * @returns The entry, or `undefined`.
   */
  getEntry<T = unknown>(key: string): Promise<KvEntry<T> | undefined> {
    return this.#call("getEntry", [key]);
  }

  /**
   * The values of many keys in one snapshot (see `Kv.getMany`).
   *
   * @param keys The keys.
   * @returns One value or `undefined` per key.
   */
  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return this.#call("getMany", [keys]);
  }

  /**
   * Writes a value (see `Kv.set`).
   *
   * @param key The key.
   * @param value Any value the codec can encode.
   * @param options As for `Kv.set`.
   * @returns `true` when written, `false` when a condition stopped the write.
   */
  async set(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    // Encoded here, with the rules and errors of the synchronous store (the
    // key first): the worker writes what crosses, instead of encoding again.
    checkKey(key, "set key");
    const [v, kind] = encodeValue(value, taggedJson);
    return await this.#call("setEncoded", options === undefined ? [key, v, kind] : [key, v, kind, options]);
  }

  /**
   * Writes many entries in one transaction (see `Kv.setMany`).
   *
   * @param entries An iterable of `[key, value]` pairs, or a plain object.
   * @param options As for `Kv.set`.
   * @returns How many entries were written.
   */
  async setMany(
    entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
    options?: SetOptions,
  ): Promise<number> {
    // Checked and encoded here, as set() is; the worker writes what crosses.
    const flat = encodeEntries(entries, taggedJson);
    return await this.#call("setManyEncoded", options === undefined ? [flat] : [flat, options]);
  }

  /**
   * Whether a key is live.
   *
   * @param key The key.
   * @returns `true` when it exists and has not expired.
   */
  has(key: string): Promise<boolean> {
    return this.#call("has", [key]);
  }

  /**
   * Deletes a key.
   *
   * @param key The key.
   * @returns `true` when a live key was deleted.
   */
  delete(key: string): Promise<boolean> {
    return this.#call("delete", [key]);
  }

  /**
   * Deletes keys by list or by query (see `Kv.deleteMany`).
   *
   * @param keysOrQuery An array of keys, or a `KeyQuery`.
   * @returns How many live keys were deleted.
   */
  deleteMany(keysOrQuery: readonly string[] | KeyQuery): Promise<number> {
    return this.#call("deleteMany", [keysOrQuery]);
  }

  /**
   * Reads and deletes a key atomically.
   *
   * @param key The key.
   * @returns The value it had, or `undefined`.
   */
  take<T = unknown>(key: string): Promise<T | undefined> {
    return this.#call("take", [key]);
  }

  /**
   * Extends a live key's expiry and returns its value (Redis GETEX).
   *
   * @param key The key.
   * @param ttl Ms from now.
   * @returns The value, or `undefined` when the key is missing.
   */
  touch<T = unknown>(key: string, ttl: number): Promise<T | undefined> {
    return this.#call("touch", [key, ttl]);
  }

  /**
   * Adds to a counter atomically (see `Kv.incr`).
   *
   * @param key The key.
   * @param by The step.
   * @param options Expiry for a key it creates.
   * @returns The new value.
   */
  incr(key: string, by?: number, options?: ExpiryOptions): Promise<number>;
  /**
   * Adds a bigint to a counter atomically.
   *
   * @param key The key.
   * @param by The step.
   * @param options Expiry for a key it creates.
   * @returns The new value.
   */
  incr(key: string, by: bigint, options?: ExpiryOptions): Promise<bigint>;
  incr(key: string, ...rest: [(number | bigint)?, ExpiryOptions?]): Promise<number | bigint> {
    return this.#call("incr", [key, ...rest]);
  }

  /**
   * Ms left before a key expires.
   *
   * @param key The key.
   * @returns Ms left, `Infinity` without expiry, `undefined` when missing.
   */
  ttl(key: string): Promise<number | undefined> {
    return this.#call("ttl", [key]);
  }

  /**
   * Sets a live key's expiry to `ttl` ms from now.
   *
   * @param key The key.
   * @param ttl Ms from now.
   * @returns `false` when the key is missing.
   */
  expire(key: string, ttl: number): Promise<boolean> {
    return this.#call("expire", [key, ttl]);
  }

  /**
   * Sets a live key's expiry to an absolute time.
   *
   * @param key The key.
   * @param at Ms since the epoch, or a `Date`.
   * @returns `false` when the key is missing.
   */
  expireAt(key: string, at: number | Date): Promise<boolean> {
    return this.#call("expireAt", [key, at]);
  }

  /**
   * Removes a live key's expiry.
   *
   * @param key The key.
   * @returns `false` when the key is missing.
   */
  persist(key: string): Promise<boolean> {
    return this.#call("persist", [key]);
  }

  /**
   * Deletes the expired rows.
   *
   * @returns How many.
   */
  purgeExpired(): Promise<number> {
    return this.#call("purgeExpired", []);
  }

  /**
   * Moves a key's value, expiry and tags (see `Kv.rename`).
   *
   * @param from The key to move.
   * @param to Its new name.
   * @param options `overwrite`: replace a live `to`.
   * @returns `false` when `from` is missing, or `to` is live and not overwritten.
   */
  rename(from: string, to: string, options?: { overwrite?: boolean }): Promise<boolean> {
    return this.#call("rename", options === undefined ? [from, to] : [from, to, options]);
  }

  /**
   * The tags of a live key.
   *
   * @param key The key.
   * @returns Its tags sorted, `[]`, or `undefined` when missing.
   */
  tags(key: string): Promise<string[] | undefined> {
    return this.#call("tags", [key]);
  }

  /**
   * Live keys, in key order.
   *
   * @param query Which keys.
   * @param options `limit`, `reverse`, `after`.
   * @returns The keys.
   */
  keys(query?: KeyQuery, options?: ListOptions): Promise<string[]> {
    return this.#call("keys", [query, options]);
  }

  /**
   * Live values, in key order.
   *
   * @param query Which keys.
   * @param options `limit`, `reverse`, `after`.
   * @returns The values.
   */
  values<T = unknown>(query?: KeyQuery, options?: ListOptions): Promise<T[]> {
    return this.#call("values", [query, options]);
  }

  /**
   * Live `[key, value]` pairs, in key order.
   *
   * @param query Which keys.
   * @param options `limit`, `reverse`, `after`.
   * @returns The pairs.
   */
  entries<T = unknown>(query?: KeyQuery, options?: ListOptions): Promise<[string, T][]> {
    return this.#call("entries", [query, options]);
  }

  /**
   * Live entries, fetched from the worker a page at a time.
   *
   * @param query Which keys.
   * @param options `limit`, `reverse`, `after`.
   * @returns An async iterator of entries.
   * @throws {TypeError | RangeError} At once, for a bad query or options.
   */
  list<T = unknown>(query?: KeyQuery, options?: ListOptions): AsyncIterableIterator<KvEntry<T>> {
    this.#open("list entries");
    compileQuery(query, "list entries");
    return this.#pages<T>(query, checkListOptions(options, "list entries"));
  }

  #open(what: string): void {
    if (this.#channel.closed !== undefined) throw this.#channel.closedError(what);
  }

  async *#pages<T>(query: KeyQuery | undefined, options: ListOptions): AsyncIterableIterator<KvEntry<T>> {
    let after = options.after;
    let left = options.limit ?? Infinity;
    while (left > 0) {
      const limit = Math.min(left, PAGE);
      const page: ListOptions = { limit, ...(options.reverse ? { reverse: true } : {}) };
      if (after !== undefined) page.after = after;
      const rows = await this.#call<KvEntry<T>[]>("list", [query, page]);
      yield* rows;
      if (rows.length < limit) return;
      left -= rows.length;
      after = rows[rows.length - 1]!.key;
    }
  }

  /**
   * Counts live keys.
   *
   * @param query Which keys.
   * @returns How many.
   */
  count(query?: KeyQuery): Promise<number> {
    return this.#call("count", [query]);
  }

  /**
   * Empties this namespace.
   *
   * @returns How many live keys it held.
   */
  clear(): Promise<number> {
    return this.#call("clear", []);
  }

  /**
   * Runs `fn` in one SQLite transaction in the worker: it commits when `fn`
   * settles, and rolls back when it throws or rejects. Inside `fn`, calls on
   * the handle it receives, on the store itself and on its namespaces are in
   * the transaction; calls from anywhere else wait until it ends. Nested
   * transactions are savepoints.
   *
   * @param fn Receives the transaction's handle; may be async.
   * @returns `fn`'s result.
   */
  async transaction<R>(fn: (tx: KvAsync) => R | Promise<R>): Promise<R> {
    if (typeof fn !== "function") {
      throw new TypeError(`Cannot run transaction: fn must be a function, received ${typeName(fn)}`);
    }
    const id = this.#channel.nextTx();
    await this.#call("transaction", [id]);
    const tx = new KvAsync(this.#channel, this.#ns, id);
    this.#channel.transactions.add(id);
    let result: R;
    try {
      result = await this.#channel.context.run(id, () => fn(tx));
    } catch (error) {
      await this.#channel.call(this.#ns, id, "rollback", []).catch(() => {});
      throw error;
    } finally {
      this.#channel.transactions.delete(id);
    }
    await this.#channel.call(this.#ns, id, "commit", []);
    return result;
  }

  /**
   * An isolated key space in the same file (see `Kv.namespace`).
   *
   * @param name The namespace.
   * @returns Its store, at once; the table is created in the worker before the next call runs.
   */
  namespace(name: string): KvAsync {
    this.#open("open namespace");
    checkName(name, "name", "open namespace");
    let child = this.#children.get(name);
    if (child === undefined) {
      child = new KvAsync(this.#channel, [...this.#ns, name], this.#tx);
      this.#children.set(name, child);
    }
    // Created in order before the calls that follow; a failure is the next call's.
    this.#call("namespace", [name]).catch(() => {});
    return child;
  }

  /**
   * The namespaces directly below this one.
   *
   * @returns Their names.
   */
  namespaces(): Promise<string[]> {
    return this.#call("namespaces", []);
  }

  /**
   * Removes a namespace and everything below it.
   *
   * @param name The namespace.
   * @returns `false` when it did not exist.
   */
  dropNamespace(name: string): Promise<boolean> {
    return this.#call("dropNamespace", [name]);
  }

  /**
   * Counters and gauges (see `Kv.stats`).
   *
   * @param options `reset`: zero the counters after reading them.
   * @returns The stats.
   */
  stats(options?: { reset?: boolean }): Promise<KvStats> {
    return this.#call("stats", options === undefined ? [] : [options]);
  }

  /**
   * A WAL checkpoint.
   *
   * @param mode SQLite's checkpoint mode.
   * @returns SQLite's report.
   */
  checkpoint(mode?: CheckpointMode): Promise<CheckpointResult> {
    return this.#call("checkpoint", mode === undefined ? [] : [mode]);
  }

  /**
   * Reclaims free space: all of it, or `pages` pages with `autoVacuum: "incremental"`.
   *
   * @param options `pages`.
   */
  vacuum(options?: { pages?: number }): Promise<void> {
    return this.#call("vacuum", options === undefined ? [] : [options]);
  }

  /** Runs `PRAGMA optimize`. */
  optimize(): Promise<void> {
    return this.#call("optimize", []);
  }

  /**
   * Checks the file.
   *
   * @throws {KvCorruptError} With SQLite's report.
   */
  integrityCheck(): Promise<void> {
    return this.#call("integrityCheck", []);
  }

  /**
   * Writes a consistent copy of the file.
   *
   * @param path The copy.
   * @param options `overwrite` an existing file.
   */
  backup(path: string, options?: { overwrite?: boolean }): Promise<void> {
    return this.#call("backup", options === undefined ? [path] : [path, options]);
  }

  /** Commits the pending batch (`durability: "batched"`); a no-op otherwise. */
  flush(): Promise<void> {
    return this.#call("flush", []);
  }

  /**
   * Closes the store and ends its worker thread (a namespace: that view only).
   * Idempotent; later calls reject with `KvClosedError`.
   *
   * @param options `optimize` before closing.
   */
  async close(options?: CloseOptions): Promise<void> {
    if (this.#channel.closed !== undefined) return;
    await this.#call("close", options === undefined ? [] : [options]);
    if (this.#ns.length === 0 && this.#tx === 0) await this.#channel.end();
  }

  /** `close()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * `close()` without waiting for it, for `using` (prefer `await using`): the
   * close is posted at once, so every later call fails with `KvClosedError`.
   */
  [Symbol.dispose](): void {
    this.close().catch(() => {});
  }

  /** `[key, value]` pairs of the whole namespace, fetched a page at a time. */
  async *[Symbol.asyncIterator](): AsyncIterator<[string, unknown]> {
    for await (const entry of this.list()) yield [entry.key, entry.value];
  }
}

/** Options of `openKvAsync()`: those of `openKv()` but `codec`, which cannot cross to the worker thread. */
export type KvAsyncOptions = Omit<KvOptions, "codec">;

/**
 * Opens a store in a worker thread through the adapter module at `adapter`
 * (whose `openKv` the worker calls).
 *
 * @param adapter The adapter module's URL.
 * @param path The file.
 * @param options As for `openKv()`, but `codec`.
 * @param require An option that is a class, given by module id (better-sqlite3's `Database`).
 * @returns The store, once the worker has opened it.
 */
export async function openAsync(
  adapter: string,
  path: string | undefined,
  options: KvAsyncOptions | undefined,
  require?: { option: string; id: string },
): Promise<KvAsync> {
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw new TypeError(`Cannot open store: options must be an object, received ${typeName(options)}`);
  }
  if (options !== undefined && "codec" in options) {
    throw new TypeError(
      "Cannot open store: codec cannot cross to the worker thread of openKvAsync(); it stores values with the built-in codec",
    );
  }
  // Every option is judged here, before a thread starts or a file is made.
  const resolved = resolveOptions(options);
  const { now: _now, onCommitError: _hook, sweepInterval: _sweep, ...rest } = (options ?? {}) as KvOptions;
  const now = options?.now === undefined ? undefined : resolved.now;
  const onCommitError = resolved.onCommitError;
  try {
    structuredClone(rest);
  } catch (error) {
    throw new TypeError(
      `Cannot open store: the options cannot be sent to the worker thread (${(error as Error).message})`,
    );
  }
  const channel = await Channel.open({ adapter, path, options: rest, require, now, onCommitError });
  const kv = new KvAsync(channel, [], 0);
  const sweepInterval = resolved.sweepInterval;
  if (sweepInterval > 0) {
    // The sweeper runs here, not in the worker, so that each purge carries
    // this thread's clock (an injected one included).
    channel.sweeper = unrefInterval(() => {
      if (channel.closed === undefined) channel.call([], 0, "sweep", []).catch(() => {});
    }, sweepInterval);
  }
  return kv;
}
