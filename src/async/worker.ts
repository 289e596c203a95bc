/**
 * The worker thread behind `openKvAsync()`: it opens the store with the
 * adapter's `openKv` and runs the calls the client posts, in order, on the same
 * synchronous core. A `transaction()` keeps the thread inside the core's own
 * `transaction(fn)` while the caller's async function runs, taking the calls
 * of that transaction off the port synchronously; calls from outside it wait,
 * in order, until it ends.
 *
 * Not an entry point: each adapter's worker script (`adapters/worker/`) calls
 * {@link serveStore} with its `openKv`, so that the adapter is a static import the
 * package's module graph shows, and `src/async/client.ts` starts that script.
 *
 * @module
 */

import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { createRequire } from "node:module";
import process from "node:process";
import type { Kv } from "../kv.ts";
import { kvInternals, setEncoded, setManyEncoded } from "../kv.ts";
import { sweep } from "../open.ts";
import type { Connection } from "../connection.ts";
import type { SqlValue } from "../driver.ts";
import type { SetOptions } from "../write.ts";
import { KvClosedError, KvError } from "../errors.ts";
import {
  packBytes,
  type Reply,
  type Request,
  toWire,
  transactionTimedOut,
  type WorkerInit,
  type WorkerMessage,
} from "./wire.ts";
import { callOf, FORWARDED } from "./methods.ts";
import type { KvWatch } from "../watch/watch.ts";
import type { Watch } from "../watch/watch.ts";
import { detectorFor } from "../watch/detector.ts";
import { later } from "../runtime.ts";
import { queueStoreOf } from "../queue/kv_queue.ts";
import { Waker } from "../queue/listen.ts";
import type { QueueStore } from "../queue/queue.ts";

/** How long the thread looks for the next call before it sleeps until one is posted (ms). */
const SPIN_MS = 0.05;
/** How long one turn may run calls before the thread lets its timers (the batch commit, the sweeper) run (ms). */
const TURN_MS = 2;

const ROLLBACK = Symbol("rollback");
/** A transaction's `fn` did not settle within `transactionTimeout`: the core rolls it back. */
const TIMED_OUT = Symbol("timed out");
/** `getOr`'s fallback in this thread: what `kv.get` returns for a missing key. */
const MISSING = Symbol("missing");

// Imported anywhere but in the client's worker (a doc test, a type check), the module does nothing.
const init = (workerData ?? {}) as WorkerInit;
const { port, bell } = init;
let time = Date.now();
let root: Kv | undefined;
/** The root store's connection: whether it is closed, or holds an open batch. */
let conn: Connection | undefined;
/** The calls posted and not yet run, in order; a transaction takes its own out of the middle. */
class Inbox {
  #items: (Request | undefined)[] = [];
  #head = 0;

  push(batch: Request[]): void {
    for (const req of batch) this.#items.push(req);
  }

  /** The oldest call. */
  take(): Request | undefined {
    this.#skip();
    const req = this.#items[this.#head];
    if (req !== undefined) this.#items[this.#head++] = undefined;
    return req;
  }

  /** The oldest call of transaction `tx`; the calls before it stay, in order. */
  takeFor(tx: number): Request | undefined {
    this.#skip();
    for (let i = this.#head; i < this.#items.length; i++) {
      const req = this.#items[i];
      if (req?.[3] === tx) {
        this.#items[i] = undefined;
        return req;
      }
    }
    return undefined;
  }

  #skip(): void {
    const items = this.#items;
    while (this.#head < items.length && items[this.#head] === undefined) this.#head++;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > items.length) {
      items.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

const inbox = new Inbox();
let replies: Reply[] = [];
/** Calls answered later, once something changes (see WorkerMessage.parked). */
let parked: number[] = [];
/** Buffers the replies hand over (byte arrays packed out of values, on Deno). */
let transfer: ArrayBuffer[] = [];
/** Transactions open now, innermost last. */
const open: number[] = [];
/** When each open transaction times out (performance.now() ms), in the order of `open`. */
const deadlines: number[] = [];
/** Transactions rolled back because they timed out, until the caller ends them. */
const timedOut = new Set<number>();
let dirty = false;
/** The watches the caller reads, by number. */
const watches = new Map<number, Watch<unknown>>();
/** The caller's queue listeners: the queue each claims from, and what wakes it. */
const listeners = new Map<number, { store: QueueStore; waker: Waker; stop: AbortController }>();
/** The root store was closed: the thread answers what is left and ends. */
let closing = false;

function post(message: WorkerMessage, buffers: ArrayBuffer[] = []): void {
  port.postMessage(message, buffers);
  Atomics.add(bell, 1, 1);
}

function sendReplies(): void {
  if (replies.length === 0 && parked.length === 0) return;
  const batch = replies;
  const buffers = transfer;
  const waiting = parked;
  replies = [];
  transfer = [];
  parked = [];
  // Structured cloning refuses what a reply cannot carry; the caller is told.
  try {
    post({ replies: batch, dirty, ...(waiting.length > 0 ? { parked: waiting } : {}) }, buffers);
  } catch (error) {
    post({
      replies: batch.map((r): Reply => [r[0], toWire(error), true]),
      dirty,
    });
  }
}

function reply(req: Request, ok: boolean, value: unknown): void {
  if (!ok) return void replies.push([req[0], toWire(value), true]);
  const packed = init.bytesMark === undefined ? undefined : packBytes(value, init.bytesMark);
  if (packed === undefined) return void replies.push([req[0], value]);
  replies.push([req[0], packed[0], false, packed[1]]);
  for (const [buffer] of packed[1]) transfer.push(buffer);
}

/** A value that crossed as a buffer of its own (see the client's set) is bytes again. */
function bytes(v: unknown): SqlValue {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : v as SqlValue;
}

function scope(ns: string[]): Kv {
  let kv = root!;
  for (const name of ns) kv = kv.namespace(name);
  return kv;
}

/**
 * The methods a request may name as they are: the forwarded ones, and `get`
 * and `close` of the hand-written ones. `handle` answers the others itself
 * (`list`, `getOr`, `namespace`, `sweep`, the encoded writes, `transaction`
 * and the ends of a transaction).
 */
const METHODS = new Set<string>([...FORWARDED, "get", "close"]);

function handle(req: Request): void {
  const [, op, args, tx, ns, now] = req;
  if (init.clock) time = now as number;
  if (tx !== 0 && !open.includes(tx)) return ended(req);
  let kv: Kv;
  try {
    kv = scope(ns);
  } catch (error) {
    reply(req, false, error);
    return;
  }
  if (op === "transaction") return transaction(kv, req);
  try {
    let value: unknown;
    if (op === "list") value = [...kv.list(...(args as Parameters<Kv["list"]>))];
    else if (op === "namespace") value = void kv.namespace(args[0] as string);
    else if (op === "sweep") value = void sweep(kv);
    else if (op === "getOr") {
      const found = kv.get(args[0] as string, MISSING);
      value = found === MISSING ? [] : [found];
    } else if (op === "setEncoded") {
      const [key, v, kind, options] = args as [string, unknown, number, SetOptions | undefined];
      value = setEncoded(kv, key, bytes(v), kind, options);
    } else if (op === "watch") {
      const [id, target] = args as [number, string[]];
      watches.set(id, kv.watch(target) as KvWatch<unknown> as Watch<unknown>);
    } else if (op === "watchNext") return watchNext(req);
    else if (op === "unwatch") {
      const id = args[0] as number;
      void watches.get(id)?.return();
      watches.delete(id);
    } else if (op === "enqueue") {
      const [name, v, kind, checked] = args as [string, unknown, number, Parameters<QueueStore["enqueue"]>[2]];
      const queue = kv.queue(name);
      kvInternals(kv).conn.checkWrite("enqueue");
      value = queueStoreOf(queue).enqueue(bytes(v), kind, checked);
    } else if (op === "queue") {
      const [name, method, arg, more] = args as [string, string, unknown, unknown];
      const queue = kv.queue(name);
      if (method === "claim") value = queue.claim({ lease: arg as number });
      else if (method === "nack") {
        value = queue.nack(arg as number, more === undefined ? undefined : { delay: more as number });
      } else if (method === "ack" || method === "peek" || method === "retry") value = queue[method](arg as number);
      else if (method === "size" || method === "deadLetters") value = queue[method]();
      else throw new TypeError(`Cannot ${callOf(method)}: no such call`);
    } else if (op === "listen") {
      const [id, name] = args as [number, string];
      const store = queueStoreOf(kv.queue(name));
      listeners.set(id, { store, waker: new Waker(store.conn, store.tableName), stop: new AbortController() });
    } else if (op === "listening") return listening(req);
    else if (op === "setManyEncoded") {
      const flat = args[0] as unknown[];
      for (let i = 1; i < flat.length; i += 3) flat[i] = bytes(flat[i]);
      value = setManyEncoded(kv, flat, args[1] as SetOptions | undefined);
    } else if (METHODS.has(op)) {
      value = (kv[op as keyof Kv] as (...args: unknown[]) => unknown).apply(kv, args);
    } else throw new TypeError(`Cannot ${callOf(op)}: no such call`);
    reply(req, true, value);
  } catch (error) {
    reply(req, false, error);
  }
  if (op === "close" && ns.length === 0 && conn!.closed) closing = true;
}

/** The next state of a watch, answered when there is one (the call waits here, not in the inbox). */
function watchNext(req: Request): void {
  const watch = watches.get(req[2][0] as number);
  if (watch === undefined) return reply(req, true, null);
  // Read before take(), which consumes a state that is there.
  const ready = watch.ready;
  const delivering = detectorFor(watch.conn).delivering;
  let settled = false;
  // Answered from this thread's event loop once there is a state: other calls go on meanwhile.
  void watch.take().then(
    (state) => {
      settled = true;
      answer(req, true, state ?? null);
    },
    (error) => {
      settled = true;
      answer(req, false, error);
    },
  );
  // Waiting for a change must not keep the caller's process alive; an answer on its way does. A write this
  // thread has made and not yet delivered to its watches (the caller's own set, awaited just before) may be
  // that answer: the call is parked only once it has been delivered and did not concern this watch.
  if (ready) return;
  if (delivering) {
    later(() => {
      if (settled || watch.ready) return;
      parked.push(req[0]);
      sendReplies();
    });
  } else parked.push(req[0]);
}

/** Replies to a call answered after its turn. */
function answer(req: Request, ok: boolean, value: unknown): void {
  reply(req, ok, value);
  sendReplies();
}

/** A call of a queue listener of the caller's: a claim that arms its waker, a wait, the end of a delivery, its stop. */
function listening(req: Request): void {
  const [id, what, arg, more] = req[2] as [number, string, number, number];
  const listener = listeners.get(id);
  try {
    if (listener === undefined) throw new KvClosedError(`Cannot ${callOf("listen")}: the listener has stopped`);
    const { store, waker } = listener;
    let value: unknown;
    if (what === "claim") {
      waker.arm();
      value = store.claim(arg, store.conn.codec);
      if (value === undefined) waker.due(store.nextDue());
    } else if (what === "ack") value = store.ack(arg);
    else if (what === "fail") value = store.nack(arg, undefined);
    else if (what === "renew") value = store.renew(arg, more);
    else if (what === "wait") {
      void waker.wait(arg, listener.stop.signal).then(() => answer(req, true, undefined));
      return;
    } else if (what === "stop") {
      listener.stop.abort();
      waker.close();
      listeners.delete(id);
    }
    reply(req, true, value);
  } catch (error) {
    reply(req, false, error);
  }
}

/**
 * A call of a transaction that has ended. After a timeout the caller's
 * commit learns why, its rollback is what already happened, and the set
 * forgets the transaction once the caller has ended it.
 */
function ended(req: Request): void {
  const [, op, , tx] = req;
  if (timedOut.has(tx) && (op === "commit" || op === "rollback")) {
    timedOut.delete(tx);
    if (op === "rollback") return reply(req, true, undefined);
    return reply(req, false, transactionTimedOut(init.transactionTimeout));
  }
  reply(req, false, new KvClosedError(`Cannot ${callOf(op)}: the transaction has ended`));
}

/**
 * Runs the core's `transaction(fn)`, whose `fn` takes this transaction's
 * calls from the port until the caller commits or rolls back, or until its
 * deadline passes (then the core rolls it back).
 */
function transaction(kv: Kv, req: Request): void {
  const id = req[2][0] as number;
  let begun = false;
  let end: Request | undefined;
  try {
    kv.transaction(() => {
      begun = true;
      open.push(id);
      deadlines.push(performance.now() + init.transactionTimeout);
      try {
        reply(req, true, undefined);
        sendReplies();
        end = serve(id);
      } finally {
        open.pop();
        deadlines.pop();
      }
      if (end === undefined) throw TIMED_OUT;
      if (end[1] === "rollback") throw ROLLBACK;
    });
    reply(end!, true, undefined);
  } catch (error) {
    if (!begun) reply(req, false, error);
    else if (error === TIMED_OUT) timedOut.add(id);
    else if (end === undefined) throw error;
    else reply(end, error === ROLLBACK, error === ROLLBACK ? undefined : error);
  }
}

/**
 * Serves transaction `id`'s calls, waiting for them without leaving this
 * turn; returns its commit or rollback, or `undefined` once the deadline of it
 * or of a transaction around it has passed.
 */
function serve(id: number): Request | undefined {
  for (;;) {
    const req = inbox.takeFor(id);
    if (req !== undefined) {
      if (req[1] === "commit" || req[1] === "rollback") return req;
      handle(req);
      continue;
    }
    sendReplies();
    const left = Math.min(...deadlines) - performance.now();
    if (left <= 0) return undefined;
    const seen = Atomics.load(bell, 0);
    if (!takePosted()) Atomics.wait(bell, 0, seen, Math.min(left, 1000));
  }
}

/**
 * Runs what has arrived, and what arrives within a short look, then lets the
 * thread's timers run. With `durability: "batched"` the batch commits before
 * the replies go (with `commitInterval`: once it is that old), so the writes
 * of all the calls that arrived together share one commit, and an awaited
 * write is a committed one; a steady stream of calls never postpones the
 * commit, as a timer at the end of the thread's task alone would while calls
 * keep arriving.
 */
function drain(): void {
  const start = performance.now();
  for (;;) {
    while (!closing) {
      const req = inbox.take();
      if (req === undefined) break;
      handle(req);
    }
    if (closing) return finish();
    conn!.batch?.commitDue();
    if (!dirty) dirty = conn!.batch?.isOpen === true;
    sendReplies();
    if (performance.now() - start > TURN_MS) return;
    const seen = Atomics.load(bell, 0);
    const end = performance.now() + SPIN_MS;
    while (Atomics.load(bell, 0) === seen && performance.now() < end) {
      // A call posted right after the last one is taken now instead of after
      // the thread wakes from its event loop (measured tens of microseconds).
    }
    if (!takePosted()) return;
  }
}

/** Moves the next message the caller posted, if any, into the inbox; true when there was one. */
function takePosted(): boolean {
  const message = receiveMessageOnPort(port as never) as { message: Request[] } | undefined;
  if (message !== undefined) inbox.push(message.message);
  return message !== undefined;
}

/** After the root store closed: what was posted after the close fails; the caller then ends the thread. */
function finish(): void {
  for (let req = inbox.take(); req !== undefined; req = inbox.take()) {
    reply(req, false, new KvClosedError(`Cannot ${callOf(req[1])}: the store is closed`));
  }
  sendReplies();
}

/** What the worker opens the store with: an adapter's `openKv` (its options as the client sent them). */
export type OpenKv = (path: string | undefined, options: never) => Kv;

function start(openKv: OpenKv): void {
  const options: Record<string, unknown> = { ...init.options };
  if (init.clock) options.now = () => time;
  if (init.onCommitError) options.onCommitError = (error: KvError) => post({ commitError: toWire(error) });
  try {
    if (init.require !== undefined) {
      options[init.require.option] = createRequire(`${process.cwd()}/`)(init.require.id);
    }
    root = openKv(init.path, options as never);
  } catch (error) {
    // As from openKv: bad arguments are TypeError or RangeError, every other failure a KvError.
    const known = error instanceof KvError || error instanceof TypeError || error instanceof RangeError;
    const failure = known
      ? error
      : new KvError(`Cannot open the store in its worker thread: ${(error as Error)?.message ?? error}`, {
        cause: error,
      });
    post({ replies: [[0, toWire(failure), true]] });
    return;
  }
  conn = kvInternals(root).conn;
  if (conn.batch !== undefined) {
    conn.batch.onEnd = () => {
      if (!dirty) return;
      dirty = false;
      post({ dirty: false });
    };
  }
  port.on("message", (batch) => {
    inbox.push(batch);
    drain();
  });
  post({ replies: [[0, undefined]] });
}

/**
 * Serves the store `openKv` opens to the client that started this thread;
 * does nothing outside such a thread (a doc test, a type check).
 *
 * @param openKv The adapter's `openKv`.
 */
export function serveStore(openKv: OpenKv): void {
  if (port !== undefined) start(openKv);
}
