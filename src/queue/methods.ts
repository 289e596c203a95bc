/**
 * The surface of a queue (`kv.queue(name)`), declared once for both modes:
 * the synchronous store's `KvQueue` and the async client's `KvQueueAsync`
 * implement it.
 *
 * @module
 */

import type { Mode, Ret } from "../shapes.ts";
import type { ClaimOptions, EnqueueOptions, ListenOptions, NackOptions, QueueHandler, QueueMessage } from "./queue.ts";

/**
 * Every method of a queue (`kv.queue(name)`), for both modes: the
 * synchronous store's `KvQueue` returns results, the async client's promises
 * of them. `listen` returns a promise in both.
 *
 * @typeParam M `"sync"` or `"async"`.
 * @typeParam T The messages' values.
 */
export interface QueueMethods<M extends Mode, T = unknown> {
  /**
   * Adds a message, committed with the write it belongs to (inside
   * `transaction(fn)` it is delivered only if the transaction commits).
   *
   * @param value Any value the codec can encode.
   * @param options `delay` (ms), `backoff` (ms before each retry, at most 5 steps of at most 1 h),
   *   `deadLetterKeys` (keys the value is written to when every retry failed).
   * @returns The message's id.
   * @throws {TypeError | RangeError} For bad options (nothing is enqueued).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const jobs = kv.queue("jobs");
   * jobs.enqueue("later", { delay: 60_000, backoff: [1000, 5000], deadLetterKeys: ["failed:later"] });
   * assert.equal(jobs.size(), 1);
   * assert.equal(jobs.claim(), undefined); // not due yet
   * ```
   */
  enqueue(value: T, options?: EnqueueOptions): Ret<M, number>;

  /**
   * Runs `handler` on every message as it comes due, from any process: at
   * least once. A handler that throws or rejects is retried after its
   * message's backoff; once the schedule is spent the message goes to the
   * dead-letter list and its `deadLetterKeys`. A message whose listener died
   * is delivered again when its lease lapses (the lease is renewed while the
   * handler runs). Messages due at the same time come in enqueue order.
   *
   * @param handler Receives the value and the message (`id`, `attempts`, `enqueuedAt`).
   * @param options `concurrency` (default 1), `lease` (ms, default 30,000), `signal` to stop this listener.
   * @returns Resolves once the listener stopped (its signal aborted, or the store closed) and its running handlers settled.
   * @throws {TypeError | RangeError} At once, for a handler that is not a function or bad options.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const jobs = kv.queue<number>("jobs");
   * jobs.enqueue(21);
   * const stop = new AbortController();
   * let doubled = 0;
   * await jobs.listen((n) => {
   *   doubled = n * 2;
   *   stop.abort();
   * }, { signal: stop.signal });
   * assert.equal(doubled, 42);
   * ```
   */
  listen(handler: QueueHandler<T>, options?: ListenOptions): Promise<void>;

  /**
   * Claims the next due message for `lease` ms: nobody else gets it until
   * then. Acknowledge it with `ack`, or give it back with `nack`.
   *
   * @param options `lease` (ms). @default { lease: 30000 }
   * @returns The message, or `undefined` when none is due.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const q = kv.queue();
   * q.enqueue("a");
   * assert.equal(q.claim({ lease: 5000 })?.value, "a");
   * assert.equal(q.claim(), undefined); // held
   * ```
   */
  claim(options?: ClaimOptions): Ret<M, QueueMessage<T> | undefined>;

  /**
   * Acknowledges (deletes) a message this queue object claimed.
   *
   * @param id The message's id.
   * @returns `false` when this claimer no longer holds it (its lease lapsed and another took it, or it is gone).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const q = kv.queue();
   * const id = q.enqueue("a");
   * q.claim();
   * assert.equal(q.ack(id), true);
   * assert.equal(q.ack(id), false);
   * ```
   */
  ack(id: number): Ret<M, boolean>;

  /**
   * Gives back a message this queue object claimed: due again after `delay`
   * ms, or, without it, as its retry schedule says (a spent schedule
   * dead-letters it).
   *
   * @param id The message's id.
   * @param options `delay` (ms).
   * @returns `false` when this claimer no longer holds it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const q = kv.queue();
   * const id = q.enqueue("a");
   * q.claim();
   * assert.equal(q.nack(id, { delay: 0 }), true);
   * assert.equal(q.claim()?.attempts, 2);
   * ```
   */
  nack(id: number, options?: NackOptions): Ret<M, boolean>;

  /**
   * The next `n` messages in delivery order that nobody holds, without claiming them.
   *
   * @param n How many. @default 1
   * @returns The messages.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const q = kv.queue();
   * q.enqueue("a");
   * q.enqueue("b");
   * assert.deepEqual(q.peek(2).map((m) => m.value), ["a", "b"]);
   * ```
   */
  peek(n?: number): Ret<M, QueueMessage<T>[]>;

  /**
   * How many messages wait or are being handled (dead letters aside).
   *
   * @returns The count.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * kv.queue().enqueue(1);
   * assert.equal(kv.queue().size(), 1);
   * ```
   */
  size(): Ret<M, number>;

  /**
   * The messages whose retries were all spent, oldest first.
   *
   * @returns The dead letters.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const q = kv.queue();
   * const id = q.enqueue("x", { backoff: [] });
   * q.claim();
   * q.nack(id); // no retry left
   * assert.deepEqual(q.deadLetters().map((m) => m.value), ["x"]);
   * ```
   */
  deadLetters(): Ret<M, QueueMessage<T>[]>;

  /**
   * Puts a dead letter back in the queue, due now, its attempts counted from 0.
   *
   * @param id The dead letter's id.
   * @returns `false` when it is not a dead letter.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openKv } from "@kvsqlite/kvsqlite";
   * using kv = openKv();
   * const q = kv.queue();
   * const id = q.enqueue("x", { backoff: [] });
   * q.claim();
   * q.nack(id);
   * assert.equal(q.retry(id), true);
   * assert.equal(q.claim()?.value, "x");
   * ```
   */
  retry(id: number): Ret<M, boolean>;
}
