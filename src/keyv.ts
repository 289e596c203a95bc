/**
 * `KeyvKvsqlite`: a Keyv (>= 5) storage adapter on kvsqlite, so that Keyv,
 * and `cacheable` on top of it, store in a kvsqlite file. It implements Keyv's
 * storage interface structurally and imports nothing of Keyv's.
 *
 * @example
 * ```ts ignore
 * import Keyv from "keyv";
 * import { KeyvKvsqlite } from "@kvsqlite/kvsqlite/keyv";
 * const keyv = new Keyv({ store: new KeyvKvsqlite("data/cache.db") });
 * await keyv.set("a", { n: 1 }, 60_000);
 * ```
 *
 * @module
 */

import { EventEmitter } from "node:events";
import { openKv } from "../mod.ts";
import { Kv } from "./kv.ts";
import { KvAsync } from "./async/client.ts";
import type { KvOptions } from "./options.ts";
import { typeName } from "./check.ts";

/** What Keyv hands to `setMany`. */
export interface KeyvEntry {
  /** The key, with Keyv's namespace prefix. */
  key: string;
  /** The value as Keyv serialized it. */
  value: unknown;
  /** ms; `undefined` or 0: no expiry. */
  ttl?: number;
}

/**
 * A Keyv storage adapter over a kvsqlite store. Keyv's namespace (which Keyv
 * sets on the adapter) maps to `kv.namespace(namespace)`; values are stored
 * as Keyv hands them over; a `ttl` in ms becomes the key's expiry.
 *
 * @example
 * ```ts ignore
 * import Keyv from "keyv";
 * import { openKv } from "@kvsqlite/kvsqlite";
 * import { KeyvKvsqlite } from "@kvsqlite/kvsqlite/keyv";
 * const kv = openKv("data/app.db");
 * const sessions = new Keyv({ store: new KeyvKvsqlite(kv), namespace: "sessions" });
 * ```
 */
export class KeyvKvsqlite extends EventEmitter {
  /** Tells Keyv that this store can be iterated (its iterator needs a known dialect). */
  readonly opts: { dialect: "sqlite"; url: string };
  /** Keyv's namespace, set by Keyv; `undefined`: the store's root key space. */
  namespace: string | undefined;
  /** Expiry is stored with each key. */
  readonly ttlSupport = true;
  readonly #kv: Kv | KvAsync;
  readonly #owned: boolean;

  /**
   * Creates the adapter over a store, or over a file it opens itself.
   *
   * @param kvOrPath An open store, from `openKv()` or `openKvAsync()` (left open by `disconnect()`), or a file to open with the runtime's driver (`":memory:"` when omitted).
   * @param options Options of `openKv()` when a path is given.
   */
  constructor(kvOrPath?: Kv | KvAsync | string, options?: KvOptions) {
    super();
    if (
      kvOrPath !== undefined && typeof kvOrPath !== "string" && !(kvOrPath instanceof Kv || kvOrPath instanceof KvAsync)
    ) {
      throw new TypeError(
        `Cannot create KeyvKvsqlite: pass a store from openKv() or openKvAsync(), or a file path, received ${
          typeName(kvOrPath)
        }`,
      );
    }
    if (kvOrPath instanceof Kv || kvOrPath instanceof KvAsync) {
      if (options !== undefined) throw new TypeError("Cannot create KeyvKvsqlite: options go with a path, not a store");
      this.#kv = kvOrPath;
      this.#owned = false;
    } else {
      this.#kv = openKv(kvOrPath, options);
      this.#owned = true;
    }
    this.opts = { dialect: "sqlite", url: typeof kvOrPath === "string" ? `sqlite://${kvOrPath}` : "sqlite://" };
  }

  /**
   * Runs a synchronous store call as Keyv expects: a promise, rejected with the
   * store's error, which is also emitted as `error` (Keyv forwards its store's
   * error events to its own, and swallows a rejected `get` unless told to throw).
   */
  #run<T>(fn: () => T | Promise<T>): Promise<T> {
    let result: Promise<T>;
    try {
      result = Promise.resolve(fn());
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.catch((error) => {
      if (this.listenerCount("error") > 0) this.emit("error", error);
      throw error;
    });
  }

  /**
   * The store of a namespace. Typed as the async store: a sync `Kv` answers the
   * same calls with values instead of promises, and every caller here awaits
   * the answer (through `#run`), so both serve alike.
   */
  #space(namespace = this.namespace): KvAsync {
    const kv = this.#kv as KvAsync;
    return namespace === undefined || namespace === "" ? kv : kv.namespace(namespace);
  }

  /** The value of a key, or `undefined`. */
  get(key: string): Promise<unknown> {
    return this.#run(() => this.#space().get(key));
  }

  /** The values of many keys, `undefined` for a missing one. */
  getMany(keys: string[]): Promise<unknown[]> {
    return this.#run(() => this.#space().getMany(keys));
  }

  /** Stores a value; `ttl` in ms (0 or none: no expiry, as Keyv means it). */
  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    return this.#run(() => this.#space().set(key, value, expiry(ttl)));
  }

  /** Stores many entries in one transaction. */
  setMany(entries: KeyvEntry[]): Promise<boolean[]> {
    return this.#run(() => {
      const space = this.#space();
      if (space instanceof KvAsync) {
        return space.transaction(async (tx) => {
          for (const e of entries) await tx.set(e.key, e.value, expiry(e.ttl));
          return entries.map(() => true);
        });
      }
      const sync = space as unknown as Kv;
      return sync.transaction(() => entries.map((e) => sync.set(e.key, e.value, expiry(e.ttl))));
    });
  }

  /** Deletes a key; `true` when it was there. */
  delete(key: string): Promise<boolean> {
    return this.#run(() => this.#space().delete(key));
  }

  /** Deletes keys; `true` when any was there. */
  deleteMany(keys: string[]): Promise<boolean> {
    return this.#run(async () => (await this.#space().deleteMany(keys)) > 0);
  }

  /** Whether a key is there. */
  has(key: string): Promise<boolean> {
    return this.#run(() => this.#space().has(key));
  }

  /** Deletes every key of the namespace (all of the root's keys without one). */
  clear(): Promise<void> {
    return this.#run(() => void this.#space().clear());
  }

  /** `[key, value]` of every key of a namespace, fetched lazily in pages. */
  async *iterator(namespace?: string): AsyncGenerator<[string, unknown]> {
    for await (const entry of this.#space(namespace ?? this.namespace).list()) yield [entry.key, entry.value];
  }

  /** Closes the store when this adapter opened it. */
  disconnect(): Promise<void> {
    return this.#run(async () => {
      if (this.#owned) await this.#kv.close();
    });
  }
}

function expiry(ttl: unknown): { ttl: number } | undefined {
  return typeof ttl === "number" && ttl > 0 && Number.isFinite(ttl) ? { ttl } : undefined;
}
