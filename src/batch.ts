/**
 * Batched commits (`durability: "batched"`): the first write opens one
 * transaction, which commits at the end of the event-loop task (or after
 * `commitInterval` ms), on `flush()` and on `close()`. A commit that fails
 * rolls the batch back and is never silent: the hook is told, and the next
 * write or `flush()` throws it.
 *
 * @module
 */

import { KvError } from "./errors.ts";
import type { ChangeFeed, OpenBatch } from "./feed.ts";

/** What a batch needs of its connection. */
export interface BatchHost {
  readonly feed: ChangeFeed;
  readonly closed: boolean;
  /** The depth of `transaction(fn)` calls running now. */
  readonly depth: number;
  readonly counters: { commits: number };
  exec(sql: string): void;
  /** Rolls the whole transaction back, whatever state SQLite left it in. */
  rollback(level: 0): void;
}

/** The open-or-not batch of one connection. */
export class Batch implements OpenBatch {
  readonly #host: BatchHost;
  readonly #commitInterval: number | undefined;
  readonly #onCommitError: ((error: KvError) => void) | undefined;
  /** A batch transaction is open. */
  #open = false;
  /** When the open batch began (performance.now() ms). */
  #openedAt = 0;
  #commitTimer: ReturnType<typeof setTimeout> | undefined;
  #commitImmediate: ReturnType<typeof setImmediate> | undefined;
  /** A batch that failed in the background, thrown by the next flush() or write. */
  #lost: KvError | undefined;
  /** Write calls in the open batch. */
  #calls = 0;
  /** Told after an open batch ended, committed or rolled back (the async client's worker keeps its caller's process alive until then). */
  onEnd: (() => void) | undefined;

  constructor(host: BatchHost, commitInterval: number | undefined, onCommitError: ((e: KvError) => void) | undefined) {
    this.#host = host;
    this.#commitInterval = commitInterval;
    this.#onCommitError = onCommitError;
  }

  /** Whether a batch of writes is open, not yet committed. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Throws the failure of a batch lost since the last call, once. */
  throwLost(): void {
    const lost = this.#lost;
    if (lost !== undefined) {
      this.#lost = undefined;
      throw lost;
    }
  }

  /** Counts a write call that joined the open batch (whose loss would then be said). */
  count(): void {
    if (this.#open) this.#calls++;
  }

  /** Opens the batch for a write, unless one is open or a transaction(fn) runs. */
  begin(): void {
    if (this.#open || this.#host.depth > 0) return;
    this.#host.exec("BEGIN IMMEDIATE");
    this.#open = true;
    this.#openedAt = performance.now();
    this.#calls = 0;
    this.#host.feed.batches.add(this);
    const commit = () => this.#commit(false);
    // Kept referenced: a process must not end with a batch it has not committed.
    // The end of the task is setImmediate's turn (setTimeout(0) waits 1 ms on Node).
    if (this.#commitInterval !== undefined) this.#commitTimer = setTimeout(commit, this.#commitInterval);
    else this.#commitImmediate = setImmediate(commit);
  }

  /** Commits this batch for another connection of the thread that must write. */
  commitForOther(): void {
    if (this.#host.depth === 0) this.#commit(false);
  }

  /**
   * Commits the open batch if it is due: at once, or with `commitInterval`
   * once it is that old. A failure is kept for the next call, as at the end
   * of a task.
   */
  commitDue(): void {
    if (!this.#open || this.#host.depth > 0) return;
    if (this.#commitInterval !== undefined && performance.now() - this.#openedAt < this.#commitInterval) return;
    this.#commit(false);
  }

  /** Commits the open batch now; throws the error of a batch that failed. A no-op when nothing is pending. */
  flush(): void {
    this.throwLost();
    if (this.#open && this.#host.depth === 0) this.#commit(true);
  }

  /** Forgets the open batch: its flag, its place among the file's batches, its commit timer. */
  #end(): void {
    this.#open = false;
    this.#host.feed.batches.delete(this);
    clearTimeout(this.#commitTimer);
    clearImmediate(this.#commitImmediate);
    this.#commitTimer = undefined;
  }

  /** Commits the open batch. A failure rolls it back, is told to onCommitError, and is thrown or kept for later. */
  #commit(throwNow: boolean): void {
    const host = this.#host;
    if (!this.#open || host.closed) return;
    if (host.depth > 0) {
      // A transaction(fn) is running (a commitInterval timer met it): later.
      clearTimeout(this.#commitTimer);
      this.#commitTimer = setTimeout(() => this.#commit(false), 0);
      return;
    }
    this.#end();
    try {
      host.exec("COMMIT");
      host.counters.commits++;
    } catch (error) {
      host.rollback(0);
      this.#fail(error as KvError, throwNow);
    } finally {
      this.onEnd?.();
    }
  }

  #fail(error: KvError, throwNow: boolean): void {
    try {
      this.#onCommitError?.(error);
    } catch {
      // The hook's own failure must not hide the commit's.
    }
    if (throwNow) throw error;
    this.#lost = error;
  }

  /**
   * SQLite gave up the whole batch with a statement that failed with
   * `error`: the batch is rolled back; the failing call throws `error`, and
   * when earlier calls had written into the batch, their loss is said too.
   */
  abandon(error: KvError): void {
    if (!this.#open) return;
    this.#end();
    this.#host.rollback(0);
    this.onEnd?.();
    if (this.#calls > 1) {
      this.#fail(
        new KvError(`The batch of writes was rolled back: ${error.message}`, { cause: error }, error.code),
        false,
      );
    }
  }
}
