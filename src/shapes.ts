/**
 * The small types every room of the surface shares: whether a store's calls
 * return results or promises (`Mode`, `Ret`, `Iter`), and the entry record a
 * read returns. They stand apart so that the rooms below `api.ts` can use them
 * without an import running back up.
 *
 * @module
 */

/** Whether a store's calls return their results (`"sync"`) or promises of them (`"async"`). */
export type Mode = "sync" | "async";

/** What a call of a store in mode `M` returns for a result `T`: `T` itself, or a promise of it. */
export type Ret<M extends Mode, T> = M extends "sync" ? T : Promise<T>;

/** What `list()` returns in mode `M`: an iterator, or an async iterator fetching pages. */
export type Iter<M extends Mode, T> = M extends "sync" ? IterableIterator<T> : AsyncIterableIterator<T>;

/** One stored entry, as `getEntry` and `list` return it. */
export interface KvEntry<T = unknown> {
  /** The key. */
  key: string;
  /** The decoded value. */
  value: T;
  /** Absolute expiry in ms since the epoch, or `null` when the key never expires. */
  expiresAt: number | null;
  /** Changes on every write of the key; pass it to `set(..., { ifVersion })`. */
  version: number;
}
