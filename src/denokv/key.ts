/**
 * Deno KV keys: arrays of parts (`Uint8Array`, string, bigint, number,
 * boolean), encoded as FoundationDB's tuple layer encodes them, so that the
 * bytes sort as Deno KV orders keys (Uint8Array < string < bigint < number <
 * false < true, then within a type). The bytes are stored in a kvsqlite key
 * table as a string of one character per byte (byte b is U+0001 + b): a
 * string's UTF-8 order is its code points' order, so the table's own key
 * order is Deno's, and the core reads the table as any other. FORMAT.md,
 * "Deno KV keys", is the normative description.
 *
 * @module
 */

/** One part of a key. */
export type KvKeyPart = Uint8Array | string | number | bigint | boolean | symbol;
/** A key: its parts, most significant first. */
export type KvKey = readonly KvKeyPart[];

const BYTES = 0x01;
const STRING = 0x02;
const INT_ZERO = 0x14;
const INT_NEG_BIG = 0x0b;
const INT_POS_BIG = 0x1d;
const DOUBLE = 0x21;
const FALSE = 0x26;
const TRUE = 0x27;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Growing output for one key's bytes. */
class Out {
  bytes = new Uint8Array(64);
  length = 0;
  push(b: number): void {
    if (this.length === this.bytes.length) this.#grow(1);
    this.bytes[this.length++] = b;
  }
  #grow(n: number): void {
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
  /** Bytes with 0x00 escaped as 0x00 0xFF, then the terminating 0x00. */
  escaped(data: Uint8Array): void {
    for (const b of data) {
      this.push(b);
      if (b === 0) this.push(0xff);
    }
    this.push(0);
  }
  /** A string's UTF-8, escaped and terminated: ASCII without NUL is copied as it is. */
  string(text: string): void {
    const n = text.length;
    if (this.length + n + 1 > this.bytes.length) this.#grow(n + 1);
    const start = this.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 0 || c > 0x7f) {
        this.length = start;
        return this.escaped(encoder.encode(text));
      }
      this.bytes[this.length++] = c;
    }
    this.bytes[this.length++] = 0;
  }
  /** The bytes written. */
  done(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

function bigintBytes(n: bigint): number[] {
  const out: number[] = [];
  while (n > 0n) {
    out.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return out;
}

function encodeBigint(out: Out, n: bigint): void {
  if (n === 0n) return out.push(INT_ZERO);
  const negative = n < 0n;
  const bytes = bigintBytes(negative ? -n : n);
  if (bytes.length > 255) throw new TypeError("BigInt is too large to be a key part");
  if (negative) {
    if (bytes.length <= 8) out.push(INT_ZERO - bytes.length);
    else {
      out.push(INT_NEG_BIG);
      out.push(bytes.length ^ 0xff);
    }
    for (const b of bytes) out.push(b ^ 0xff);
  } else {
    if (bytes.length <= 8) out.push(INT_ZERO + bytes.length);
    else {
      out.push(INT_POS_BIG);
      out.push(bytes.length);
    }
    for (const b of bytes) out.push(b);
  }
}

function encodeDouble(out: Out, n: number): void {
  const view = new DataView(new ArrayBuffer(8));
  // One NaN, as Deno KV stores it.
  view.setFloat64(0, Number.isNaN(n) ? NaN : n);
  const bytes = new Uint8Array(view.buffer);
  if (bytes[0]! & 0x80) { for (let i = 0; i < 8; i++) bytes[i] = bytes[i]! ^ 0xff; }
  else bytes[0] = bytes[0]! ^ 0x80;
  out.push(DOUBLE);
  for (const b of bytes) out.push(b);
}

/** Throws `TypeError` unless `key` is an array of key parts (Deno KV's rule and message). */
export function checkKey(key: unknown): asserts key is KvKey {
  if (!Array.isArray(key)) throw new TypeError("Key must be an array");
  for (const part of key) {
    if (
      !(part instanceof Uint8Array) && typeof part !== "string" && typeof part !== "number" &&
      typeof part !== "bigint" && typeof part !== "boolean"
    ) {
      throw new TypeError(
        `Invalid key part: expected string, number, bigint, ArrayBufferView, boolean, received ${typeof part}`,
      );
    }
  }
}

/** The tuple-layer bytes of a key (its parts checked). */
export function encodeKey(key: unknown): Uint8Array {
  checkKey(key);
  const out = new Out();
  for (const part of key) {
    if (part instanceof Uint8Array) {
      out.push(BYTES);
      out.escaped(part);
    } else if (typeof part === "string") {
      out.push(STRING);
      out.string(part);
    } else if (typeof part === "bigint") encodeBigint(out, part);
    else if (typeof part === "number") encodeDouble(out, part);
    else out.push(part ? TRUE : FALSE);
  }
  return out.done();
}

function readEscaped(bytes: Uint8Array, at: number): [Uint8Array, number] {
  const out: number[] = [];
  for (let i = at; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0) {
      if (bytes[i + 1] === 0xff) {
        out.push(0);
        i++;
        continue;
      }
      return [new Uint8Array(out), i + 1];
    }
    out.push(b);
  }
  throw new TypeError("Invalid key: unterminated part");
}

/** A string part made only of ASCII bytes other than NUL, and where the next part starts; else `undefined`. */
function asciiAt(bytes: Uint8Array, at: number): [string, number] | undefined {
  let text = "";
  for (let i = at; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0) return bytes[i + 1] === 0xff ? undefined : [text, i + 1];
    if (b > 0x7f) return undefined;
    text += String.fromCharCode(b);
  }
  return undefined;
}

/** The parts of a key from its tuple-layer bytes. */
export function decodeKey(bytes: Uint8Array): KvKeyPart[] {
  const parts: KvKeyPart[] = [];
  let at = 0;
  while (at < bytes.length) {
    const type = bytes[at++]!;
    if (type === BYTES) {
      const [data, next] = readEscaped(bytes, at);
      parts.push(data);
      at = next;
    } else if (type === STRING) {
      const ascii = asciiAt(bytes, at);
      if (ascii !== undefined) {
        parts.push(ascii[0]);
        at = ascii[1];
        continue;
      }
      const [data, next] = readEscaped(bytes, at);
      parts.push(decoder.decode(data));
      at = next;
    } else if (type >= INT_NEG_BIG && type <= INT_POS_BIG) {
      let length: number;
      let negative: boolean;
      if (type === INT_NEG_BIG) {
        length = bytes[at++]! ^ 0xff;
        negative = true;
      } else if (type === INT_POS_BIG) {
        length = bytes[at++]!;
        negative = false;
      } else {
        length = Math.abs(type - INT_ZERO);
        negative = type < INT_ZERO;
      }
      let n = 0n;
      for (let i = 0; i < length; i++) n = (n << 8n) | BigInt(negative ? bytes[at + i]! ^ 0xff : bytes[at + i]!);
      at += length;
      parts.push(negative ? -n : n);
    } else if (type === DOUBLE) {
      const raw = bytes.slice(at, at + 8);
      if (raw[0]! & 0x80) raw[0] = raw[0]! ^ 0x80;
      else for (let i = 0; i < 8; i++) raw[i] = raw[i]! ^ 0xff;
      parts.push(new DataView(raw.buffer).getFloat64(0));
      at += 8;
    } else if (type === FALSE || type === TRUE) parts.push(type === TRUE);
    else throw new TypeError(`Invalid key: unknown part type 0x${type.toString(16)}`);
  }
  return parts;
}

/** The key table's string for some key bytes: one character per byte, U+0001 + b, in the same order. */
export function toStored(bytes: Uint8Array): string {
  let text = "";
  if (bytes.length <= 64) {
    for (const b of bytes) text += String.fromCharCode(b + 1);
    return text;
  }
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...Array.from(bytes.subarray(i, i + 4096), (b) => b + 1));
  }
  return text;
}

/** The key bytes of a key table's string. */
export function fromStored(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) - 1;
  return bytes;
}

/** Whether `bytes` starts with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Byte order of two keys' bytes. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Concatenates byte arrays. */
export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
