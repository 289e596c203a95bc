/**
 * Listening on a queue: `concurrency` loops that claim a due message, run the
 * handler with its lease renewed, and acknowledge it, or give it back to its
 * retry schedule when the handler throws or rejects. A loop with nothing to
 * claim waits on a {@link Waker}: a write to the queue by any process on the
 * file (the file's change detector) or the next message coming due. The same
 * loop serves the synchronous store and the async client (whose calls cross
 * to its worker); a listening queue keeps the process alive until it stops.
 *
 * @module
 */

import type { Connection } from "../connection.ts";
import { KvClosedError } from "../errors.ts";
import { detectorFor, type Subscriber } from "../watch/detector.ts";
import type { QueueHandler, QueueMessage } from "./queue.ts";

/** What a listener does with its queue, each call maybe crossing to a worker. */
export interface QueueOps<T> {
  claim(lease: number): QueueMessage<T> | undefined | Promise<QueueMessage<T> | undefined>;
  ack(id: number): unknown;
  /** A failed delivery: the retry schedule, then the dead-letter list. */
  fail(id: number): unknown;
  renew(id: number, lease: number): unknown;
  /** Resolves once a message may be claimable (or after `max` ms, or when `stop` aborts). */
  wait(max: number, stop: AbortSignal): Promise<void>;
}

/** How long a loop with nothing to claim waits before it looks again anyway, ms (the waker usually wakes it first). */
const MAX_WAIT = 1000;
/** How long a loop waits after a claim that failed (a lock held too long), ms. */
const RETRY_WAIT = 50;

/**
 * Wakes the listeners of one queue on one connection: set when the queue's
 * table is written in this process, when another connection commits, or when
 * its next message comes due (looked at on the detector's ticks).
 */
export class Waker implements Subscriber {
  readonly conn: Connection;
  readonly #table: string;
  #dirty = true;
  #due: number | undefined;
  readonly #waiting = new Set<() => void>();
  readonly #unsubscribe: () => void;

  constructor(conn: Connection, queueTable: string) {
    this.conn = conn;
    this.#table = queueTable;
    this.#unsubscribe = detectorFor(conn).subscribe(this, conn.pollInterval);
  }

  changed(table: string | undefined): void {
    if (table === undefined || table === this.#table) this.#wake();
  }

  tick(): void {
    if (this.#due !== undefined && !this.conn.closed && this.conn.now() >= this.#due) this.#wake();
  }

  #wake(): void {
    this.#dirty = true;
    for (const resolve of [...this.#waiting]) resolve();
  }

  /** Before a claim: what changes from now on wakes the next wait. */
  arm(): void {
    this.#dirty = false;
  }

  /** After a claim found nothing: when the next message is due (`undefined`: none waits). */
  due(at: number | undefined): void {
    this.#due = at;
  }

  /** Resolves at once if something changed since `arm()`, else when something does, after `max` ms, or on `stop`. */
  wait(max: number, stop: AbortSignal): Promise<void> {
    if (this.#dirty || stop.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop.removeEventListener("abort", done);
        this.#waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, max);
      stop.addEventListener("abort", done);
      this.#waiting.add(done);
    });
  }

  /** Stops listening to the file. */
  close(): void {
    this.#unsubscribe();
    this.#wake();
  }
}

/** Whether an error means the store is gone (closed, or its worker ended): the loop stops. */
function ended(error: unknown): boolean {
  return error instanceof KvClosedError || (error as { code?: unknown })?.code === "WORKER_EXITED";
}

/**
 * Runs `handler` on the queue's messages with `concurrency` loops until
 * `stop` aborts; resolves once every running handler has settled.
 */
export async function listen<T>(
  ops: QueueOps<T>,
  handler: QueueHandler<T>,
  options: { concurrency: number; lease: number },
  stop: AbortSignal,
): Promise<void> {
  // Kept referenced: a listening queue keeps its process alive, as a server does.
  const alive = setInterval(() => {}, 2 ** 30);
  // Once stopped, a handler that never settles does not keep the process alive on its own.
  stop.addEventListener("abort", () => clearInterval(alive), { once: true });
  const loop = async () => {
    while (!stop.aborted) {
      let message: QueueMessage<T> | undefined;
      try {
        message = await ops.claim(options.lease);
      } catch (error) {
        if (ended(error)) return;
        await ops.wait(RETRY_WAIT, stop);
        continue;
      }
      if (message === undefined) {
        await ops.wait(MAX_WAIT, stop);
        continue;
      }
      const held = message;
      const renewal = setInterval(() => {
        // Once the store is gone the lease is left to lapse: the message is delivered again.
        Promise.resolve().then(() => ops.renew(held.id, options.lease)).catch((error) => {
          if (ended(error)) clearInterval(renewal);
        });
      }, Math.max(1, options.lease / 3));
      let ok: boolean;
      try {
        await handler(held.value, held);
        ok = true;
      } catch {
        ok = false;
      } finally {
        clearInterval(renewal);
      }
      try {
        await (ok ? ops.ack(held.id) : ops.fail(held.id));
      } catch (error) {
        // The store went away under the handler: the lease lapses and the
        // message is delivered again (at least once).
        if (ended(error)) return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, loop));
  } finally {
    clearInterval(alive);
  }
}
