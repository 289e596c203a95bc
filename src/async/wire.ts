/**
 * What crosses the thread boundary of the async client besides values: the
 * requests, the replies, and errors, which structured cloning would turn into
 * plain `Error`s (losing the kvsqlite class, `code` and `sql`).
 *
 * @module
 */

import {
  KvBusyError,
  KvChangesGapError,
  KvClosedError,
  KvCodecError,
  KvCorruptError,
  KvError,
  type KvErrorCode,
  KvReadOnlyError,
  KvSchemaError,
} from "../errors.ts";
import { TYPED_ARRAYS } from "../codec.ts";

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

/**
 * The answer to one request: `[id, value]`; `[id, error, true]` when it threw;
 * `[id, packed, false, bytes]` when the value's byte arrays cross beside it
 * (see {@link packBytes}).
 */
export type Reply =
  | [id: number, value: unknown]
  | [id: number, error: WireError, failed: true]
  | [id: number, packed: unknown, failed: false, bytes: PackedBytes];

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
  /** Calls that now wait for a change (a watch's next state): they no longer keep the caller's process alive. */
  parked?: number[];
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
  KvChangesGapError,
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

/** What a transaction that timed out rejects with, on either side of the thread. */
export function transactionTimedOut(timeout: number): KvError {
  return new KvError(
    `Cannot run transaction: fn did not settle within ${timeout} ms (transactionTimeout); the transaction was rolled back`,
    {},
    "TRANSACTION_TIMEOUT",
  );
}

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
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  on(event: "message", listener: (message: Request[]) => void): void;
  close(): void;
}

/** What `src/async/channel.ts` hands the worker thread. */
export interface WorkerInit {
  port: Port;
  /** [0]: rung by the caller after each post; [1]: rung by the worker after each reply. */
  bell: Int32Array;
  path: string | undefined;
  options: Record<string, unknown>;
  /** An option that is a class (better-sqlite3's `Database`), given as a module to require. */
  require?: { option: string; id: string };
  /** The caller injected a clock: each request carries its time. */
  clock: boolean;
  /** The caller gave `onCommitError`. */
  onCommitError: boolean;
  /** ms after which a transaction whose `fn` has not settled is rolled back (`transactionTimeout`). */
  transactionTimeout: number;
  /** The placeholder key of byte arrays packed into replies (see {@link packBytes}); absent: replies are not packed. */
  bytesMark?: string;
}

// ---- bytes ---------------------------------------------------------------------

/**
 * Byte arrays taken out of a value so that they cross as `ArrayBuffer`s: Deno's
 * `MessagePort` clones a typed array at about 230 ms per MiB, an `ArrayBuffer`
 * at a few ms (measured on Deno 2.9; Node and Bun clone both at a few ms).
 * Each entry: the buffer and the view's class.
 */
export type PackedBytes = [buffer: ArrayBuffer, view: string][];

/** A placeholder's key for one store: random, so that no stored object can carry it by chance. */
export function bytesMark(): string {
  return `\0kvsqlite-bytes-${globalThis.crypto.randomUUID()}`;
}

/** The bytes of a view, in a buffer of their own (a copy unless the view is its whole buffer). */
export function ownBuffer(view: ArrayBufferView): ArrayBuffer {
  const buffer = view.buffer as ArrayBuffer;
  if (view.byteOffset === 0 && view.byteLength === buffer.byteLength && !(buffer instanceof SharedArrayBuffer)) {
    return buffer;
  }
  return buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Replaces every typed array and DataView inside `value` (in arrays, plain
 * objects, Maps and Sets) by a placeholder, and returns the value with the
 * byte arrays beside it; `undefined` when it holds none (nothing is copied then).
 * The value is the receiver's own (decoded for this reply), so it is changed in place.
 */
export function packBytes(value: unknown, mark: string): [unknown, PackedBytes] | undefined {
  const bytes: PackedBytes = [];
  const pack = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== "object" || depth > MAX_NESTING) return value;
    if (ArrayBuffer.isView(value)) {
      bytes.push([ownBuffer(value), value.constructor.name]);
      return { [mark]: bytes.length - 1 };
    }
    eachSlot(value, (v) => pack(v, depth + 1));
    return value;
  };
  const out = pack(value, 0);
  return bytes.length === 0 ? undefined : [out, bytes];
}

/** Deeper than the codec lets a value nest (1000), with room for the reply's own arrays and objects. */
const MAX_NESTING = 1100;

/** Replaces each slot of an array, plain object, Map (keys and values) or Set by `f` of it, in place. */
function eachSlot(value: object, f: (v: unknown) => unknown): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = f(value[i]);
  } else if (value instanceof Map) {
    const entries = [...value];
    value.clear();
    for (const [k, v] of entries) value.set(f(k), f(v));
  } else if (value instanceof Set) {
    const members = [...value];
    value.clear();
    for (const m of members) value.add(f(m));
  } else if (isPlain(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = f(record[key]);
  }
}

/** Puts back the byte arrays {@link packBytes} took out; the received value is changed in place. */
export function unpackBytes(value: unknown, bytes: PackedBytes, mark: string): unknown {
  const unpack = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== "object" || depth > MAX_NESTING) return value;
    const slot = isPlain(value) ? (value as Record<string, unknown>)[mark] : undefined;
    if (typeof slot === "number") {
      const [buffer, view] = bytes[slot]!;
      return new (TYPED_ARRAYS[view] ?? Uint8Array)(buffer);
    }
    eachSlot(value, (v) => unpack(v, depth + 1));
    return value;
  };
  return unpack(value, 0);
}
