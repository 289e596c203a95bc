/**
 * Caching on the store (kv-cache's `scache`, made for servers): `memoize()`
 * and `getOrSet()`. Entries persist across restarts and are shared by every
 * process on the file; on top come single flight (in-process, and across
 * processes with `lease`), stale-while-revalidate, tags and a bounded
 * in-process L1 that never serves a value changed since it was cached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv } from "@kvsqlite/kvsqlite";
 * import { memoize } from "@kvsqlite/kvsqlite/cache";
 * using kv = openKv();
 * const square = memoize((n: number) => n * n, { kv, name: "square", ttl: 60_000 });
 * assert(square(4) === 16 && square(4) === 16 && square.stats().computes === 1);
 * assert(square.invalidate(4) && square(4) === 16 && square.stats().computes === 2);
 * ```
 *
 * @module
 */

import { checkFunction, checkOptions, checkString, typeName } from "./check.ts";
import { checkKey, MAX_KEY_BYTES, utf8Length } from "./keys.ts";
import { Kv } from "./kv.ts";
import { KvAsync } from "./async/client.ts";
import { checkName } from "./names.ts";
import { isAsyncFunction } from "./runtime.ts";
import { Engine, type MemoStats } from "./cache/engine.ts";
import { argumentsKey, memoryKey } from "./cache/memo_key.ts";

export type { MemoStats } from "./cache/engine.ts";

/** Options of {@link getOrSet}, and the per-entry part of {@link memoize}'s. */
export interface CacheOptions<A extends unknown[], R> {
  /** ms an entry stays fresh. @default forever */
  ttl?: number;
  /** Cache this result or not. @default always */
  when?: (result: R, ...args: A) => boolean;
  /** ms after `ttl` during which the stale result is served at once while one refresh runs (async only). @default 0 */
  staleWhileRevalidate?: number;
  /** Tags on each entry, or a function of the result giving them. */
  tags?: readonly string[] | ((result: R, ...args: A) => readonly string[]);
  /** ms: across processes, only one computes a missing key; the others wait or take over when it lapses (async only). */
  lease?: number;
}

/** Options of {@link memoize}. */
export interface MemoizeOptions<A extends unknown[], R> extends CacheOptions<A, R> {
  /** The store. */
  kv: Kv;
  /** Part of every entry's key. @default fn.name */
  name?: string;
  /** Entries live in `kv.namespace(namespace)`. @default "memoize" */
  namespace?: string;
  /** Replaces the derived key: `(...args) => string`. @default SHA-256 of the canonical arguments */
  key?: (...args: A) => string;
  /** An in-process LRU of at most `max` entries in front of the file. @default off */
  memory?: { max: number };
}

/** A memoized function: `fn`'s parameters and result, and its cache's handles. */
export type Memoized<A extends unknown[], R> = ((...args: A) => R) & {
  /** Removes the entry of these arguments; `true` when there was one. */
  invalidate(...args: A): boolean;
  /** Removes every entry of this function; returns how many. */
  clear(): number;
  /** The stored result for these arguments, computing nothing. */
  peek(...args: A): Awaited<R> | undefined;
  /** The entry's full key in the namespace, `name + ":" + key`. */
  key(...args: A): string;
  /** The counters since the function was memoized. */
  stats(): MemoStats;
};

const CACHE_OPTIONS = ["ttl", "when", "staleWhileRevalidate", "tags", "lease"];
const MEMOIZE_OPTIONS = [...CACHE_OPTIONS, "kv", "name", "namespace", "key", "memory"];

function checkStore(kv: unknown, what: string): Kv {
  if (kv instanceof KvAsync) {
    // A memoized sync function, peek() and the L1's freshness read the store in the caller's own call.
    throw new TypeError(
      `Cannot ${what}: kv must be a synchronous store from openKv(); a store from openKvAsync() cannot answer within the call. Open the same file with openKv() for the cache (both can stay open)`,
    );
  }
  if (!(kv instanceof Kv)) {
    throw new TypeError(`Cannot ${what}: kv must be a store from openKv(), received ${typeName(kv)}`);
  }
  return kv;
}

/**
 * Memoizes `fn` on the store: a sync `fn` stays sync, an async one returns a
 * promise. Entries live in `kv.namespace(namespace)` under `name + ":" + key`.
 *
 * @param fn The function to memoize.
 * @param options `kv` (required), `name`, `namespace`, `ttl`, `key`, `when`, `staleWhileRevalidate`, `tags`, `memory`, `lease`.
 * @returns The memoized function, with `invalidate`, `clear`, `peek`, `key` and `stats`.
 * @throws {TypeError | RangeError} For bad options, or a function without a name and no `name`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv } from "@kvsqlite/kvsqlite";
 * import { memoize } from "@kvsqlite/kvsqlite/cache";
 * using kv = openKv();
 * const user = memoize(async (id: number) => ({ id, name: `user ${id}` }), {
 *   kv, name: "user", ttl: 60_000, memory: { max: 100 }, tags: (u) => [`user:${u.id}`],
 * });
 * assert((await user(1)).name === "user 1");
 * kv.namespace("memoize").deleteMany({ tag: "user:1" });
 * assert(user.peek(1) === undefined);
 * ```
 */
export function memoize<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: MemoizeOptions<A, Awaited<R>>,
): Memoized<A, R> {
  const what = "memoize";
  if (typeof fn !== "function") throw new TypeError(`Cannot ${what}: fn must be a function, received ${typeName(fn)}`);
  if (options === undefined) throw new TypeError(`Cannot ${what}: options with kv are required`);
  checkOptions(options, MEMOIZE_OPTIONS, what);
  const o = options as unknown as Record<string, unknown>;
  const kv = checkStore(o.kv, what);
  const name = (o.name ?? fn.name) as unknown;
  if (name === "" || name === undefined) {
    throw new TypeError(`Cannot ${what}: the function has no name; give options.name`);
  }
  checkString(name, "name", what);
  const namespace = o.namespace ?? "memoize";
  checkName(namespace, "namespace", what);
  checkFunction(o.key, "key", what);
  const keyFn = o.key as ((...args: A) => string) | undefined;
  // Entries are keyed `name:` + the key (the 64-character hash of the
  // arguments, or key()'s, at least 1 character): a name that leaves no room
  // for one is refused here, before a call runs fn and its result is lost.
  const room = MAX_KEY_BYTES - (keyFn === undefined ? 64 : 1) - 1;
  if (utf8Length(name) > room) {
    throw new RangeError(
      `Cannot ${what}: name must be at most ${room} UTF-8 bytes, so that "name:" and ${
        keyFn === undefined ? "the argument hash" : "a key"
      } fit in a key of ${MAX_KEY_BYTES} bytes; received ${utf8Length(name)} bytes`,
    );
  }
  let max = 0;
  if (o.memory !== undefined) {
    checkOptions(o.memory, ["max"], what);
    max = (o.memory as { max?: unknown }).max as number;
    if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`Cannot ${what}: memory.max must be a whole number >= 1, received ${typeName(max)}`);
    }
  }
  const store = kv.namespace(namespace);
  const engine = new Engine(store, o, isAsyncFunction(fn), max, what);
  const prefix = `${name}:`;

  const userKey = (args: A): string => {
    const k = keyFn!(...args);
    if (typeof k !== "string") {
      throw new TypeError(`Cannot ${what}: key() must return a string, received ${typeName(k)}`);
    }
    return k;
  };
  const fileKey = (args: A): string => prefix + (keyFn === undefined ? argumentsKey(args) : userKey(args));
  const compute = (args: A) => () => fn(...args);

  const memoized = ((...args: A): R => {
    if (engine.l1 === undefined) {
      return engine.run({ args, memoryKey: undefined, fileKey: fileKey(args), compute: compute(args) }) as R;
    }
    if (keyFn !== undefined) {
      const k = userKey(args);
      const hit = engine.fromMemory(k);
      if (hit !== undefined) return hit.value as R;
      return engine.run({ args, memoryKey: k, fileKey: prefix + k, compute: compute(args) }) as R;
    }
    const mk = memoryKey(args);
    const hit = engine.fromMemory(mk);
    if (hit !== undefined) return hit.value as R;
    return engine.run({ args, memoryKey: mk, fileKey: fileKey(args), compute: compute(args) }) as R;
  }) as Memoized<A, R>;
  memoized.invalidate = (...args) => store.delete(fileKey(args));
  memoized.clear = () => store.deleteMany({ prefix });
  memoized.peek = (...args) => engine.peek(fileKey(args)) as Awaited<R> | undefined;
  memoized.key = (...args) => fileKey(args);
  memoized.stats = () => ({ ...engine.stats });
  return memoized;
}

/**
 * Returns the value of `key` in `kv`, computing and storing it when it is
 * missing: the same machinery as {@link memoize} for one explicit key. A sync
 * `compute` gives the value, an async one a promise.
 *
 * @param kv The store (or a namespace of it).
 * @param key The key.
 * @param compute Computes the value on a miss.
 * @param options `ttl`, `when`, `tags`, `staleWhileRevalidate`, `lease`.
 * @returns The stored or computed value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv } from "@kvsqlite/kvsqlite";
 * import { getOrSet } from "@kvsqlite/kvsqlite/cache";
 * using kv = openKv();
 * assert(getOrSet(kv, "answer", () => 42, { ttl: 60_000 }) === 42);
 * assert(getOrSet(kv, "answer", () => 0) === 42);
 * ```
 */
export function getOrSet<R>(kv: Kv, key: string, compute: () => R, options?: CacheOptions<[], Awaited<R>>): R {
  const what = "get or set";
  const store = checkStore(kv, what);
  checkKey(key, what);
  if (typeof compute !== "function") {
    throw new TypeError(`Cannot ${what}: compute must be a function, received ${typeName(compute)}`);
  }
  checkOptions(options, CACHE_OPTIONS, what);
  const engine = new Engine(store, (options ?? {}) as Record<string, unknown>, isAsyncFunction(compute), 0, what);
  return engine.run({ args: [], memoryKey: undefined, fileKey: key, compute }) as R;
}
