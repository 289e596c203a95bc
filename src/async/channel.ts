/**
 * The caller's end of the async client: it starts the worker thread, posts
 * the calls made in one turn of the caller's event loop as one message, and
 * settles each call's promise with the worker's reply.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { KvClosedError, KvError } from "../errors.ts";
import { typeName } from "../check.ts";
import { isDeno } from "../runtime.ts";
import { callOf } from "./methods.ts";
import { bytesMark, fromWire, type Request, unpackBytes, type WorkerInit, type WorkerMessage } from "./wire.ts";

/**
 * How long the caller looks for a reply right after posting before it returns
 * to its event loop (ms). 50 µs catches most replies on Deno, whose messages
 * take longer (an awaited get: 30 µs against 34 µs with 20 µs; Bun 12 against
 * 17), and changes nothing measurable on Node.
 */
const LOOK_MS = 0.05;
/** Calls of one turn past this many are posted at once, so that the worker runs them while more are made. */
const CHUNK = 64;

interface Waiting {
  /** The request, for the message of a failure the worker could not report itself. */
  op: string;
  /** Whether it keeps the process alive while it waits: not once the worker says it is parked (a watch waiting for a change). */
  holds: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface PortLike {
  postMessage(message: unknown, transfer?: unknown[]): void;
  on(event: "message", listener: (message: WorkerMessage) => void): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** What opening an async store needs besides the path and options. */
export interface ChannelInit {
  /** The adapter's worker script. */
  script: URL;
  path: string | undefined;
  options: Record<string, unknown>;
  require?: { option: string; id: string } | undefined;
  now: (() => number) | undefined;
  onCommitError: ((error: KvError) => void) | undefined;
  transactionTimeout: number;
}

/** The worker thread of one async store, and the calls waiting on it. */
export class Channel {
  readonly #worker: Worker;
  readonly #port: PortLike;
  readonly #bell = new Int32Array(new SharedArrayBuffer(8));
  readonly #waiting = new Map<number, Waiting>();
  /** How many of the waiting calls keep the process alive. */
  #holding = 0;
  readonly #now: (() => number) | undefined;
  readonly #onCommitError: ((error: KvError) => void) | undefined;
  #queue: Request[] = [];
  /** Buffers the queued calls hand over (byte values, copied for the worker). */
  #transfer: ArrayBuffer[] = [];
  #posting = false;
  /** The placeholder key of byte arrays in replies, where the worker packs them (on Deno). */
  readonly #mark: string | undefined;
  /** ms after which a transaction whose `fn` has not settled is rolled back. */
  readonly transactionTimeout: number;
  #nextId = 1;
  #nextTx = 1;
  /** The worker holds a batch of writes not yet committed. */
  #dirty = false;
  #held = true;
  /** The transactions whose `fn` is running. */
  readonly transactions: Set<number> = new Set();
  /**
   * The transaction whose `fn` this async context runs in. As inside the
   * synchronous store's `transaction(fn)`, a call on the store itself (or a
   * namespace) from within `fn` is part of the transaction; a call from
   * anywhere else waits until it ends.
   */
  readonly context: AsyncLocalStorage<number> = new AsyncLocalStorage();
  /** The queue listeners running on this thread: `close()` stops them and waits for their handlers. */
  readonly listeners: Set<{ stop(): void; done: Promise<void> }> = new Set();
  #nextListener = 1;

  /** A new listener number. */
  nextId(): number {
    return this.#nextListener++;
  }

  /** The sweeper's timer (`sweepInterval`), which runs in this thread. */
  sweeper: ReturnType<typeof setInterval> | undefined;
  /** Set once the store is closed, or its thread failed: why every later call fails. */
  closed: KvError | undefined;

  private constructor(init: ChannelInit) {
    this.#now = init.now;
    this.#onCommitError = init.onCommitError;
    this.transactionTimeout = init.transactionTimeout;
    this.#mark = isDeno() ? bytesMark() : undefined;
    const { port1, port2 } = new MessageChannel();
    this.#port = port1 as unknown as PortLike;
    const data: WorkerInit = {
      port: port2 as unknown as WorkerInit["port"],
      bell: this.#bell,
      path: init.path,
      options: init.options,
      clock: init.now !== undefined,
      onCommitError: init.onCommitError !== undefined,
      transactionTimeout: init.transactionTimeout,
      ...(this.#mark === undefined ? {} : { bytesMark: this.#mark }),
      ...(init.require === undefined ? {} : { require: init.require }),
    };
    try {
      this.#worker = new Worker(init.script, { workerData: data, transferList: [port2] as never });
    } catch (error) {
      // Deno asks for read access to the worker's module when it is a local file.
      throw new KvError(`Cannot start the store's worker thread: ${(error as Error).message}`, { cause: error });
    }
    this.#port.on("message", (message) => this.#receive(message));
    this.#worker.on("error", (error: unknown) => this.#fail(error));
    this.#worker.on("exit", (code: number) => this.#fail(undefined, code));
  }

  /** Starts the worker and resolves once it has opened the store (or rejects with why it could not). */
  static async open(init: ChannelInit): Promise<Channel> {
    const channel = new Channel(init);
    try {
      await new Promise((resolve, reject) => channel.#wait(0, { op: "open", holds: true, resolve, reject }));
    } catch (error) {
      await channel.end();
      throw error;
    }
    return channel;
  }

  /** The error of a call `op` made once the store is closed (or its thread ended). */
  closedError(op: string): KvError {
    const closed = this.closed!;
    return closed instanceof KvClosedError
      ? new KvClosedError(`Cannot ${callOf(op)}: the store is closed`)
      : new KvError(`Cannot ${callOf(op)}: ${closed.message}`, { cause: closed }, closed.code);
  }

  /** Can the worker take calls? Throws the error of `op` on a closed store. */
  checkOpen(op: string): void {
    if (this.closed !== undefined) throw this.closedError(op);
  }

  /**
   * The open transaction of the calling async context, or 0. A timer or a
   * promise chain that `fn` started and that outlives the transaction is
   * outside it again, as after the synchronous `transaction(fn)`.
   */
  running(): number {
    const id = this.context.getStore();
    return id !== undefined && this.transactions.has(id) ? id : 0;
  }

  /** A new transaction number. */
  nextTx(): number {
    return this.#nextTx++;
  }

  /**
   * Posts one call (with the others of this turn) and resolves with its
   * result. `transfer`: buffers the call hands over (copies of its bytes).
   */
  call(ns: string[], tx: number, op: string, args: unknown[], transfer?: ArrayBuffer[]): Promise<unknown> {
    if (this.closed !== undefined) return Promise.reject(this.closedError(op));
    const id = this.#nextId++;
    const req: Request = this.#now === undefined ? [id, op, args, tx, ns] : [id, op, args, tx, ns, this.#now()];
    this.#queue.push(req);
    if (transfer !== undefined) { for (const buffer of transfer) this.#transfer.push(buffer); }
    if (this.#queue.length >= CHUNK) this.#post(false);
    else if (!this.#posting) {
      this.#posting = true;
      queueMicrotask(() => {
        this.#posting = false;
        this.#post(true);
      });
    }
    return new Promise((resolve, reject) => this.#wait(id, { op, holds: true, resolve, reject }));
  }

  #wait(id: number, waiting: Waiting): void {
    this.#waiting.set(id, waiting);
    if (waiting.holds) this.#holding++;
  }

  /** Posts the queued calls; `look`: then look briefly for the reply (at the end of a turn). */
  #post(look: boolean): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    const transfer = this.#transfer;
    this.#queue = [];
    this.#transfer = [];
    if (this.closed !== undefined) {
      for (const [id, op] of batch) this.#settle(id, false, this.closedError(op));
      return;
    }
    this.#hold();
    const seen = Atomics.load(this.#bell, 1);
    try {
      this.#port.postMessage(batch, transfer);
    } catch {
      // One call's arguments cannot be cloned: post the calls one by one, so
      // that only that call fails.
      for (const req of batch) {
        try {
          this.#port.postMessage([req]);
        } catch (error) {
          this.#settle(
            req[0],
            false,
            new TypeError(
              `Cannot ${callOf(req[1])}: an argument cannot be sent to the store's thread (${
                error instanceof Error ? error.message : typeName(error)
              })`,
            ),
          );
        }
      }
    }
    Atomics.add(this.#bell, 0, 1);
    Atomics.notify(this.#bell, 0);
    // Only calls that need not keep the process alive are out (a watch waiting for a change).
    this.#release();
    if (!look) return;
    // The worker usually answers within microseconds: a short look takes the
    // reply now, instead of on a later turn of the event loop.
    const end = performance.now() + LOOK_MS;
    while (performance.now() < end) {
      if (Atomics.load(this.#bell, 1) !== seen) {
        this.#takeReplies();
        break;
      }
    }
  }

  /** Takes every message the worker has posted, now, instead of on a later turn of the event loop. */
  #takeReplies(): void {
    for (;;) {
      const got = receiveMessageOnPort(this.#port as never) as { message: WorkerMessage } | undefined;
      if (got === undefined) return;
      this.#receive(got.message);
    }
  }

  #receive(message: WorkerMessage): void {
    if (message.dirty !== undefined) this.#dirty = message.dirty;
    if (message.commitError !== undefined) {
      try {
        this.#onCommitError?.(fromWire(message.commitError) as KvError);
      } catch {
        // As on the synchronous store: the hook's failure hides nothing.
      }
    }
    for (const id of message.parked ?? []) {
      const waiting = this.#waiting.get(id);
      if (waiting?.holds) {
        waiting.holds = false;
        this.#holding--;
      }
    }
    for (const r of message.replies ?? []) {
      if (r.length === 2) this.#settle(r[0], true, r[1]);
      else if (r[2] === false) this.#settle(r[0], true, unpackBytes(r[1], r[3], this.#mark!));
      else this.#settle(r[0], false, fromWire(r[1]));
    }
    this.#release();
  }

  #settle(id: number, ok: boolean, value: unknown): void {
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return;
    this.#waiting.delete(id);
    if (waiting.holds) this.#holding--;
    if (ok) waiting.resolve(value);
    else waiting.reject(value);
  }

  /** Keeps the process alive while a call waits or a batch is uncommitted; lets it end otherwise. */
  #hold(): void {
    if (this.#held) return;
    this.#held = true;
    this.#worker.ref();
    this.#port.ref();
  }

  #release(): void {
    if (!this.#held || this.#holding > 0 || this.#dirty || this.#queue.length > 0) return;
    this.#held = false;
    this.#worker.unref();
    this.#port.unref();
  }

  /**
   * The worker ended or failed: what it answered before is taken. After
   * `end()` (the store was closed) a call still waiting fails as closed;
   * otherwise nobody closed the store: every waiting and later call fails with
   * `WORKER_EXITED`, and a write that was waiting may or may not have been
   * committed.
   */
  #fail(error: unknown, code?: number): void {
    try {
      this.#takeReplies();
    } catch {
      // The port is closed already (Deno refuses to read a closed port): nothing is left on it.
    }
    const why = error !== undefined
      ? `failed (${error instanceof Error ? error.message : String(error)})`
      : `exited${code === undefined ? "" : ` with code ${code}`}`;
    this.closed ??= new KvError(
      `the store's worker thread ${why}; open the store again`,
      { cause: error },
      "WORKER_EXITED",
    );
    clearInterval(this.sweeper);
    const closed = this.closed;
    for (const [id, waiting] of [...this.#waiting]) {
      this.#settle(
        id,
        false,
        closed instanceof KvClosedError
          ? new KvClosedError(`Cannot ${callOf(waiting.op)}: the store is closed`)
          : new KvError(
            `Cannot ${
              callOf(waiting.op)
            }: the store's worker thread ${why}; had this call written, the write may or may not have been committed`,
            { cause: error },
            "WORKER_EXITED",
          ),
      );
    }
    this.#dirty = false;
    this.#release();
  }

  /** Ends the thread without closing the store, as its death would. */
  async kill(): Promise<void> {
    const code = await this.#worker.terminate();
    this.#fail(undefined, code);
  }

  /** After the worker closed the store: ends the thread. */
  async end(): Promise<void> {
    this.closed ??= new KvClosedError("the store is closed");
    clearInterval(this.sweeper);
    this.#port.close();
    await this.#worker.terminate();
  }
}
