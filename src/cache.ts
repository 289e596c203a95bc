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

import { canonicalJson } from "./codec.ts";
import { KvCodecError } from "./errors.ts";
import { ttlToTime } from "./expiry.ts";
import { checkName } from "./names.ts";
import { checkFunction, checkOptions, typeName } from "./check.ts";
import { Kv, kvInternals } from "./kv.ts";
import { MemoryCache } from "./lru.ts";
import { checkTags } from "./tags.ts";
import { builtin, isAsyncFunction, sleep } from "./runtime.ts";

/** Counters of one memoized function. */
export interface MemoStats {
  /** Calls answered with a fresh entry, from memory or the file. */
  hits: number;
  /** Of the hits, those answered from memory (L1). */
  memoryHits: number;
  /** Calls that found no entry. */
  misses: number;
  /** Calls answered with a stale entry while one refresh ran. */
  stale: number;
  /** Times the function ran. */
  computes: number;
  /** Times it threw or rejected (refreshes included). */
  errors: number;
  /** Calls that waited for another call's computation (in this process, or another one's lease). */
  waits: number;
}

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

/** The version of the argument encoding, hashed with it (FORMAT.md, "Memoize keys"). */
export const MEMO_KEY_VERSION = 1;

type NodeCrypto = { hash(algorithm: string, data: string, encoding: "hex"): string };
let nodeCrypto: NodeCrypto | undefined;

/** SHA-256, hex, of the canonical encoding of `args`; `TypeError` for an argument it cannot encode. */
export function argumentsKey(args: readonly unknown[]): string {
  let text: string;
  try {
    text = `${MEMO_KEY_VERSION}\n${canonicalArguments(args)}`;
  } catch (error) {
    if (!(error instanceof KvCodecError)) throw error;
    throw new TypeError(`Cannot derive the cache key: ${error.message.replace(/^Cannot encode value: /, "")}`);
  }
  nodeCrypto ??= builtin<NodeCrypto>("node:crypto")!;
  return nodeCrypto.hash("sha256", text, "hex");
}

/**
 * {@link canonicalJson} of the argument array; strings, finite numbers other
 * than -0, booleans and null stand for themselves in tagged JSON, so a list of
 * only those is written directly, the same text without building the tree.
 */
function canonicalArguments(args: readonly unknown[]): string {
  let text = '["a"';
  for (const a of args) {
    const type = typeof a;
    if (
      type === "string" || type === "boolean" || a === null ||
      (type === "number" && Number.isFinite(a) && !Object.is(a, -0))
    ) {
      text += "," + JSON.stringify(a);
    } else {
      return canonicalJson(args);
    }
  }
  return text + "]";
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}

function checkMs(value: unknown, field: string, what: string): number {
  if (value === undefined) return 0;
  if (typeof value !== "number") {
    throw new TypeError(`Cannot ${what}: ${field} must be a number of ms, received ${typeName(value)}`);
  }
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Cannot ${what}: ${field} must be a finite number > 0, received ${value}`);
  }
  return value;
}

// Computations under way, per store: calls for the same key share one.
const inflight = new WeakMap<Kv, Map<string, Promise<unknown>>>();

/** One call to answer. */
interface Call {
  args: readonly unknown[];
  /** Its L1 key (unused without L1). */
  memoryKey: unknown;
  /** Its key in the store; derived (hashed) only when L1 cannot answer. */
  fileKey: string;
  compute: () => unknown;
}

/** What a computation gave: a value at once, or a promise shared until it settles. */
type Computed = { value: unknown; promise?: undefined } | { promise: Promise<unknown> };

type When = (result: unknown, ...args: unknown[]) => boolean;
type Tags = readonly string[] | ((result: unknown, ...args: unknown[]) => readonly string[]);

/** The machinery shared by memoize and getOrSet: one store, one set of entry options. */
class Engine {
  readonly stats: MemoStats = { hits: 0, memoryHits: 0, misses: 0, stale: 0, computes: 0, errors: 0, waits: 0 };
  readonly #store: Kv;
  readonly #ttl: number;
  readonly #swr: number;
  readonly #lease: number;
  readonly #when: When | undefined;
  readonly #tags: Tags | undefined;
  readonly #inflight: Map<string, Promise<unknown>>;
  readonly l1: MemoryCache | undefined;
  readonly #now: () => number;
  async: boolean;

  constructor(store: Kv, o: Record<string, unknown>, isAsync: boolean, memory: number, what: string) {
    this.#store = store;
    const { conn, table } = kvInternals(store);
    this.#now = conn.now;
    this.async = isAsync;
    this.#ttl = checkMs(o.ttl, "ttl", what);
    this.#swr = checkMs(o.staleWhileRevalidate, "staleWhileRevalidate", what);
    this.#lease = checkMs(o.lease, "lease", what);
    checkFunction(o.when, "when", what);
    this.#when = o.when as When | undefined;
    if (typeof o.tags !== "function") checkTags(o.tags, what);
    this.#tags = o.tags as Tags | undefined;
    for (const [field, ms] of [["staleWhileRevalidate", this.#swr], ["lease", this.#lease]] as const) {
      if (ms > 0 && !isAsync) {
        throw new TypeError(`Cannot ${what}: ${field} needs an async function (one declared async)`);
      }
    }
    if (this.#swr > 0 && this.#ttl === 0) {
      throw new TypeError(`Cannot ${what}: staleWhileRevalidate is the time after ttl, so it needs a ttl`);
    }
    let map = inflight.get(store);
    if (map === undefined) inflight.set(store, map = new Map());
    this.#inflight = map;
    if (memory > 0) this.l1 = new MemoryCache(conn, table, memory);
  }

  /** Whether an entry that expires at `expiresAt` (stale window included) is still fresh. */
  #fresh(expiresAt: number | null): boolean {
    // Without a stale window, a live entry is a fresh one: no clock reading.
    return expiresAt === null || (this.#swr === 0 ? true : expiresAt - this.#swr > this.#now());
  }

  #answer(value: unknown): unknown {
    return this.async ? Promise.resolve(value) : value;
  }

  /** Answers from L1 when it holds a fresh entry for `memoryKey`. */
  fromMemory(memoryKey: unknown): { value: unknown } | undefined {
    const hit = this.l1!.get(memoryKey);
    if (hit === undefined || !this.#fresh(hit.expiresAt)) return undefined;
    this.stats.hits++;
    this.stats.memoryHits++;
    return { value: this.#answer(hit.value) };
  }

  /** Answers a call from the file or a computation. */
  run(call: Call): unknown {
    const entry = this.#store.getEntry(call.fileKey);
    if (entry !== undefined) {
      this.l1?.set(call.memoryKey, { fileKey: call.fileKey, value: entry.value, expiresAt: entry.expiresAt });
      if (this.#fresh(entry.expiresAt)) {
        this.stats.hits++;
        return this.#answer(entry.value);
      }
      this.stats.stale++;
      if (!this.#inflight.has(call.fileKey)) {
        // A failed refresh keeps the stale entry; the error is counted, not thrown.
        this.#compute(call).promise?.then(undefined, () => {});
      }
      return this.#answer(entry.value);
    }
    this.stats.misses++;
    const pending = this.#inflight.get(call.fileKey);
    if (pending !== undefined) {
      this.stats.waits++;
      return pending;
    }
    if (this.#lease > 0) return this.#track(call.fileKey, this.#leased(call));
    const computed = this.#compute(call);
    return computed.promise ?? computed.value;
  }

  /** Runs the function once and stores what it gives; an async result is shared with concurrent calls. */
  #compute(call: Call): Computed {
    this.stats.computes++;
    let result: unknown;
    try {
      result = call.compute();
    } catch (error) {
      this.stats.errors++;
      throw error;
    }
    if (!isThenable(result)) {
      this.#save(call, result);
      return { value: result };
    }
    this.async = true;
    const promise = Promise.resolve(result).then(
      (value) => {
        this.#save(call, value);
        return value;
      },
      (error) => {
        this.stats.errors++;
        throw error;
      },
    );
    return { promise: this.#track(call.fileKey, promise) };
  }

  #track(fileKey: string, promise: Promise<unknown>): Promise<unknown> {
    const shared = promise.finally(() => {
      if (this.#inflight.get(fileKey) === shared) this.#inflight.delete(fileKey);
    });
    this.#inflight.set(fileKey, shared);
    return shared;
  }

  /** Writes a computed result (unless `when` refuses it) and puts it in L1. */
  #save(call: Call, value: unknown): void {
    if (this.#when !== undefined && !this.#when(value, ...call.args)) return;
    const tags = typeof this.#tags === "function" ? this.#tags(value, ...call.args) : this.#tags;
    const options: { ttl?: number; tags?: readonly string[] } = {};
    if (this.#ttl > 0) options.ttl = this.#ttl + this.#swr;
    if (tags !== undefined) options.tags = tags;
    this.#store.set(call.fileKey, value, options);
    const expiresAt = this.#ttl > 0 ? ttlToTime(this.#ttl + this.#swr, this.#now(), "cache result") : null;
    this.l1?.set(call.memoryKey, { fileKey: call.fileKey, value, expiresAt });
  }

  /**
   * Cross-process single flight: the process that takes the lease computes;
   * the others poll the file with backoff for its result, and take over when
   * the lease lapses or is released without one.
   */
  async #leased(call: Call): Promise<unknown> {
    const leases = this.#store.namespace("lease");
    const token = globalThis.crypto.randomUUID();
    let waited = false;
    for (;;) {
      if (leases.set(call.fileKey, token, { ifAbsent: true, ttl: this.#lease })) {
        try {
          const computed = this.#compute(call);
          return computed.promise === undefined ? computed.value : await computed.promise;
        } finally {
          leases.transaction((tx) => {
            if (tx.get(call.fileKey) === token) tx.delete(call.fileKey);
          });
        }
      }
      if (!waited) {
        waited = true;
        this.stats.waits++;
      }
      for (let delay = 2; leases.has(call.fileKey); delay = Math.min(delay * 2, 50)) {
        await sleep(delay);
        const entry = this.#store.getEntry(call.fileKey);
        if (entry !== undefined) {
          this.l1?.set(call.memoryKey, { fileKey: call.fileKey, value: entry.value, expiresAt: entry.expiresAt });
          return entry.value;
        }
      }
    }
  }

  /** The stored result (stale included), computing nothing. */
  peek(fileKey: string): unknown {
    return this.#store.getEntry(fileKey)?.value;
  }
}

function checkStore(kv: unknown, what: string): Kv {
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
  if (typeof name !== "string") {
    throw new TypeError(`Cannot ${what}: name must be a string, received ${typeName(name)}`);
  }
  const namespace = o.namespace ?? "memoize";
  checkName(namespace, "namespace", what);
  checkFunction(o.key, "key", what);
  const keyFn = o.key as ((...args: A) => string) | undefined;
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
  // L1 is keyed without hashing: a lone primitive argument by itself (a Map
  // tells 1, "1", 1n and true apart), anything else by its canonical text.
  const memoryKey = (args: A): unknown => {
    if (args.length === 1) {
      const a = args[0];
      const type = typeof a;
      if (
        type === "number" ? !Object.is(a, -0) : type === "boolean" || type === "bigint" || a === null || a === undefined
      ) {
        return a;
      }
      if (type === "string" && (a as string).charCodeAt(0) !== 0) return a;
    }
    return `\0${canonicalJson(args)}`;
  };
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
  if (typeof compute !== "function") {
    throw new TypeError(`Cannot ${what}: compute must be a function, received ${typeName(compute)}`);
  }
  checkOptions(options, CACHE_OPTIONS, what);
  const engine = new Engine(store, (options ?? {}) as Record<string, unknown>, isAsyncFunction(compute), 0, what);
  return engine.run({ args: [], memoryKey: undefined, fileKey: key, compute }) as R;
}
