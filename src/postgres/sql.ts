/**
 * What the PostgreSQL store's statements share: the time every statement
 * reads (`$1`: the store's clock, or NULL for the server's), and a value's
 * columns (`t`, `n`, `b`, `kind`: FORMAT.md, "PostgreSQL") both ways.
 *
 * @module
 */

import { type Codec, decodeValue } from "../codec.ts";
import type { SqlValue } from "../driver.ts";

/** The server's time in ms, or the store's clock (`$1`). */
export const NOW = "COALESCE($1::float8, floor(extract(epoch FROM statement_timestamp()) * 1000))";

/** An encoded value (`encodeValue`'s, or bytes that crossed as an ArrayBuffer) as `t, n, b` (bytes as hex) and its kind. */
export function toColumns(
  v: SqlValue | ArrayBuffer,
  kind: number,
): [string | null, number | null, string | null, number] {
  if (typeof v === "string") return [v, null, null, kind];
  if (typeof v === "number") return [null, v, null, kind];
  if (typeof v === "bigint") return [null, Number(v), null, kind]; // an integer within ±(2^53 - 1): exact
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
    let hex = "";
    for (const byte of new Uint8Array(v)) hex += byte.toString(16).padStart(2, "0");
    return [null, null, hex, kind];
  }
  return [null, null, null, kind];
}

/** The value of the columns `t, n, b, kind` of `row`, from index `at`. */
export function fromColumns(row: unknown[], at: number, codec: Codec): unknown {
  const [t, n, b, kind] = row.slice(at, at + 4);
  let v: SqlValue = null;
  if (t !== null) v = t as string;
  else if (n !== null) v = Number(n);
  else if (b !== null) v = new Uint8Array(b as Uint8Array);
  return decodeValue(v, Number(kind), codec);
}
