/**
 * The `Kv` class of the Deno KV facade: `Deno.Kv`'s methods over a
 * {@link DenoStore}. Reads and commits run on the store's connection at once;
 * the methods return promises, as Deno KV's do, so that code written for
 * `Deno.Kv` runs unchanged.
 *
 * @module
 */

import { KvClosedError } from "../errors.ts";
import { KvQueue } from "../queue/kv_queue.ts";
import { settle } from "../runtime.ts";
import { AtomicOperation, COMMIT_VERSIONSTAMP, type EnqueueOptions, type KvCommitResult } from "./atomic.ts";
import { decodeKey, fromStored, type KvKey, toStored } from "./key.ts";
import { MAX_READ_RANGES, readKey } from "./limits.ts";
import { KvListIterator, type KvListOptions } from "./list.ts";
import type { DenoStore, KvEntry, KvEntryMaybe } from "./store.ts";
import { watchEntries, type WatchOptions } from "./watch.ts";

/** Options of reads: accepted for compatibility; every read of one file is strong. */
export interface ReadOptions {
  /** `"strong"` or `"eventual"`: the same here. */
  consistency?: "strong" | "eventual";
}

/** How many messages one `listenQueue` handles at once. */
const QUEUE_CONCURRENCY = 32;
/**
 * How long a delivered message is held, renewed while its handler runs, ms:
 * once a process dies or closes the database under a handler, the message is
 * delivered again after this (Deno KV's local queue: 5 s).
 */
const QUEUE_LEASE = 5000;

/** The parts of the `Kv` being made by {@link createKv}; a `Kv` made otherwise has none and throws. */
let making: { store: DenoStore; close: () => void } | undefined;

/** A `Kv` over a store; `close` closes what lies under it. */
export function createKv(store: DenoStore, close: () => void): Kv {
  making = { store, close };
  try {
    return new Kv();
  } finally {
    making = undefined;
  }
}

/**
 * A key-value database with the API of `Deno.Kv`, on a kvsqlite file. Obtain
 * one with `openKv()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv } from "@kvsqlite/kvsqlite/deno-kv";
 * await using kv = await openKv(":memory:");
 * await kv.set(["users", "ada"], { name: "Ada" });
 * const names = [];
 * for await (const entry of kv.list({ prefix: ["users"] })) names.push(entry.key[1]);
 * assert.deepEqual(names, ["ada"]);
 * ```
 */
export class Kv implements Disposable, AsyncDisposable {
  readonly #store: DenoStore;
  readonly #close: () => void;
  #closed = false;
  /** Called on close: `listenQueue` resolves then, without waiting for handlers still running. */
  readonly #onClose = new Set<() => void>();

  /**
   * Not for direct use: obtain one from `openKv()`.
   *
   * @throws {TypeError} Always, when called by user code (as `new Deno.Kv()`).
   */
  constructor() {
    if (making === undefined) throw new TypeError("Deno.Kv can not be constructed: use Deno.openKv instead");
    this.#store = making.store;
    this.#close = making.close;
  }

  #open(): DenoStore {
    if (this.#closed) throw closedError("Cannot use the database: it is closed");
    return this.#store;
  }

  /** A new atomic operation. */
  atomic(): AtomicOperation {
    return new AtomicOperation({ open: () => this.#open() });
  }

  /** The symbol that, as the last part of a key given to `set` in an atomic operation, becomes the commit's versionstamp. */
  commitVersionstamp(): symbol {
    return COMMIT_VERSIONSTAMP;
  }

  /** The entry of a key: its value and versionstamp, both `null` when it is missing. */
  get<T = unknown>(key: KvKey, _options?: ReadOptions): Promise<KvEntryMaybe<T>> {
    return settle(() => {
      const store = this.#open();
      return store.maybe<T>(store.getOne(toStored(readKey(key))), key);
    });
  }

  /** The entries of up to 10 keys, in the order given. */
  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: KvKey }],
    _options?: ReadOptions,
  ): Promise<{ [K in keyof T]: KvEntryMaybe<T[K]> }> {
    return settle(() => {
      const store = this.#open();
      if (!Array.isArray(keys)) throw new TypeError("Keys must be an array");
      if (keys.length > MAX_READ_RANGES) throw new TypeError(`Too many ranges (max ${MAX_READ_RANGES})`);
      const stored = keys.map((key) => toStored(readKey(key)));
      const rows = store.getMany(stored);
      return stored.map((k, i) => store.maybe(rows.get(k), keys[i]!)) as { [K in keyof T]: KvEntryMaybe<T[K]> };
    });
  }

  /** Sets a key, for `expireIn` ms when given. */
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): Promise<KvCommitResult> {
    return settle(() => this.atomic().set(key, value, options).commit() as Promise<KvCommitResult>);
  }

  /** Deletes a key. */
  delete(key: KvKey): Promise<void> {
    return settle(() => this.atomic().delete(key).commit().then(() => undefined));
  }

  /**
   * The entries of a selector, in key order (or reverse), read in batches;
   * the iterator's `cursor` resumes a listing.
   */
  list<T = unknown>(selector: unknown, options: KvListOptions = {}): KvListIterator<T> {
    this.#open();
    return new KvListIterator<T>(selector, options, (from, to, n, reverse) => {
      const store = this.#open();
      return store.range(from, to, n, reverse).map((row) => {
        const bytes = fromStored(row[0] as string);
        return [bytes, store.entry(row, decodeKey(bytes)) as KvEntry];
      });
    });
  }

  /** Enqueues a message for `listenQueue`, after `delay` ms when given. */
  enqueue(value: unknown, options?: EnqueueOptions): Promise<KvCommitResult> {
    return settle(() => {
      const op = this.atomic().enqueue(value, options);
      return op.commit() as Promise<KvCommitResult>;
    });
  }

  /**
   * Runs `handler` on every message enqueued in the file, by any process;
   * resolves once the database is closed. A handler that throws is retried
   * after its message's backoff schedule; when that is spent, the message is
   * written to its `keysIfUndelivered`.
   */
  listenQueue(handler: (value: unknown) => unknown): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Queue already closed"));
    if (typeof handler !== "function") return Promise.reject(new TypeError("Handler must be a function"));
    const store = this.#store;
    const queue = new KvQueue(store.queue, (what) => {
      if (this.#closed) throw closedError(`Cannot ${what}: the database is closed`);
      store.conn.check(what);
      return store.conn;
    });
    const listening = queue.listen((value) => handler(value), { concurrency: QUEUE_CONCURRENCY, lease: QUEUE_LEASE });
    // As Deno KV's: closing ends listening at once; a handler still running has its message delivered again later.
    let closed!: () => void;
    const ended = new Promise<void>((resolve) => (closed = resolve));
    this.#onClose.add(closed);
    return Promise.race([listening, ended]).finally(() => this.#onClose.delete(closed));
  }

  /** A stream of the entries of up to 10 keys: their state now, then again whenever one changes. */
  watch(keys: KvKey[], options?: WatchOptions): ReadableStream<KvEntryMaybe[]> {
    return watchEntries(this.#open(), keys, options);
  }

  /** Closes the database: watches end and `listenQueue` resolves. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#close();
    for (const end of [...this.#onClose]) end();
  }

  /** Closes the database (`using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the database (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Deno's `Deno.errors.BadResource` where the `Deno` namespace has it. */
function badResource(): (new (message: string) => Error) | undefined {
  const deno = (globalThis as { Deno?: { errors?: { BadResource?: unknown } } }).Deno;
  const ctor = deno?.errors?.BadResource;
  return typeof ctor === "function" ? ctor as new (message: string) => Error : undefined;
}

/**
 * The error of a call on a closed database: on Deno, a `Deno.errors.BadResource`
 * (what `Deno.Kv` throws, so code that catches it works unchanged) with the
 * code `KV_CLOSED`; elsewhere a `KvClosedError` (the same code).
 */
export function closedError(message: string): Error {
  const BadResource = badResource();
  if (BadResource === undefined) return new KvClosedError(message);
  const error = new BadResource(message);
  Object.defineProperty(error, "code", { value: "KV_CLOSED", enumerable: true, writable: true, configurable: true });
  return error;
}
