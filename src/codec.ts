/**
 * The value codec: how a JavaScript value becomes one SQLite value plus a
 * small integer kind, and back. FORMAT.md is the normative description.
 *
 * @module
 */

import { KvCodecError } from "./errors.ts";
import type { SqlValue } from "./driver.ts";

/**
 * Encodes the values that are not stored natively (objects, arrays, `Map`,
 * `Date`, ...). The default is kvsqlite's tagged JSON; supply your own (for
 * example a msgpack or CBOR one) through `options.codec`.
 *
 * @example A codec that stores plain JSON only
 * ```ts
 * import { openKv, type Codec } from "@kvsqlite/kvsqlite";
 * const json: Codec = { encode: (v) => JSON.stringify(v), decode: (d) => JSON.parse(String(d)) };
 * using kv = openKv(":memory:", { codec: json });
 * kv.set("a", { n: 1 });
 * ```
 */
export interface Codec {
  /** Turns a structured value into text or bytes. Throw for a value you cannot encode. */
  encode(value: unknown): string | Uint8Array;
  /** Turns what `encode` produced back into the value. */
  decode(data: string | Uint8Array): unknown;
}

/** Value kinds as stored in the `kind` column (FORMAT.md, "Value kinds"). */
export const Kind = {
  native: 0,
  structured: 1,
  bigint: 2,
  number: 3,
  boolean: 4,
  undefined: 5,
  escapedString: 6,
  u64: 7,
} as const;

/** The typed array classes (and DataView) of this runtime, by name. */
export const TYPED_ARRAYS: Record<string, new (buffer: ArrayBuffer) => ArrayBufferView> = {};
for (
  const name of [
    "Int8Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float16Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
    "DataView",
  ]
) {
  const ctor = (globalThis as Record<string, unknown>)[name];
  if (typeof ctor === "function") {
    TYPED_ARRAYS[name] = ctor as new (buffer: ArrayBuffer) => ArrayBufferView;
  }
}

type Base64Bytes = Uint8Array & { toBase64?: () => string };
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array })
  .fromBase64;

/** Base64 of some bytes, using the runtime's native encoder when it has one. */
export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as Base64Bytes).toBase64;
  if (typeof native === "function") return native.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The bytes of a base64 string. */
export function fromBase64(text: string): Uint8Array {
  if (nativeFromBase64) return nativeFromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function describe(value: unknown): string {
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  if (typeof value === "symbol") return `a symbol (${String(value)})`;
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  return `an instance of ${ctor?.name ?? "an unknown class"}`;
}

function bytesOf(view: ArrayBufferView | ArrayBuffer): string {
  const bytes = view instanceof ArrayBuffer
    ? new Uint8Array(view)
    : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  return toBase64(bytes);
}

function special(n: number): string {
  return Object.is(n, -0) ? "-0" : String(n);
}

/**
 * The deepest nesting of containers a structured value may have. Decoding is
 * recursive, and the smallest stack among the runtimes (Node's default)
 * overflows in the low thousands: a deeper value would be written and then be
 * unreadable, so it is refused before anything is written.
 */
export const MAX_DEPTH = 1000;

function toTree(value: unknown, path: Set<object>, sorted = false): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? value : ["n", special(value)];
    case "bigint":
      return ["b", value.toString()];
    case "undefined":
      return ["u"];
    case "object":
      break;
    default:
      throw new KvCodecError(`Cannot encode value: ${describe(value)} is not storable`);
  }
  if (value === null) return null;
  if (path.has(value)) {
    throw new KvCodecError("Cannot encode value: it contains a reference cycle");
  }
  if (path.size >= MAX_DEPTH) {
    throw new KvCodecError(`Cannot encode value: it is nested more than ${MAX_DEPTH} levels deep`);
  }
  path.add(value);
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = ["a"];
      for (let i = 0; i < value.length; i++) out.push(toTree(value[i], path, sorted));
      return out;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      const keys = Object.keys(value);
      if (sorted) keys.sort();
      for (const key of keys) {
        const encoded = toTree((value as Record<string, unknown>)[key], path, sorted);
        if (key === "__proto__") {
          Object.defineProperty(out, key, { value: encoded, enumerable: true, writable: true, configurable: true });
        } else {
          out[key] = encoded;
        }
      }
      return out;
    }
    if (value instanceof Date) return ["D", toTree(value.getTime(), path, sorted)];
    if (value instanceof Map) {
      const out: unknown[] = ["M"];
      for (const [k, v] of value) out.push(toTree(k, path, sorted), toTree(v, path, sorted));
      return out;
    }
    if (value instanceof Set) {
      const out: unknown[] = ["S"];
      for (const v of value) out.push(toTree(v, path, sorted));
      return out;
    }
    if (value instanceof RegExp) return ["R", value.source, value.flags];
    // Errors as structured cloning keeps them: the kind, message and stack (DOMException: its name and message).
    if (typeof DOMException === "function" && value instanceof DOMException) return ["X", value.name, value.message];
    if (value instanceof Error) {
      const name = Object.hasOwn(ERRORS, value.name) ? value.name : "Error";
      return typeof value.stack === "string" ? ["E", name, value.message, value.stack] : ["E", name, value.message];
    }
    if (value instanceof Uint8Array) return ["B", "Uint8Array", bytesOf(value)];
    if (value instanceof ArrayBuffer) return ["B", "ArrayBuffer", bytesOf(value)];
    if (ArrayBuffer.isView(value)) {
      const name = (value as unknown as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] ??
        (value instanceof DataView ? "DataView" : "");
      if (name in TYPED_ARRAYS) return ["B", name, bytesOf(value)];
    }
    throw new KvCodecError(`Cannot encode value: ${describe(value)} is not storable`);
  } finally {
    path.delete(value);
  }
}

/** The error classes structured cloning keeps by name; any other error is stored as an `Error`. */
const ERRORS: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

function fromTree(node: unknown): unknown {
  if (node === null || typeof node !== "object") return node;
  if (!Array.isArray(node)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(node)) {
      const value = fromTree((node as Record<string, unknown>)[key]);
      if (key === "__proto__") {
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      } else {
        out[key] = value;
      }
    }
    return out;
  }
  switch (node[0]) {
    case "a":
      return node.slice(1).map(fromTree);
    case "n":
      return node[1] === "-0" ? -0 : Number(node[1]);
    case "b":
      return BigInt(node[1] as string);
    case "u":
      return undefined;
    case "D":
      return new Date(fromTree(node[1]) as number);
    case "M": {
      const map = new Map();
      for (let i = 1; i < node.length; i += 2) map.set(fromTree(node[i]), fromTree(node[i + 1]));
      return map;
    }
    case "S":
      return new Set(node.slice(1).map(fromTree));
    case "R":
      return new RegExp(node[1] as string, node[2] as string);
    case "E": {
      const error = new (ERRORS[node[1] as string] ?? Error)(node[2] as string);
      if (typeof node[3] === "string") {
        Object.defineProperty(error, "stack", { value: node[3], writable: true, configurable: true });
      }
      return error;
    }
    case "X":
      return new DOMException(node[2] as string, node[1] as string);
    case "B": {
      const bytes = fromBase64(node[2] as string);
      if (node[1] === "Uint8Array") return bytes;
      if (node[1] === "ArrayBuffer") return bytes.buffer as ArrayBuffer;
      const ctor = TYPED_ARRAYS[node[1] as string];
      if (!ctor) throw new KvCodecError(`Cannot decode value: unknown binary type ${String(node[1])}`);
      return new ctor(bytes.buffer as ArrayBuffer);
    }
    default:
      throw new KvCodecError(`Cannot decode value: unknown tag ${JSON.stringify(node[0])}`);
  }
}

/**
 * Tagged JSON with the keys of every plain object sorted: equal values give
 * equal text whatever their key order (FORMAT.md, "Memoize keys").
 * Throws {@link KvCodecError} for what tagged JSON cannot hold.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(toTree(value, new Set(), true));
}

/**
 * kvsqlite's default structured codec: tagged JSON (FORMAT.md, "Tagged JSON").
 * Readable in the SQLite shell and by any language with a JSON parser.
 */
export const taggedJson: Codec = {
  encode(value: unknown): string {
    return JSON.stringify(toTree(value, new Set()));
  },
  decode(data: string | Uint8Array): unknown {
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    return fromTree(JSON.parse(text));
  },
};

/** Whether a string is stored as native TEXT (else as an escaped string, kind 6). */
export function isNativeString(value: unknown): value is string {
  return typeof value === "string" && !value.includes("\0") && value.isWellFormed();
}

/**
 * Encodes any value into what is written in the `v` and `kind` columns.
 * Throws {@link KvCodecError} when the value cannot be stored.
 */
export function encodeValue(value: unknown, codec: Codec): [SqlValue, number] {
  switch (typeof value) {
    case "string":
      // Some drivers read TEXT only up to its first NUL, and TEXT is UTF-8, in
      // which a lone surrogate becomes U+FFFD; such strings are stored as a
      // JSON string literal (which escapes both) instead.
      return isNativeString(value) ? [value, Kind.native] : [JSON.stringify(value), Kind.escapedString];
    case "number":
      // Safe integers and finite fractions are exact in every driver; -0, NaN,
      // infinities and integers past 2^53 are not, so they go as text.
      // Integers go as bigint: some drivers bind every number as REAL, and
      // the value column has no affinity to turn 7.0 back into 7.
      if (Number.isSafeInteger(value)) {
        if (!Object.is(value, -0)) return [BigInt(value), Kind.native];
      } else if (Number.isFinite(value) && !Number.isInteger(value)) {
        return [value, Kind.native];
      }
      return [special(value), Kind.number];
    case "boolean":
      return [value ? 1 : 0, Kind.boolean];
    case "bigint":
      return [value.toString(), Kind.bigint];
    case "undefined":
      return [null, Kind.undefined];
  }
  if (value === null) return [null, Kind.native];
  if (value instanceof Uint8Array) {
    return [value.constructor === Uint8Array ? value : new Uint8Array(value), Kind.native];
  }
  let data: string | Uint8Array;
  try {
    data = codec.encode(value);
  } catch (error) {
    if (error instanceof KvCodecError) throw error;
    throw new KvCodecError(`Cannot encode value: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (typeof data !== "string" && !(data instanceof Uint8Array)) {
    throw new KvCodecError("Cannot encode value: the codec must return a string or a Uint8Array");
  }
  return [data, Kind.structured];
}

/** Decodes what was read from the `v` and `kind` columns. */
export function decodeValue(value: SqlValue | undefined, kind: SqlValue | undefined, codec: Codec): unknown {
  switch (kind) {
    case Kind.native:
      return value;
    case Kind.structured:
      try {
        return codec.decode(value as string | Uint8Array);
      } catch (error) {
        if (error instanceof KvCodecError) throw error;
        throw new KvCodecError(`Cannot decode value: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      }
    case Kind.bigint:
    case Kind.u64:
      // A Deno KV KvU64 (written by ./deno-kv) reads as its bigint here.
      return BigInt(value as string);
    case Kind.number:
      return value === "-0" ? -0 : Number(value);
    case Kind.boolean:
      return value === 1 || value === 1n;
    case Kind.undefined:
      return undefined;
    case Kind.escapedString:
      return JSON.parse(value as string);
    default:
      throw new KvCodecError(`Cannot decode value: unknown value kind ${String(kind)}`);
  }
}
