/**
 * Deno KV values in a kvsqlite table: every value the core's codec carries
 * (kind 0 to 6, so the CLI and the core read them too), and `KvU64` as kind 7.
 * Deno KV's value limit (64 KiB) is checked on the stored form.
 *
 * @module
 */

import { type Codec, decodeValue, encodeValue, Kind } from "../codec.ts";
import type { SqlValue } from "../driver.ts";
import { utf8Length } from "../keys.ts";
import { KvU64 } from "./u64.ts";

/** The largest value, in bytes of its stored form (Deno KV's). */
export const MAX_VALUE_BYTES = 65536;

/** A value's stored form and its size. */
export interface Stored {
  v: SqlValue;
  kind: number;
  size: number;
}

/** The size of a stored form in bytes: a blob's length, a text's UTF-8 length, 8 for a number. */
export function storedSize(v: SqlValue): number {
  return v instanceof Uint8Array ? v.length : typeof v === "string" ? utf8Length(v) : 8;
}

/** The stored form of a value and its size (a value the codec cannot carry throws at once). */
export function storeValue(value: unknown, codec: Codec): Stored {
  if (value instanceof KvU64) return { v: value.value.toString(), kind: Kind.u64, size: 8 };
  const [v, kind] = encodeValue(value, codec);
  return { v, kind, size: storedSize(v) };
}

/** A stored value's size; `TypeError` with Deno KV's message past 64 KiB. */
export function checkValueSize(stored: Stored): number {
  if (stored.size > MAX_VALUE_BYTES) throw new TypeError(`Value too large (max ${MAX_VALUE_BYTES} bytes)`);
  return stored.size;
}

/** The value of a stored form. */
export function readValue(v: SqlValue | undefined, kind: SqlValue | undefined, codec: Codec): unknown {
  if (kind === Kind.u64) return new KvU64(BigInt(v as string));
  return decodeValue(v, kind, codec);
}
