/**
 * The change feed of one database file in this process: every write through
 * any connection of the file announces the key (or the whole table) it
 * touched, so that an in-process cache in front of the file (the memoizer's
 * L1) never serves a value that has since changed.
 *
 * @module
 */

import { resolve } from "node:path";

/** Told of a change: a table and a key, or a table whose keys all may have changed (`key` undefined), or everything (`table` undefined). */
export type ChangeListener = (table: string | undefined, key: string | undefined) => void;

/** A connection holding an open batch of writes (`durability: "batched"`). */
export interface OpenBatch {
  /** Commits the batch now, so that another connection of this process can write. */
  commitForOther(): void;
}

/** The listeners of one file, and the connections of this process holding a batch open on it. */
export class ChangeFeed {
  readonly listeners: Set<ChangeListener> = new Set();
  /**
   * A second connection of this thread would wait for such a batch's write lock
   * while the batch waits for the event loop to turn: a write commits them first.
   */
  readonly batches: Set<OpenBatch> = new Set();

  /** Commits every open batch on the file but `self`'s. */
  yieldBatches(self: OpenBatch | undefined): void {
    for (const batch of this.batches) if (batch !== self) batch.commitForOther();
  }

  /** Tells every listener; a no-op when nobody listens (the write path's case). */
  notify(table: string | undefined, key?: string): void {
    for (const listener of this.listeners) listener(table, key);
  }
}

const feeds = new Map<string, WeakRef<ChangeFeed>>();

/**
 * The feed of the file at `path`, shared by every connection of this process
 * to that file. A store in memory is a file of its own.
 */
export function feedFor(path: string): ChangeFeed {
  if (path === ":memory:" || path.startsWith("file::memory:")) return new ChangeFeed();
  const file = resolve(path.startsWith("file:") ? path.slice(5).replace(/\?.*$/, "") : path);
  let feed = feeds.get(file)?.deref();
  if (feed === undefined) {
    feed = new ChangeFeed();
    feeds.set(file, new WeakRef(feed));
  }
  return feed;
}
