/**
 * The keys of memoized calls: the entry's key in the file (SHA-256 of a
 * canonical, versioned encoding of the arguments, so that processes on Deno,
 * Bun and Node share entries; FORMAT.md, "Memoize keys") and its key in the
 * in-process L1 (no hashing).
 *
 * @module
 */

import { canonicalJson } from "../codec.ts";
import { KvCodecError } from "../errors.ts";
import { builtin } from "../runtime.ts";

/** The version of the argument encoding, hashed with it (FORMAT.md, "Memoize keys"). */
export const MEMO_KEY_VERSION = 1;

type NodeCrypto = { hash(algorithm: string, data: string, encoding: "hex"): string };
let nodeCrypto: NodeCrypto | undefined;

/** SHA-256, hex, of the canonical encoding of `args`; `TypeError` for an argument it cannot encode. */
export function argumentsKey(args: readonly unknown[]): string {
  let text: string;
  try {
    text = `${MEMO_KEY_VERSION}\n${canonicalArguments(args)}`;
  } catch (error) {
    if (!(error instanceof KvCodecError)) throw error;
    throw new TypeError(`Cannot derive the cache key: ${error.message.replace(/^Cannot encode value: /, "")}`);
  }
  nodeCrypto ??= builtin<NodeCrypto>("node:crypto")!;
  return nodeCrypto.hash("sha256", text, "hex");
}

/**
 * {@link canonicalJson} of the argument array; strings, finite numbers other
 * than -0, booleans and null stand for themselves in tagged JSON, so a list of
 * only those is written directly, the same text without building the tree.
 */
function canonicalArguments(args: readonly unknown[]): string {
  let text = '["a"';
  for (const a of args) {
    const type = typeof a;
    if (
      type === "string" || type === "boolean" || a === null ||
      (type === "number" && Number.isFinite(a) && !Object.is(a, -0))
    ) {
      text += "," + JSON.stringify(a);
    } else {
      return canonicalJson(args);
    }
  }
  return text + "]";
}

/**
 * The L1 key of a call, without hashing: a lone primitive argument by itself
 * (a Map tells 1, "1", 1n and true apart), anything else by its canonical text.
 */
export function memoryKey(args: readonly unknown[]): unknown {
  if (args.length === 1) {
    const a = args[0];
    const type = typeof a;
    if (
      type === "number" ? !Object.is(a, -0) : type === "boolean" || type === "bigint" || a === null || a === undefined
    ) {
      return a;
    }
    if (type === "string" && (a as string).charCodeAt(0) !== 0) return a;
  }
  return `\0${canonicalJson(args)}`;
}
