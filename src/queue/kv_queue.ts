/**
 * `kv.queue(name)` on the synchronous store: the queue's calls checked and
 * run on the store's connection, and `listen()` over them. The async client's
 * worker runs the same calls (`QueueStore`).
 *
 * @module
 */

import type { QueueMethods } from "./methods.ts";
import { encodeValue } from "../codec.ts";
import type { Connection } from "../connection.ts";
import {
  checkEnqueue,
  checkId,
  checkLease,
  checkListen,
  checkNack,
  type ClaimOptions,
  type EnqueueOptions,
  type ListenOptions,
  type NackOptions,
  type QueueHandler,
  type QueueMessage,
  type QueueStore,
} from "./queue.ts";
import { listen, Waker } from "./listen.ts";
import { checkOptions, typeName } from "../check.ts";

/** Checks `peek(n)`'s count. */
export function checkPeek(n: unknown): number {
  if (n === undefined) return 1;
  if (typeof n !== "number") throw new TypeError(`Cannot peek queue: n must be a number, received ${typeName(n)}`);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Cannot peek queue: n must be a whole number >= 0, received ${n}`);
  }
  return n;
}

/** Checks `claim()`'s options; returns the lease. */
export function checkClaim(options: unknown): number {
  checkOptions(options, ["lease"], "claim message");
  return checkLease((options as ClaimOptions | undefined)?.lease, "claim message");
}

let storeOf: (queue: KvQueue<unknown>) => QueueStore;

/** The statements behind a queue (the async client's worker runs its requests on them). */
export function queueStoreOf(queue: KvQueue<unknown>): QueueStore {
  return storeOf(queue);
}

/**
 * A durable queue in the store's file, shared by every process on it. Obtain
 * one with `kv.queue(name)`; every method is documented on {@link QueueMethods}.
 */
export class KvQueue<T = unknown> implements QueueMethods<"sync", T> {
  readonly #store: QueueStore;
  readonly #check: (what: string) => Connection;

  static {
    storeOf = (queue) => queue.#store;
  }

  /**
   * Not for direct use: obtain a queue from `kv.queue(name)`.
   *
   * @param store The queue's statements.
   * @param check Throws when the store is closed; returns its connection.
   */
  constructor(store: QueueStore, check: (what: string) => Connection) {
    this.#store = store;
    this.#check = check;
  }

  /** Adds a message (see {@link QueueMethods.enqueue}). */
  enqueue(value: T, options?: EnqueueOptions): number {
    const conn = this.#check("enqueue");
    conn.checkWrite("enqueue");
    const checked = checkEnqueue(options);
    const [v, kind] = encodeValue(value, conn.codec);
    return this.#store.enqueue(v, kind, checked);
  }

  /** Claims the next due message (see {@link QueueMethods.claim}). */
  claim(options?: ClaimOptions): QueueMessage<T> | undefined {
    const conn = this.#check("claim message");
    const lease = checkClaim(options);
    conn.checkWrite("claim message");
    return this.#store.claim(lease, conn.codec) as QueueMessage<T> | undefined;
  }

  /** Acknowledges a claimed message (see {@link QueueMethods.ack}). */
  ack(id: number): boolean {
    this.#check("ack message").checkWrite("ack message");
    checkId(id, "ack message");
    return this.#store.ack(id);
  }

  /** Gives a claimed message back (see {@link QueueMethods.nack}). */
  nack(id: number, options?: NackOptions): boolean {
    this.#check("nack message").checkWrite("nack message");
    checkId(id, "nack message");
    return this.#store.nack(id, checkNack(options));
  }

  /** The next messages, unclaimed (see {@link QueueMethods.peek}). */
  peek(n?: number): QueueMessage<T>[] {
    const conn = this.#check("peek queue");
    return this.#store.peek(checkPeek(n), conn.codec) as QueueMessage<T>[];
  }

  /** How many messages wait or are being handled (see {@link QueueMethods.size}). */
  size(): number {
    this.#check("read queue size");
    return this.#store.size();
  }

  /** The dead-letter list (see {@link QueueMethods.deadLetters}). */
  deadLetters(): QueueMessage<T>[] {
    const conn = this.#check("read dead letters");
    return this.#store.deadLetters(conn.codec) as QueueMessage<T>[];
  }

  /** Puts a dead letter back (see {@link QueueMethods.retry}). */
  retry(id: number): boolean {
    this.#check("retry message").checkWrite("retry message");
    checkId(id, "retry message");
    return this.#store.retry(id);
  }

  /** Runs `handler` on every message (see {@link QueueMethods.listen}). */
  listen(handler: QueueHandler<T>, options?: ListenOptions): Promise<void> {
    const conn = this.#check("listen");
    const o = checkListen(handler, options);
    const store = this.#store;
    const waker = new Waker(conn, store.tableName);
    const stop = new AbortController();
    const end = () => stop.abort();
    conn.closers.add(end);
    o.signal?.addEventListener("abort", end);
    const ops = {
      claim: (lease: number) => {
        waker.arm();
        const message = store.claim(lease, conn.codec);
        if (message === undefined) waker.due(store.nextDue());
        return message as QueueMessage<T> | undefined;
      },
      // Once the store is closed these throw KvClosedError: the loop ends, a lease is left to lapse.
      ack: (id: number) => {
        this.#check("ack message");
        return store.ack(id);
      },
      fail: (id: number) => {
        this.#check("nack message");
        return store.nack(id, undefined);
      },
      renew: (id: number, lease: number) => {
        this.#check("renew a lease");
        return store.renew(id, lease);
      },
      wait: (max: number, signal: AbortSignal) => waker.wait(max, signal),
    };
    return listen(ops, handler, o, stop.signal).finally(() => {
      waker.close();
      conn.closers.delete(end);
      o.signal?.removeEventListener("abort", end);
    });
  }
}
