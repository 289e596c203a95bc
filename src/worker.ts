/**
 * The worker thread behind `openKvAsync()`: it opens the store with the
 * caller's adapter and runs the calls the client posts, in order, on the same
 * synchronous core. A `transaction()` keeps the thread inside the core's own
 * `transaction(fn)` while the caller's async function runs, taking the calls
 * of that transaction off the port synchronously; calls from outside it wait,
 * in order, until it ends.
 *
 * Not an entry point: `src/async.ts` starts it.
 *
 * @module
 */

import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { createRequire } from "node:module";
import process from "node:process";
import type { Kv } from "./kv.ts";
import { kvInternals } from "./kv.ts";
import { sweep } from "./open.ts";
import type { KvError } from "./errors.ts";
import { KvClosedError } from "./errors.ts";
import { type Reply, type Request, toWire, type WorkerMessage } from "./wire.ts";

/** A port as node:worker_threads gives it on Deno, Bun and Node. */
interface Port {
  postMessage(message: unknown): void;
  on(event: "message", listener: (message: Request[]) => void): void;
  close(): void;
}

/** What `src/async.ts` hands the worker. */
export interface WorkerInit {
  port: Port;
  /** [0]: rung by the caller after each post; [1]: rung by the worker after each reply. */
  bell: Int32Array;
  /** The adapter module whose `openKv` opens the store. */
  adapter: string;
  path: string | undefined;
  options: Record<string, unknown>;
  /** An option that is a class (better-sqlite3's `Database`), given as a module to require. */
  require?: { option: string; id: string };
  /** The caller injected a clock: each request carries its time. */
  clock: boolean;
  /** The caller gave `onCommitError`. */
  onCommitError: boolean;
}

/** How long the thread looks for the next call before it sleeps until one is posted (ms). */
const SPIN_MS = 0.05;
/** How long one turn may run calls before the thread lets its timers (the batch commit, the sweeper) run (ms). */
const TURN_MS = 2;

const ROLLBACK = Symbol("rollback");

// Imported anywhere but in the client's worker (a doc test, a type check), the module does nothing.
const init = (workerData ?? {}) as WorkerInit;
const { port, bell } = init;
let time = Date.now();
let root: Kv | undefined;
const inbox: Request[] = [];
let replies: Reply[] = [];
/** Transactions open now, innermost last. */
const open: number[] = [];
let dirty = false;
/** The root store was closed: the thread answers what is left and ends. */
let closing = false;

function post(message: WorkerMessage): void {
  port.postMessage(message);
  Atomics.add(bell, 1, 1);
}

function sendReplies(): void {
  if (replies.length === 0) return;
  const batch = replies;
  replies = [];
  // Structured cloning refuses what a reply cannot carry; the caller is told.
  try {
    post({ replies: batch, dirty });
  } catch (error) {
    post({
      replies: batch.map((r) => ({ id: r.id, ok: false, error: toWire(error) }) as Reply),
      dirty,
    });
  }
}

function reply(req: Request, ok: boolean, value: unknown): void {
  replies.push(ok ? { id: req.id, ok: true, value } : { id: req.id, ok: false, error: toWire(value) });
}

function scope(ns: string[]): Kv {
  let kv = root!;
  for (const name of ns) kv = kv.namespace(name);
  return kv;
}

/** The methods a request may name, beyond `list`, `transaction` and the ends of a transaction. */
const METHODS = new Set([
  "get",
  "getEntry",
  "getMany",
  "set",
  "setMany",
  "has",
  "delete",
  "deleteMany",
  "take",
  "touch",
  "incr",
  "ttl",
  "expire",
  "expireAt",
  "persist",
  "rename",
  "keys",
  "values",
  "entries",
  "count",
  "purgeExpired",
  "clear",
  "namespace",
  "namespaces",
  "dropNamespace",
  "tags",
  "stats",
  "checkpoint",
  "vacuum",
  "optimize",
  "integrityCheck",
  "backup",
  "flush",
  "close",
]);

function handle(req: Request): void {
  if (init.clock) time = req.now as number;
  if (req.tx !== 0 && !open.includes(req.tx)) {
    reply(req, false, new KvClosedError(`Cannot ${req.op}: the transaction has ended`));
    return;
  }
  let kv: Kv;
  try {
    kv = scope(req.ns);
  } catch (error) {
    reply(req, false, error);
    return;
  }
  if (req.op === "transaction") return transaction(kv, req);
  try {
    let value: unknown;
    if (req.op === "list") value = [...kv.list(...(req.args as Parameters<Kv["list"]>))];
    else if (req.op === "namespace") value = void kv.namespace(req.args[0] as string);
    else if (req.op === "sweep") value = void sweep(kv);
    else if (METHODS.has(req.op)) {
      value = (kv[req.op as keyof Kv] as (...args: unknown[]) => unknown).apply(kv, req.args);
    } else throw new TypeError(`Cannot call ${req.op}: no such method`);
    reply(req, true, value);
  } catch (error) {
    reply(req, false, error);
  }
  if (req.op === "close" && req.ns.length === 0 && kvInternals(root!).conn.closed) closing = true;
}

/**
 * Runs the core's `transaction(fn)`, whose `fn` takes this transaction's
 * calls from the port until the caller commits or rolls back.
 */
function transaction(kv: Kv, req: Request): void {
  const id = req.args[0] as number;
  let begun = false;
  let end: Request | undefined;
  try {
    kv.transaction(() => {
      begun = true;
      open.push(id);
      try {
        reply(req, true, undefined);
        sendReplies();
        end = serve(id);
      } finally {
        open.pop();
      }
      if (end.op === "rollback") throw ROLLBACK;
    });
    reply(end!, true, undefined);
  } catch (error) {
    if (!begun) reply(req, false, error);
    else if (end === undefined) throw error;
    else reply(end, error === ROLLBACK, error === ROLLBACK ? undefined : error);
  }
}

/** Serves transaction `id`'s calls, waiting for them without leaving this turn; returns its commit or rollback. */
function serve(id: number): Request {
  for (;;) {
    const i = inbox.findIndex((r) => r.tx === id);
    if (i >= 0) {
      const req = inbox.splice(i, 1)[0]!;
      if (req.op === "commit" || req.op === "rollback") return req;
      handle(req);
      continue;
    }
    sendReplies();
    const seen = Atomics.load(bell, 0);
    const message = receiveMessageOnPort(port as never) as { message: Request[] } | undefined;
    if (message !== undefined) inbox.push(...message.message);
    else Atomics.wait(bell, 0, seen, 1000);
  }
}

/** Runs what has arrived, and what arrives within a short look, then lets the thread's timers run. */
function drain(): void {
  const start = performance.now();
  for (;;) {
    while (inbox.length > 0 && !closing) handle(inbox.shift()!);
    if (closing) return finish();
    if (!dirty && root !== undefined) dirty = batchOpen();
    sendReplies();
    if (performance.now() - start > TURN_MS) return;
    const seen = Atomics.load(bell, 0);
    const end = performance.now() + SPIN_MS;
    while (Atomics.load(bell, 0) === seen && performance.now() < end) {
      // A call posted right after the last one is taken now instead of after
      // the thread wakes from its event loop (measured tens of microseconds).
    }
    const message = receiveMessageOnPort(port as never) as { message: Request[] } | undefined;
    if (message === undefined) return;
    inbox.push(...message.message);
  }
}

function batchOpen(): boolean {
  return kvInternals(root!).conn.batchOpen;
}

/** After the root store closed: what was posted after the close fails; the caller then ends the thread. */
function finish(): void {
  for (const req of inbox.splice(0)) reply(req, false, new KvClosedError(`Cannot ${req.op}: the store is closed`));
  sendReplies();
}

async function start(): Promise<void> {
  const options: Record<string, unknown> = { ...init.options };
  if (init.clock) options.now = () => time;
  if (init.onCommitError) options.onCommitError = (error: KvError) => post({ commitError: toWire(error) });
  try {
    if (init.require !== undefined) {
      options[init.require.option] = createRequire(`${process.cwd()}/`)(init.require.id);
    }
    const adapter = await import(init.adapter) as { openKv(path?: string, options?: object): Kv };
    root = adapter.openKv(init.path, options);
  } catch (error) {
    post({ replies: [{ id: 0, ok: false, error: toWire(error) }] });
    return;
  }
  kvInternals(root).conn.onBatchEnd = () => {
    if (!dirty) return;
    dirty = false;
    post({ dirty: false });
  };
  port.on("message", (batch) => {
    inbox.push(...batch);
    drain();
  });
  post({ replies: [{ id: 0, ok: true, value: undefined }] });
}

if (port !== undefined) void start();
