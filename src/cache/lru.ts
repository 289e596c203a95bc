/**
 * The memoizer's L1: a bounded in-process LRU in front of the file that never
 * serves a value changed since it was cached. Writes through any connection of
 * this process reach it through the file's change feed at once; writes of
 * other processes through `PRAGMA data_version`, read at most once per
 * event-loop task (it costs as much as a `get` on node:sqlite, so reading it on
 * every hit would make L1 pointless).
 *
 * @module
 */

import type { Connection } from "../connection.ts";
import type { ChangeListener } from "../feed.ts";
import { later } from "../runtime.ts";

/** What L1 holds for one memoized call. */
export interface L1Entry {
  /** The entry's key in the store, for invalidation by the feed. */
  fileKey: string;
  value: unknown;
  /** The entry's expiry in the store (stale window included), ms; `null`: never. */
  expiresAt: number | null;
}

/** Tells, once per event-loop task, whether another process wrote the file. */
class VersionWatch {
  #checked = false;
  #version: unknown;
  readonly #conn: Connection;

  constructor(conn: Connection) {
    this.#conn = conn;
    this.#version = this.#read();
  }

  #read(): unknown {
    return this.#conn.prepare("PRAGMA data_version").get([])![0];
  }

  /** Reads `data_version` on the first call of a task; true when it moved. */
  check(): void {
    if (this.#checked) return;
    this.#checked = true;
    later(() => (this.#checked = false));
    const version = this.#read();
    if (version !== this.#version) {
      this.#version = version;
      // Every L1 over this file may hold what the other process replaced.
      this.#conn.feed.notify(undefined);
    }
  }
}

const watches = new WeakMap<Connection, VersionWatch>();

/** A bounded LRU of memoized results over one table of one connection. */
export class MemoryCache {
  readonly #max: number;
  readonly #table: string;
  readonly #conn: Connection;
  readonly #watch: VersionWatch;
  readonly #map = new Map<unknown, L1Entry>();
  readonly #byFile = new Map<string, unknown>();

  /**
   * @param conn The store's connection.
   * @param table The table the entries live in.
   * @param max How many entries at most.
   */
  constructor(conn: Connection, table: string, max: number) {
    this.#conn = conn;
    this.#table = table;
    this.#max = max;
    let watch = watches.get(conn);
    if (watch === undefined) watches.set(conn, watch = new VersionWatch(conn));
    this.#watch = watch;
    // The feed holds the cache weakly: a memoized function that is dropped
    // takes its L1 with it, and its listener leaves at the next change.
    const ref = new WeakRef(this);
    const listener: ChangeListener = (table, key) => {
      const self = ref.deref();
      if (self === undefined) return void conn.feed.listeners.delete(listener);
      if (table !== undefined && table !== self.#table) return;
      if (key === undefined) self.clear();
      else self.#dropFile(key);
    };
    conn.feed.listeners.add(listener);
  }

  /** The live entry for `key`, made most recent; `undefined` when absent, expired or possibly stale. */
  get(key: unknown): L1Entry | undefined {
    this.#watch.check();
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= this.#conn.now()) {
      this.#drop(key, entry);
      return undefined;
    }
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry;
  }

  /** Stores an entry, evicting the least recently used beyond `max`. */
  set(key: unknown, entry: L1Entry): void {
    const old = this.#map.get(key);
    if (old !== undefined) this.#drop(key, old);
    const other = this.#byFile.get(entry.fileKey);
    if (other !== undefined) this.#drop(other, this.#map.get(other)!);
    this.#map.set(key, entry);
    this.#byFile.set(entry.fileKey, key);
    if (this.#map.size > this.#max) {
      const [oldest, e] = this.#map.entries().next().value!;
      this.#drop(oldest, e);
    }
  }

  #drop(key: unknown, entry: L1Entry): void {
    this.#map.delete(key);
    this.#byFile.delete(entry.fileKey);
  }

  #dropFile(fileKey: string): void {
    const key = this.#byFile.get(fileKey);
    if (key !== undefined) this.#drop(key, this.#map.get(key)!);
  }

  /** Drops everything. */
  clear(): void {
    this.#map.clear();
    this.#byFile.clear();
  }

  /** How many entries it holds. */
  get size(): number {
    return this.#map.size;
  }
}
