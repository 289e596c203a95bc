/**
 * The machinery behind `memoize()` and `getOrSet()`: answering a call from
 * L1, the file or a computation; single flight in this process and, with a
 * lease, across processes; stale-while-revalidate; writing results with their
 * expiry and tags.
 *
 * @module
 */

import { checkFunction, typeName } from "../check.ts";
import { ttlToTime } from "../expiry.ts";
import { type Kv, kvInternals } from "../kv.ts";
import { sleep } from "../runtime.ts";
import { checkTags } from "../tags.ts";
import { MemoryCache } from "./lru.ts";

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
export interface Call {
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
export class Engine {
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
