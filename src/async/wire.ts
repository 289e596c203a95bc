/**
 * What crosses the thread boundary of the async client besides values: the
 * requests, the replies, and errors, which structured cloning would turn into
 * plain `Error`s (losing the kvsqlite class, `code` and `sql`).
 *
 * @module
 */

import {
  KvBusyError,
  KvClosedError,
  KvCodecError,
  KvCorruptError,
  KvError,
  type KvErrorCode,
  KvReadOnlyError,
  KvSchemaError,
} from "../errors.ts";

/**
 * One call of a store method, as the worker receives it. A tuple: structured
 * cloning copies one at about a third of the cost of an object with the same
 * fields (measured: 0.39 against 1.18 us per call).
 */
export type Request = [
  /** Its number, which the reply carries back. */
  id: number,
  /** The method. */
  op: string,
  /** Its arguments. */
  args: unknown[],
  /** The transaction it belongs to (0: none). */
  tx: number,
  /** The namespace path from the root store (`[]` for the root). */
  ns: string[],
  /** The caller's clock at the call, when the store was opened with `now` (whatever it returned: the core judges it). */
  now?: unknown,
];

/** The answer to one request: `[id, value]`, or `[id, error, true]` when it threw. */
export type Reply = [id: number, value: unknown] | [id: number, error: WireError, failed: true];

/** An error as it crosses the boundary. */
export interface WireError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: unknown;
  sql?: string | undefined;
  cause?: WireError | undefined;
}

/** The message the worker posts: replies, and what the store tells unasked. */
export interface WorkerMessage {
  replies?: Reply[];
  /** A batch of writes is open in the worker (`durability: "batched"`): keep the process alive until it commits. */
  dirty?: boolean;
  /** A batched commit failed: for `onCommitError`. */
  commitError?: WireError;
}

/** Flattens an error (and its causes) into what structured cloning keeps. */
export function toWire(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const wire: WireError = { name: error.name, message: error.message, stack: error.stack };
  const extra = error as { code?: unknown; sql?: unknown };
  if (extra.code !== undefined) wire.code = extra.code;
  if (typeof extra.sql === "string") wire.sql = extra.sql;
  if (error.cause !== undefined && depth < 4) wire.cause = toWire(error.cause, depth + 1);
  return wire;
}

const KV_CLASSES: Record<string, new (message: string, options?: { cause?: unknown; sql?: string }) => KvError> = {
  KvClosedError,
  KvBusyError,
  KvReadOnlyError,
  KvCorruptError,
  KvSchemaError,
  KvCodecError,
};

const BUILT_IN: Record<string, ErrorConstructor> = {
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
};

/** Rebuilds an error with its class: the kvsqlite classes, the built-in ones, else `Error`. */
export function fromWire(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : fromWire(wire.cause);
  const options = { ...(cause === undefined ? {} : { cause }), ...(wire.sql === undefined ? {} : { sql: wire.sql }) };
  let error: Error;
  const Kv = KV_CLASSES[wire.name];
  if (Kv !== undefined) error = new Kv(wire.message, options);
  else if (wire.name === "KvError") error = new KvError(wire.message, options, wire.code as KvErrorCode);
  else {
    error = new (BUILT_IN[wire.name] ?? Error)(wire.message, cause === undefined ? undefined : { cause });
    if (error.name !== wire.name) error.name = wire.name;
    if (wire.code !== undefined) (error as { code?: unknown }).code = wire.code;
  }
  // The stack is the worker's: where in the core the call failed.
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

/** A port as node:worker_threads gives it on Deno, Bun and Node. */
export interface Port {
  postMessage(message: unknown): void;
  on(event: "message", listener: (message: Request[]) => void): void;
  close(): void;
}

/** What `src/async/channel.ts` hands the worker thread. */
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
