/**
 * `kv.list()` of the Deno KV facade: a selector (`prefix`, `prefix` and
 * `start` or `end`, or `start` and `end`) as a range of encoded keys, Deno
 * KV's cursors (the base64url of the boundary key after the selector's common
 * prefix), and the iterator that reads the range in batches.
 *
 * @module
 */

import { compareBytes, concat, type KvKey, startsWith } from "./key.ts";
import { MAX_READ_ENTRIES, readKey } from "./limits.ts";
import { settle } from "../runtime.ts";
import type { KvEntry } from "./store.ts";

/** Which keys `list` returns. */
export type KvListSelector =
  | { prefix: KvKey }
  | { prefix: KvKey; start: KvKey }
  | { prefix: KvKey; end: KvKey }
  | { start: KvKey; end: KvKey };

/** Options of `list`. */
export interface KvListOptions {
  /** The most entries to return. */
  limit?: number;
  /** Where an earlier listing stopped (its iterator's `cursor`). */
  cursor?: string;
  /** Last key first. @default false */
  reverse?: boolean;
  /** Entries read per batch. @default limit ?? 100, at most 500 */
  batchSize?: number;
  /** Accepted for compatibility: every read of one file is strong. */
  consistency?: "strong" | "eventual";
}

/** A selector whose keys are encoded and checked. */
export interface Range {
  /** The selector's prefix, if any. */
  prefix: Uint8Array | undefined;
  start: Uint8Array | undefined;
  end: Uint8Array | undefined;
}

/** The selector's own keys, its shape checked (thrown by `list()` itself, as Deno KV does). */
export function selectorKeys(selector: unknown): { prefix?: KvKey; start?: KvKey; end?: KvKey } {
  if (typeof selector !== "object" || selector === null) {
    throw new TypeError("Selector must specify either 'prefix' or both 'start' and 'end' key");
  }
  const own = (name: string) =>
    Object.hasOwn(selector, name) ? (selector as Record<string, KvKey | undefined>)[name] : undefined;
  const prefix = own("prefix");
  const start = own("start");
  const end = own("end");
  if (prefix !== undefined) {
    if (start !== undefined && end !== undefined) {
      throw new TypeError("Selector can not specify both 'start' and 'end' key when specifying 'prefix'");
    }
  } else if (start === undefined || end === undefined) {
    throw new TypeError("Selector must specify either 'prefix' or both 'start' and 'end' key");
  }
  const copy = (key: KvKey | undefined) => key === undefined ? undefined : Object.freeze([...key]);
  return { prefix: copy(prefix), start: copy(start), end: copy(end) };
}

/** The encoded range of a selector; `TypeError` with Deno KV's messages when its keys disagree. */
export function rangeOf(selector: { prefix?: KvKey; start?: KvKey; end?: KvKey }): Range {
  const encode = (key: KvKey | undefined) => key === undefined ? undefined : readKey(key);
  const prefix = encode(selector.prefix);
  const start = encode(selector.start);
  const end = encode(selector.end);
  if (prefix !== undefined) {
    if (start !== undefined && (!startsWith(start, prefix) || start.length === prefix.length)) {
      throw new TypeError("Start key is not in the keyspace defined by prefix");
    }
    if (end !== undefined && (!startsWith(end, prefix) || end.length === prefix.length)) {
      throw new TypeError("End key is not in the keyspace defined by prefix");
    }
  } else if (compareBytes(start!, end!) > 0) {
    throw new TypeError("Start key is greater than end key");
  }
  return { prefix, start, end };
}

/** The first key of a range (inclusive). */
function firstKey(range: Range): Uint8Array {
  return range.start ?? concat(range.prefix!, [0x00]);
}

/** The end of a range (exclusive). */
function lastKey(range: Range): Uint8Array {
  return range.end ?? concat(range.prefix!, [0xff]);
}

/** The bytes every key of the range starts with, which a cursor leaves out. */
function commonPrefix(range: Range): Uint8Array {
  if (range.prefix !== undefined) return range.prefix;
  const a = range.start!;
  const b = range.end!;
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return a.subarray(0, n);
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_");
}

function unbase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text) || (text.includes("=") && text.length % 4 !== 0)) {
    throw new TypeError("invalid cursor");
  }
  let binary: string;
  try {
    binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw new TypeError("invalid cursor");
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The cursor after the entry whose key is `key` (Deno KV's format). */
export function cursorOf(range: Range, key: Uint8Array): string {
  return base64url(key.subarray(commonPrefix(range).length));
}

/** The bounds `[from, to)` a listing reads, after `cursor` when one is given. */
export function boundsOf(range: Range, cursor: string | undefined, reverse: boolean): [Uint8Array, Uint8Array] {
  if (cursor === undefined || cursor === "") return [firstKey(range), lastKey(range)];
  const common = commonPrefix(range);
  const after = unbase64url(cursor);
  const from = reverse ? firstKey(range) : concat(common, after, [0x00]);
  const to = reverse ? concat(common, after) : lastKey(range);
  const outside = () => new TypeError("cursor out of bounds");
  if (range.start !== undefined) {
    if (compareBytes(from, range.start) < 0) throw outside();
  } else if (!startsWith(from, range.prefix!)) throw outside();
  if (range.end !== undefined) {
    if (compareBytes(to, range.end) > 0) throw outside();
  } else if (!startsWith(to, range.prefix!)) throw outside();
  return [from, to];
}

/** Checks `limit` and `batchSize` (Deno KV's rules); returns the batch size. */
export function checkListOptions(options: KvListOptions): number {
  if (typeof options !== "object" || options === null) throw new TypeError("List options must be an object");
  const { limit, batchSize } = options;
  if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) {
    throw new Error(`Limit must be a positive integer: received ${limit}`);
  }
  let size = batchSize ?? limit ?? 100;
  if (!Number.isInteger(size) || size <= 0) throw new Error(`batchSize must be a positive integer: received ${size}`);
  if (batchSize === undefined && size > 500) size = 500;
  if (size > MAX_READ_ENTRIES) throw new TypeError(`Too many entries (max ${MAX_READ_ENTRIES})`);
  return size;
}

/** Reads one batch: at most `n` entries of `[from, to)`, with each one's key bytes. */
export type ReadBatch = (
  from: Uint8Array,
  to: Uint8Array,
  n: number,
  reverse: boolean,
) => [Uint8Array, KvEntry][];

// %AsyncIteratorPrototype%, which Deno's iterator extends too (for async iterator helpers).
const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);

/** The entries of a selector, read in batches; `cursor` tells where it stopped. */
export class KvListIterator<T = unknown> implements AsyncIterableIterator<KvEntry<T>> {
  readonly #selector: { prefix?: KvKey; start?: KvKey; end?: KvKey };
  readonly #read: ReadBatch;
  readonly #limit: number | undefined;
  readonly #reverse: boolean;
  readonly #batchSize: number;
  #range: Range | undefined;
  /** The cursor given, until an entry is read. */
  #cursor: string | undefined;
  /** The key of the last entry read (its cursor is made only when asked for). */
  #lastKey: Uint8Array | undefined;
  #buffer: [Uint8Array, KvEntry][] = [];
  #last = false;
  #done = false;
  #count = 0;

  /** Not for direct use: obtain one from `kv.list()`. */
  constructor(selector: unknown, options: KvListOptions, read: ReadBatch) {
    this.#selector = selectorKeys(selector);
    this.#batchSize = checkListOptions(options);
    this.#limit = options.limit;
    this.#reverse = options.reverse ?? false;
    this.#cursor = options.cursor || undefined;
    this.#read = read;
  }

  /** Where the listing stopped: pass it as `cursor` to go on; `""` once it is done. */
  get cursor(): string {
    if (this.#lastKey !== undefined) return cursorOf(this.#range!, this.#lastKey);
    if (this.#cursor === undefined) throw new Error("Cannot get cursor before first iteration");
    return this.#cursor;
  }

  /** The next entry. */
  next(): Promise<IteratorResult<KvEntry<T>, undefined>> {
    return settle(() => this.#next());
  }

  #next(): IteratorResult<KvEntry<T>, undefined> {
    if (this.#done || (this.#limit !== undefined && this.#count >= this.#limit)) {
      return { done: true, value: undefined };
    }
    const range = this.#range ??= rangeOf(this.#selector);
    if (this.#buffer.length === 0 && !this.#last) {
      const cursor = this.#lastKey !== undefined ? cursorOf(range, this.#lastKey) : this.#cursor;
      const [from, to] = boundsOf(range, cursor, this.#reverse);
      const batch = compareBytes(from, to) < 0 ? this.#read(from, to, this.#batchSize, this.#reverse) : [];
      if (batch.length < this.#batchSize) this.#last = true;
      this.#buffer = batch.reverse();
    }
    const next = this.#buffer.pop();
    if (next === undefined) {
      this.#done = true;
      this.#lastKey = undefined;
      this.#cursor = "";
      return { done: true, value: undefined };
    }
    this.#lastKey = next[0];
    this.#count++;
    return { done: false, value: next[1] as KvEntry<T> };
  }

  /** Ends the listing. */
  return(): Promise<IteratorResult<KvEntry<T>, undefined>> {
    this.#done = true;
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The iterator itself (`for await` takes it). */
  [Symbol.asyncIterator](): this {
    return this;
  }
}
Object.setPrototypeOf(KvListIterator.prototype, AsyncIteratorPrototype);
