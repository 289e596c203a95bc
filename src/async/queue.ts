/**
 * The async client's `queue(name)`: the queue's calls cross to the worker,
 * where the synchronous queue runs them; `listen()` runs its handlers on this
 * thread, claiming and acknowledging through the worker, and waits there for
 * a write to the queue or a message coming due.
 *
 * @module
 */

import type { QueueMethods } from "../queue/methods.ts";
import { encodeValue, taggedJson } from "../codec.ts";
import {
  checkEnqueue,
  checkId,
  checkListen,
  checkNack,
  type ClaimOptions,
  type EnqueueOptions,
  type ListenOptions,
  type NackOptions,
  type QueueHandler,
  type QueueMessage,
} from "../queue/queue.ts";
import { checkClaim, checkPeek } from "../queue/kv_queue.ts";
import { listen } from "../queue/listen.ts";

/** How a queue calls its worker (for its store and namespace). */
export type QueueCall = (op: string, args: unknown[], transfer?: ArrayBuffer[]) => Promise<unknown>;

/** What a store needs to know of its listeners: to stop them, and when they have settled. */
export interface Listeners {
  /** Numbers listeners, across the store. */
  nextId(): number;
  /** The listeners running now: close() stops them and waits for their handlers. */
  readonly listeners: Set<{ stop(): void; done: Promise<void> }>;
}

/**
 * A durable queue of an async store, shared by every process on the file.
 * Obtain one with `kv.queue(name)`; every method is documented on
 * {@link QueueMethods}.
 */
export class KvQueueAsync<T = unknown> implements QueueMethods<"async", T> {
  readonly #call: QueueCall;
  readonly #name: string;
  readonly #listeners: Listeners;

  /**
   * Not for direct use: obtain a queue from `kv.queue(name)`.
   *
   * @param call Calls the worker.
   * @param name The queue's name.
   * @param listeners The store's listeners.
   */
  constructor(call: QueueCall, name: string, listeners: Listeners) {
    this.#call = call;
    this.#name = name;
    this.#listeners = listeners;
  }

  /** Adds a message (see {@link QueueMethods.enqueue}); the value is checked and encoded on this thread. */
  async enqueue(value: T, options?: EnqueueOptions): Promise<number> {
    const checked = checkEnqueue(options);
    const [v, kind] = encodeValue(value, taggedJson);
    const bytes = v instanceof Uint8Array ? v.slice().buffer : undefined;
    return await this.#call(
      "enqueue",
      [this.#name, bytes ?? v, kind, checked],
      bytes === undefined ? [] : [bytes],
    ) as number;
  }

  /** Claims the next due message (see {@link QueueMethods.claim}). */
  async claim(options?: ClaimOptions): Promise<QueueMessage<T> | undefined> {
    return await this.#call("queue", [this.#name, "claim", checkClaim(options)]) as QueueMessage<T> | undefined;
  }

  /** Acknowledges a claimed message (see {@link QueueMethods.ack}). */
  async ack(id: number): Promise<boolean> {
    checkId(id, "ack message");
    return await this.#call("queue", [this.#name, "ack", id]) as boolean;
  }

  /** Gives a claimed message back (see {@link QueueMethods.nack}). */
  async nack(id: number, options?: NackOptions): Promise<boolean> {
    checkId(id, "nack message");
    return await this.#call("queue", [this.#name, "nack", id, checkNack(options)]) as boolean;
  }

  /** The next messages, unclaimed (see {@link QueueMethods.peek}). */
  async peek(n?: number): Promise<QueueMessage<T>[]> {
    return await this.#call("queue", [this.#name, "peek", checkPeek(n)]) as QueueMessage<T>[];
  }

  /** How many messages wait or are being handled (see {@link QueueMethods.size}). */
  async size(): Promise<number> {
    return await this.#call("queue", [this.#name, "size"]) as number;
  }

  /** The dead-letter list (see {@link QueueMethods.deadLetters}). */
  async deadLetters(): Promise<QueueMessage<T>[]> {
    return await this.#call("queue", [this.#name, "deadLetters"]) as QueueMessage<T>[];
  }

  /** Puts a dead letter back (see {@link QueueMethods.retry}). */
  async retry(id: number): Promise<boolean> {
    checkId(id, "retry message");
    return await this.#call("queue", [this.#name, "retry", id]) as boolean;
  }

  /**
   * Runs `handler` on every message, on this thread (see
   * {@link QueueMethods.listen}); `close()` of the store stops it and waits
   * for its running handlers before it closes.
   */
  listen(handler: QueueHandler<T>, options?: ListenOptions): Promise<void> {
    const o = checkListen(handler, options);
    const id = this.#listeners.nextId();
    const stop = new AbortController();
    const end = () => stop.abort();
    o.signal?.addEventListener("abort", end);
    const started = this.#call("listen", [id, this.#name]);
    const ops = {
      claim: async (lease: number) => {
        await started;
        return await this.#call("listening", [id, "claim", lease]) as QueueMessage<T> | undefined;
      },
      ack: (msg: number) => this.#call("listening", [id, "ack", msg]),
      fail: (msg: number) => this.#call("listening", [id, "fail", msg]),
      renew: (msg: number, lease: number) => this.#call("listening", [id, "renew", msg, lease]),
      wait: async (max: number, signal: AbortSignal) => {
        const waited = this.#call("listening", [id, "wait", max]);
        // Stopping does not wait for the worker's answer.
        await new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => resolve(), { once: true });
          waited.then(() => resolve(), () => resolve());
        });
      },
    };
    const entry = { stop: end, done: Promise.resolve() };
    entry.done = listen(ops, handler, o, stop.signal).finally(() => {
      this.#listeners.listeners.delete(entry);
      o.signal?.removeEventListener("abort", end);
      return this.#call("listening", [id, "stop"]).then(() => {}, () => {});
    });
    this.#listeners.listeners.add(entry);
    return entry.done;
  }
}
