/**
 * The async client's `watch()`: a watch in the worker, read one state at a
 * time by a call that waits there for the next change. While it waits for a
 * change it does not keep the process alive (the worker says it is parked);
 * an answer on its way does.
 *
 * @module
 */

import { KvClosedError } from "../errors.ts";
import { streamOf } from "../watch/watch.ts";
import type { KvWatch } from "../watch/watch.ts";

/** How a watch calls its worker. */
export type WatchCall = (op: string, args: unknown[]) => Promise<unknown>;

/** A watch whose states come from the worker; the first call starts it there. */
export class AsyncWatch<T> implements KvWatch<T> {
  readonly #call: WatchCall;
  readonly #id: number;
  readonly #started: Promise<unknown>;
  #done = false;

  /**
   * Not for direct use: obtain a watch from `kv.watch()`.
   *
   * @param call Calls the worker.
   * @param id The watch's number in the worker.
   * @param target What is watched (keys or a query, checked already).
   */
  constructor(call: WatchCall, id: number, target: unknown) {
    this.#call = call;
    this.#id = id;
    this.#started = call("watch", [id, target]);
    // A failure to start is the first next()'s.
    this.#started.catch(() => {});
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    let state: unknown;
    try {
      await this.#started;
      if (this.#done) return { done: true, value: undefined };
      state = await this.#call("watchNext", [this.#id]);
    } catch (error) {
      // Closing the store ends a watch, as on the synchronous store.
      if (!(error instanceof KvClosedError)) throw error;
      state = null;
    }
    if (state === null) {
      this.#done = true;
      return { done: true, value: undefined };
    }
    return { done: false, value: state as T };
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    if (!this.#done) {
      this.#done = true;
      await this.#started.then(() => this.#call("unwatch", [this.#id])).catch(() => {});
    }
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  stream(): ReadableStream<T> {
    return streamOf(this);
  }
}
