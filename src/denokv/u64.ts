/**
 * `KvU64`: an unsigned 64-bit integer value, the operand and result of the
 * `sum` (wrapping modulo 2^64), `min` and `max` mutations.
 *
 * @module
 */

const MAX_U64 = 0xffffffffffffffffn;

/**
 * An unsigned 64-bit integer, as Deno KV's `Deno.KvU64`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvU64, openKv } from "@kvsqlite/kvsqlite/deno-kv";
 * await using kv = await openKv(":memory:");
 * await kv.set(["visits"], new KvU64(1n));
 * await kv.atomic().sum(["visits"], 41n).commit();
 * assert.equal(((await kv.get<KvU64>(["visits"])).value)?.value, 42n);
 * ```
 */
export class KvU64 {
  /** The number. */
  readonly value: bigint;

  /**
   * A `KvU64` of a bigint.
   *
   * @param value A bigint from 0 to 2^64 - 1.
   * @throws {TypeError} When `value` is not a bigint.
   * @throws {RangeError} When it is negative or does not fit in 64 bits.
   */
  constructor(value: bigint) {
    if (typeof value !== "bigint") throw new TypeError(`Value must be a bigint: received ${typeof value}`);
    if (value < 0n) throw new RangeError(`Value must be a positive bigint: received ${value}`);
    if (value > MAX_U64) throw new RangeError("Value must fit in a 64-bit unsigned integer");
    this.value = value;
    Object.freeze(this);
  }

  /** The bigint (so that `+`, `<` and friends see it). @returns The bigint. */
  valueOf(): bigint {
    return this.value;
  }

  /** Its decimal digits. @returns The digits. */
  toString(): string {
    return this.value.toString();
  }

  /** `"Deno.KvU64"`, as Deno KV's. @returns The tag. */
  get [Symbol.toStringTag](): string {
    return "Deno.KvU64";
  }
}

/** The result of a `sum`, `min` or `max` mutation of `current` with `operand`. */
export function combine(op: "sum" | "min" | "max", current: bigint, operand: bigint): bigint {
  if (op === "sum") return (current + operand) & MAX_U64;
  if (op === "min") return current < operand ? current : operand;
  return current > operand ? current : operand;
}
