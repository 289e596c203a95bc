/**
 * The async client: the same store running in a worker thread, so that the
 * calling thread never waits on SQLite (a lock held by another process, a
 * long `vacuum()`, `backup()` or `setMany()`). Adapters call
 * {@link openAsync}; users call `openKvAsync()` from an entry point.
 *
 * @module
 */

import type { AsyncKvStore, CloseOptions, KvEntry, KvMethods } from "../api.ts";
import { Channel } from "./channel.ts";
import { FORWARDED, type Forwarded } from "./methods.ts";
import { encodeValue, taggedJson } from "../codec.ts";
import { checkKey } from "../keys.ts";
import { checkListOptions, compileQuery, type KeyQuery, type ListOptions } from "../query.ts";
import { checkName } from "../names.ts";
import { typeName } from "../check.ts";
import { transactionTimedOut } from "./wire.ts";
import { type KvOptions, resolveOptions } from "../options.ts";
import { unrefInterval } from "../runtime.ts";
import { encodeEntries, type SetOptions } from "../write.ts";
import { checkWatch, type KvMissing, type KvWatch, type WatchChanges, type WatchOptions } from "../watch/watch.ts";
import { AsyncWatch, type WatchCall } from "./watch.ts";
import { KvQueueAsync, type QueueCall } from "./queue.ts";
import { checkQueueName } from "../queue/queue.ts";

/** Entries a `list()` page fetches from the worker. */
const PAGE = 256;

/** Why a transaction's race against its timeout ended. */
const TIMED_OUT = Symbol("timed out");

let channelOf: (kv: KvAsync) => Channel;

/**
 * Ends the worker thread of `kv` from outside, as its death would (not an
 * entry point's export: the tests use it to see what a caller is told then).
 */
export function killWorker(kv: KvAsync): Promise<void> {
  return channelOf(kv).kill();
}

/**
 * The methods {@link KvAsync} forwards to its worker as they are (their
 * documentation is {@link KvMethods}'s): installed on its prototype below.
 */
export interface KvAsync extends Pick<KvMethods<"async">, Forwarded> {}

/**
 * A store whose calls run in a worker thread: the methods of the synchronous
 * `Kv`, each returning a promise of the same result (every method is
 * documented on {@link KvMethods}). Obtain one with `openKvAsync()`.
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
export class KvAsync implements AsyncKvStore, Disposable {
  readonly #channel: Channel;
  readonly #ns: string[];
  readonly #tx: number;
  readonly #children = new Map<string, KvAsync>();
  readonly #queues = new Map<string, KvQueueAsync<unknown>>();

  static {
    channelOf = (kv) => kv.#channel;
    for (const op of FORWARDED) {
      Object.defineProperty(KvAsync.prototype, op, {
        value: {
          [op](this: KvAsync, ...args: unknown[]) {
            return this.#call(op, args);
          },
        }[op],
        writable: true,
        configurable: true,
      });
    }
  }

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

  #call<R>(op: string, args: unknown[], transfer?: ArrayBuffer[]): Promise<R> {
    // Looked up only while a transaction is open: the common call pays nothing.
    const tx = this.#tx !== 0 || this.#channel.transactions.size === 0 ? this.#tx : this.#channel.running();
    return this.#channel.call(this.#ns, tx, op, args, transfer) as Promise<R>;
  }

  /**
   * The value of a live key (see {@link KvMethods.get}).
   *
   * @param key The key.
   * @returns The value, or `undefined` when the key is missing or expired.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * await kv.set("n", 1);
   * assert.equal(await kv.get("n"), 1);
   * ```
   */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /**
   * The value of a live key, or `fallback` when it is missing or expired. The
   * fallback stays on this thread: it is returned itself, not a copy, and may
   * be any value (a function included).
   *
   * @param key The key.
   * @param fallback Returned when the key is missing or expired.
   * @returns The value or the fallback.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * const empty: string[] = [];
   * assert.equal(await kv.get("missing", empty), empty);
   * ```
   */
  get<T = unknown>(key: string, fallback: T): Promise<T>;
  async get<T>(key: string, ...fallback: [T?]): Promise<T | undefined> {
    if (fallback.length === 0) return await this.#call("get", [key]);
    // The fallback stays here, so that it is returned itself, not a copy.
    const found = await this.#call<[] | [T]>("getOr", [key]);
    return found.length === 1 ? found[0] : fallback[0];
  }

  /**
   * Writes a value (see {@link KvMethods.set}). The value is checked and
   * encoded on this thread, with the codec's rules and errors.
   *
   * @param key The key.
   * @param value Any value the codec can encode.
   * @param options As for {@link KvMethods.set}.
   * @returns `true` when written, `false` when a condition stopped the write.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCodecError, openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * assert.equal(await kv.set("lock", "me", { ifAbsent: true, ttl: 10_000 }), true);
   * await assert.rejects(kv.set("f", () => 1), KvCodecError);
   * ```
   */
  async set(key: string, value: unknown, options?: SetOptions): Promise<boolean> {
    // Encoded here, with the rules and errors of the synchronous store (the
    // key first): the worker writes what crosses, instead of encoding again.
    checkKey(key, "set key");
    const [v, kind] = encodeValue(value, taggedJson);
    // Bytes cross as a buffer of their own, handed over (see wire.ts).
    const bytes = v instanceof Uint8Array ? v.slice().buffer : undefined;
    const args: unknown[] = [key, bytes ?? v, kind];
    if (options !== undefined) args.push(options);
    return await this.#call("setEncoded", args, bytes === undefined ? undefined : [bytes]);
  }

  /**
   * Writes many entries in one transaction (see {@link KvMethods.setMany}),
   * crossing to the worker as one call.
   *
   * @param entries An iterable of `[key, value]` pairs, or a plain object.
   * @param options As for {@link KvMethods.set}.
   * @returns How many entries were written.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * assert.equal(await kv.setMany({ a: 1, b: 2 }), 2);
   * ```
   */
  async setMany(
    entries: Iterable<readonly [string, unknown]> | Record<string, unknown>,
    options?: SetOptions,
  ): Promise<number> {
    // Checked and encoded here, as set() is; the worker writes what crosses.
    const flat = encodeEntries(entries, taggedJson);
    const transfer: ArrayBuffer[] = [];
    for (let i = 1; i < flat.length; i += 3) {
      const v = flat[i];
      if (v instanceof Uint8Array) transfer.push((flat[i] = v.slice().buffer) as ArrayBuffer);
    }
    return await this.#call("setManyEncoded", options === undefined ? [flat] : [flat, options], transfer);
  }

  /**
   * Live entries, fetched from the worker a page of 256 at a time (see
   * {@link KvMethods.list}).
   *
   * @param query Which keys.
   * @param options `limit`, `reverse`, `after`.
   * @returns An async iterator of entries.
   * @throws {TypeError | RangeError} At once, for a bad query or options.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * await kv.setMany({ "a:1": 1, "a:2": 2 });
   * const keys: string[] = [];
   * for await (const { key } of kv.list({ prefix: "a:" })) keys.push(key);
   * assert.deepEqual(keys, ["a:1", "a:2"]);
   * ```
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
   * Runs `fn` in one SQLite transaction in the worker: it commits when `fn`
   * settles, and rolls back when it throws or rejects. Inside `fn`, calls on
   * the handle it receives, on the store itself and on its namespaces are in
   * the transaction; calls from anywhere else wait until it ends. Nested
   * transactions are savepoints.
   *
   * @param fn Receives the transaction's handle; may be async.
   * @returns `fn`'s result.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * await kv.transaction(async (tx) => {
   *   const balance = await tx.get<number>("account:ada", 100);
   *   await tx.set("account:ada", balance - 10);
   *   await tx.incr("account:bob", 10);
   * });
   * assert.deepEqual(await kv.getMany(["account:ada", "account:bob"]), [90, 10]);
   * ```
   */
  async transaction<R>(fn: (tx: KvAsync) => R | Promise<R>): Promise<R> {
    if (typeof fn !== "function") {
      throw new TypeError(`Cannot run transaction: fn must be a function, received ${typeName(fn)}`);
    }
    const channel = this.#channel;
    const id = channel.nextTx();
    await this.#call("transaction", [id]);
    const tx = new KvAsync(channel, this.#ns, id);
    channel.transactions.add(id);
    // The worker rolls the transaction back at the same deadline even if
    // this thread is stuck; this timer says so to the caller.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(TIMED_OUT), channel.transactionTimeout);
    });
    let result: R;
    try {
      result = await Promise.race([channel.context.run(id, () => fn(tx)), timeout]);
    } catch (error) {
      channel.transactions.delete(id);
      await channel.call(this.#ns, id, "rollback", []).catch(() => {});
      throw error === TIMED_OUT ? transactionTimedOut(channel.transactionTimeout) : error;
    } finally {
      clearTimeout(timer);
      channel.transactions.delete(id);
    }
    await channel.call(this.#ns, id, "commit", []);
    return result;
  }

  /**
   * An isolated key space in the same file (see {@link KvMethods.namespace}).
   *
   * @param name The namespace.
   * @returns Its store, at once; the table is created in the worker before the next call runs.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * const users = kv.namespace("users"); // no await
   * await users.set("42", "ada");
   * assert.equal(await kv.has("42"), false);
   * ```
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
   * Closes the store and ends its worker thread (a namespace: that view only).
   * Idempotent; later calls reject with `KvClosedError`.
   *
   * @param options `optimize` before closing.
   *
   * @example
   * ```ts
   * import { KvClosedError, openKvAsync } from "@kvsqlite/kvsqlite";
   * import assert from "node:assert/strict";
   * const kv = await openKvAsync();
   * await kv.close();
   * await assert.rejects(kv.get("a"), KvClosedError);
   * ```
   */
  async close(options?: CloseOptions): Promise<void> {
    if (this.#channel.closed !== undefined) return;
    const running = this.#ns.length === 0 && this.#tx === 0 ? [...this.#channel.listeners] : [];
    if (running.length > 0) {
      // Queue listeners stop first, and their running handlers settle (and acknowledge) before the store
      // closes. Without any, the close is posted at once (using, which does not wait, relies on it).
      for (const listener of running) listener.stop();
      await Promise.all(running.map((listener) => listener.done));
    }
    await this.#call("close", options === undefined ? [] : [options]);
    if (this.#ns.length === 0 && this.#tx === 0) await this.#channel.end();
  }

  /**
   * Watches some keys, or the keys a query matches (see
   * {@link KvMethods.watch}): the watch runs in the worker, and each state
   * crosses when it is read. Waiting for a change does not keep the process
   * alive.
   *
   * @param keys The keys.
   * @param options None yet.
   * @returns The watch.
   * @throws {TypeError | RangeError} At once, for bad keys, a bad query or an option.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * const watch = kv.watch(["a"]);
   * assert.equal((await watch.next()).value?.[0]?.version, null);
   * await kv.set("a", 1);
   * assert.equal((await watch.next()).value?.[0]?.value, 1);
   * await watch.return();
   * ```
   */
  watch<T = unknown>(keys: readonly string[], options?: WatchOptions): KvWatch<(KvEntry<T> | KvMissing)[]>;
  /**
   * Watches the keys a query matches (see {@link KvMethods.watch}).
   *
   * @param query Which keys.
   * @param options None yet.
   * @returns The watch.
   */
  watch<T = unknown>(query: KeyQuery, options?: WatchOptions): KvWatch<WatchChanges<T>>;
  watch<T>(
    keysOrQuery: readonly string[] | KeyQuery,
    options?: WatchOptions,
  ): KvWatch<(KvEntry<T> | KvMissing)[]> | KvWatch<WatchChanges<T>> {
    this.#open("watch keys");
    checkWatch(keysOrQuery, options);
    const call: WatchCall = (op, args) => this.#channel.call(this.#ns, this.#tx, op, args);
    return new AsyncWatch<(KvEntry<T> | KvMissing)[]>(call, this.#channel.nextTx(), keysOrQuery) as
      | KvWatch<(KvEntry<T> | KvMissing)[]>
      | KvWatch<WatchChanges<T>>;
  }

  /**
   * A durable queue in the file (see {@link KvMethods.queue}): its calls run
   * in the worker, and `listen()` runs its handlers on this thread.
   *
   * @param name The queue's name. @default ""
   * @returns The queue.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * const jobs = kv.queue<string>("jobs");
   * await jobs.enqueue("mail ada");
   * const stop = new AbortController();
   * const seen: string[] = [];
   * await jobs.listen((job) => {
   *   seen.push(job);
   *   stop.abort();
   * }, { signal: stop.signal });
   * assert.deepEqual(seen, ["mail ada"]);
   * ```
   */
  queue<T = unknown>(name = ""): KvQueueAsync<T> {
    this.#open("open queue");
    checkQueueName(name, "open queue");
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      const call: QueueCall = (op, args, transfer) => this.#call(op, args, transfer);
      queue = new KvQueueAsync(call, name, this.#channel);
      this.#queues.set(name, queue);
    }
    return queue as KvQueueAsync<T>;
  }

  /**
   * `close()`, for `await using`.
   *
   * @example
   * ```ts
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * {
   *   await using kv = await openKvAsync();
   *   await kv.set("a", 1);
   * } // closed here, its worker ended
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * `close()` without waiting for it, for `using` (prefer `await using`): the
   * close is posted at once, so every later call fails with `KvClosedError`.
   *
   * @example
   * ```ts
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * const kv = await openKvAsync();
   * kv[Symbol.dispose](); // what `using kv = ...` does at the end of its block
   * ```
   */
  [Symbol.dispose](): void {
    this.close().catch(() => {});
  }

  /**
   * `[key, value]` pairs of the whole namespace, fetched a page at a time.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKvAsync } from "@kvsqlite/kvsqlite";
   * await using kv = await openKvAsync();
   * await kv.set("a", 1);
   * const pairs: [string, unknown][] = [];
   * for await (const pair of kv) pairs.push(pair);
   * assert.deepEqual(pairs, [["a", 1]]);
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncIterator<[string, unknown]> {
    for await (const entry of this.list()) yield [entry.key, entry.value];
  }
}

/** Options of `openKvAsync()`: those of `openKv()` but `codec`, which cannot cross to the worker thread; and its own. */
export interface KvAsyncOptions extends Omit<KvOptions, "codec"> {
  /**
   * ms a `transaction(fn)` may run before it is rolled back when `fn` has not
   * settled: its promise then rejects with `KvError` code
   * `"TRANSACTION_TIMEOUT"`, its later calls with `KvClosedError`, and the
   * calls waiting behind it (`close()` included) go ahead. SQLite's write lock
   * is never held longer. @default 30000
   */
  transactionTimeout?: number;
}

/** `transactionTimeout` when not given: 30 s. */
const TRANSACTION_TIMEOUT = 30_000;

function checkTransactionTimeout(value: unknown): number {
  if (value === undefined) return TRANSACTION_TIMEOUT;
  if (typeof value !== "number") {
    throw new TypeError(`Cannot open store: transactionTimeout must be a number of ms, received ${typeName(value)}`);
  }
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Cannot open store: transactionTimeout must be a finite number > 0, received ${value}`);
  }
  return value;
}

/**
 * The worker script of an adapter: `adapters/worker/<name>.ts` beside the
 * adapter at `adapterUrl` (`.js` when the package runs compiled).
 *
 * @param adapterUrl The adapter module's `import.meta.url`.
 * @param name The adapter's file name, without its extension.
 * @returns The script's URL.
 */
export function workerScript(adapterUrl: string, name: string): URL {
  return new URL(`./worker/${name}${adapterUrl.endsWith(".js") ? ".js" : ".ts"}`, adapterUrl);
}

/**
 * Opens a store in a worker thread started on `script`, an adapter's worker
 * entry (`adapters/worker/`), which serves the store that adapter opens.
 *
 * @param script The worker script ({@link workerScript}).
 * @param path The file.
 * @param options As for `openKv()`, but `codec`.
 * @param require An option that is a class, given by module id (better-sqlite3's `Database`).
 * @returns The store, once the worker has opened it.
 */
export async function openAsync(
  script: URL,
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
  const { transactionTimeout: timeout, ...coreOptions } = options ?? {};
  const transactionTimeout = checkTransactionTimeout(timeout);
  const resolved = resolveOptions(coreOptions);
  const { now: _now, onCommitError: _hook, sweepInterval: _sweep, ...rest } = coreOptions as KvOptions;
  const now = options?.now === undefined ? undefined : resolved.now;
  const onCommitError = resolved.onCommitError;
  try {
    structuredClone(rest);
  } catch (error) {
    throw new TypeError(
      `Cannot open store: the options cannot be sent to the worker thread (${(error as Error).message})`,
    );
  }
  const channel = await Channel.open({ script, path, options: rest, require, now, onCommitError, transactionTimeout });
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
