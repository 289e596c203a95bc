/**
 * `kv.watch()`: the state of some keys (or of every key a query matches) now,
 * and again whenever it changes through any process on the file, expiry
 * included. Intermediate states may be coalesced; the last one is never
 * missed. A watch reads when it is asked for its next state and something may
 * have changed since it last answered: a watch nobody reads costs a flag per
 * change.
 *
 * @module
 */

import type { KvEntry } from "../shapes.ts";
import { decodeValue } from "../codec.ts";
import type { Connection } from "../connection.ts";
import type { SqlRow } from "../driver.ts";
import { checkOptions } from "../check.ts";
import { checkStoredKey } from "../keys.ts";
import * as listing from "../listing.ts";
import { compileQuery, type KeyQuery } from "../query.ts";
import type { Table } from "../table.ts";
import { detectorFor, type Subscriber } from "./detector.ts";

/** A watched key that is missing or expired, in a watch's state. */
export interface KvMissing {
  /** The key. */
  key: string;
  /** Always `undefined`. */
  value: undefined;
  /** Always `null`. */
  version: null;
}

/** What a watch of a query yields: the entries that are new or changed, and the keys gone, since the last state. */
export interface WatchChanges<T = unknown> {
  /** Entries that appeared or changed (all of them in the first state). */
  changed: KvEntry<T>[];
  /** Keys that were deleted or expired. */
  deleted: string[];
}

/** Options of `watch()`: none yet; an unknown option is a `TypeError`. */
export type WatchOptions = Record<string, never>;

/** A watch: an async iterator of states, which `return()` (or closing the store) ends. */
export interface KvWatch<T> extends AsyncIterableIterator<T> {
  /** The next state: at once for the first, then once something changes; `done` once the watch ended. */
  next(): Promise<IteratorResult<T, undefined>>;
  /** The same states as a `ReadableStream` (cancelling it ends the watch). */
  stream(): ReadableStream<T>;
  /** Ends the watch. */
  return(): Promise<IteratorResult<T, undefined>>;
}

/** What one watch reads and compares: the versions of what it yielded last. */
export interface Source<T> {
  /** Reads the state now; `undefined` when it is what was yielded last. Sets `expiry`. */
  read(first: boolean): T | undefined;
  /** Whether a write of this process to `table` (and `key`) may concern it. */
  concerns(table: string, key: string | undefined): boolean;
  /** The earliest expiry among the live entries read last, ms; `undefined` without one. */
  expiry: number | undefined;
}

/** The core of every watch, the async client's too: a source read on demand, woken by the file's detector. */
export class Watch<T> implements KvWatch<T>, Subscriber {
  readonly conn: Connection;
  readonly #source: Source<T>;
  readonly #table: string;
  #first: T | undefined;
  #dirty = false;
  #done = false;
  #wake: (() => void) | undefined;
  readonly #unsubscribe: () => void;
  readonly #end = () => this.#finish();

  constructor(conn: Connection, table: string, source: Source<T>) {
    this.conn = conn;
    this.#table = table;
    this.#source = source;
    this.#unsubscribe = detectorFor(conn).subscribe(this, conn.pollInterval);
    conn.closers.add(this.#end);
    this.#first = source.read(true);
  }

  changed(table: string | undefined, key: string | undefined): void {
    if (table === undefined || (table === this.#table && this.#source.concerns(table, key))) this.#touch();
  }

  tick(): void {
    const expiry = this.#source.expiry;
    if (expiry !== undefined && !this.conn.closed && this.conn.now() >= expiry) this.#touch();
  }

  #touch(): void {
    this.#dirty = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * The next state: at once when one is waiting, else once something
   * changes; `undefined` once the watch has ended.
   */
  async take(): Promise<T | undefined> {
    if (this.#first !== undefined) {
      const first = this.#first;
      this.#first = undefined;
      return first;
    }
    for (;;) {
      if (this.#done) return undefined;
      if (this.#dirty) {
        this.#dirty = false;
        const state = this.#source.read(false);
        if (state !== undefined) return state;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Whether `take()` may answer without waiting for a change (a state, or a change, or the end is there). */
  get ready(): boolean {
    return this.#first !== undefined || this.#dirty || this.#done;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    const state = await this.take();
    return state === undefined ? { done: true, value: undefined } : { done: false, value: state };
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#first = undefined;
    this.#unsubscribe();
    this.conn.closers.delete(this.#end);
    this.#touch();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  stream(): ReadableStream<T> {
    return streamOf(this);
  }
}

/** The states of a watch as a `ReadableStream`. */
export function streamOf<T>(watch: KvWatch<T>): ReadableStream<T> {
  return new ReadableStream<T>({
    async pull(controller) {
      const next = await watch.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await watch.return();
    },
  });
}

function entryOf<T>(row: SqlRow, conn: Connection): KvEntry<T> {
  return {
    key: row[0] as string,
    value: decodeValue(row[1], row[2], conn.codec) as T,
    expiresAt: row[3] === null ? null : Number(row[3]),
    version: Number(row[4]),
  };
}

/** The earliest expiry among entries. */
export function earliest(entries: Iterable<{ expiresAt: number | null }>): number | undefined {
  let min: number | undefined;
  for (const e of entries) if (e.expiresAt !== null && (min === undefined || e.expiresAt < min)) min = e.expiresAt;
  return min;
}

/** A watch of some keys: each state is one slot per key, an entry or a missing key. */
export function watchKeys<T>(
  conn: Connection,
  table: Table,
  keys: readonly string[],
): Watch<(KvEntry<T> | KvMissing)[]> {
  const watched = new Set(keys);
  const json = JSON.stringify(keys);
  let seen: Map<string, string> | undefined;
  const source: Source<(KvEntry<T> | KvMissing)[]> = {
    expiry: undefined,
    concerns: (_table, key) => key === undefined || watched.has(key),
    read(first) {
      const found = new Map<string, KvEntry<T>>();
      for (const row of table.readEntries.all([json, conn.now()])) found.set(row[0] as string, entryOf<T>(row, conn));
      source.expiry = earliest(found.values());
      const versions = new Map([...found].map(([k, e]) => [k, signature(e)]));
      if (!first && sameVersions(seen!, versions)) return undefined;
      seen = versions;
      return keys.map((key) => found.get(key) ?? { key, value: undefined, version: null });
    },
  };
  return new Watch(conn, table.name, source);
}

/** A watch of a query: the first state lists every matching entry, the next ones what changed. */
export function watchQuery<T>(conn: Connection, table: Table, query: KeyQuery): Watch<WatchChanges<T>> {
  let seen = new Map<string, string>();
  const source: Source<WatchChanges<T>> = {
    expiry: undefined,
    concerns: () => true,
    read(first) {
      const entries = [...listing.list<T>(conn, table, query, undefined, () => conn.check("watch keys"))];
      source.expiry = earliest(entries);
      const versions = new Map(entries.map((e) => [e.key, signature(e)]));
      const changed = first ? entries : entries.filter((e) => seen.get(e.key) !== versions.get(e.key));
      const deleted = [...seen.keys()].filter((k) => !versions.has(k));
      seen = versions;
      if (!first && changed.length === 0 && deleted.length === 0) return undefined;
      return { changed, deleted };
    },
  };
  return new Watch(conn, table.name, source);
}

/** What tells one state of an entry from another: every write changes its version, expire() and persist() its expiry. */
export function signature(entry: KvEntry<unknown>): string {
  return `${entry.version}:${entry.expiresAt}`;
}

/** Whether two reads saw the same entries in the same states. */
export function sameVersions(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** Checks what `watch()` was given: an array of keys, or a query; and its options. */
export function checkWatch(keysOrQuery: unknown, options: unknown): void {
  const what = "watch keys";
  checkOptions(options, [], what);
  if (Array.isArray(keysOrQuery)) {
    if (keysOrQuery.length === 0) throw new RangeError(`Cannot ${what}: keys must not be empty`);
    for (const key of keysOrQuery) checkStoredKey(key, what);
  } else compileQuery(keysOrQuery, what);
}
