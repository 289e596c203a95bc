/**
 * `kv.atomic()` of the Deno KV facade: checks, mutations and enqueues
 * gathered by a builder and committed in one SQLite transaction, all or
 * nothing, with one versionstamp. Arguments are checked at `commit()` with
 * Deno KV's limits and messages, except what Deno KV checks at once (a value
 * that cannot be stored, a `KvU64` operand, a queue delay or schedule, a
 * malformed mutation).
 *
 * @module
 */

import { encodeValue } from "../codec.ts";
import { settle } from "../runtime.ts";
import { checkBackoff, checkDelay, checkExpireIn, CommitSize, MAX_CHECKS, MAX_MUTATIONS } from "./limits.ts";
import { encodeKey, type KvKey, toStored } from "./key.ts";
import type { DenoStore, Enqueue, Mutation } from "./store.ts";
import { KvU64 } from "./u64.ts";
import { checkValueSize, type Stored, storedSize, storeValue } from "./value.ts";
import { versionOf } from "./store.ts";

/** The symbol that, as the last part of a key given to `set`, is replaced by the commit's versionstamp. */
export const COMMIT_VERSIONSTAMP: unique symbol = Symbol("KvCommitVersionstamp");

/** A check of an atomic operation: the key's versionstamp must be this one (`null`: the key must be missing). */
export interface AtomicCheck {
  /** The key. */
  key: KvKey;
  /** Its expected versionstamp, or `null` for a missing key. */
  versionstamp: string | null;
}

/** A mutation given to `mutate()`. */
export type KvMutation =
  & { key: KvKey }
  & (
    | { type: "set"; value: unknown; expireIn?: number }
    | { type: "delete" }
    | { type: "sum" | "min" | "max"; value: KvU64 }
  );

/** Options of `enqueue`. */
export interface EnqueueOptions {
  /** ms before the message is delivered (at most 30 days). @default 0 */
  delay?: number;
  /** Keys the message is written to when every delivery failed. */
  keysIfUndelivered?: KvKey[];
  /** ms before each retry (at most 5 intervals of at most 1 h). @default [100, 1000, 5000, 30000, 60000] */
  backoffSchedule?: number[];
}

/** The result of a commit whose checks held. */
export interface KvCommitResult {
  /** The checks held: every mutation was written. */
  ok: true;
  /** The commit's versionstamp, shared by every mutation of it. */
  versionstamp: string;
}

/** The result of a commit whose checks failed: nothing was written. */
export interface KvCommitError {
  /** A check failed. */
  ok: false;
}

type Pending =
  | { type: "set"; key: KvKey; value: Stored; expireIn: number | undefined }
  | { type: "delete"; key: KvKey }
  | { type: "sum" | "min" | "max"; key: KvKey; value: unknown };

interface PendingEnqueue {
  value: Stored;
  delay: number;
  keys: KvKey[];
  backoff: number[] | undefined;
}

/** What an operation needs of its store. */
export interface AtomicHost {
  /** The store, once it is checked to be open. */
  open(): DenoStore;
}

/**
 * A set of checks and writes committed together, as Deno KV's
 * `Deno.AtomicOperation`. Obtain one with `kv.atomic()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv } from "@kvsqlite/kvsqlite/deno-kv";
 * await using kv = await openKv(":memory:");
 * const seen = await kv.get(["user", 1]);
 * const result = await kv.atomic().check(seen).set(["user", 1], { name: "Ada" }).commit();
 * assert.equal(result.ok, true);
 * ```
 */
export class AtomicOperation {
  readonly #host: AtomicHost;
  readonly #checks: [unknown, unknown][] = [];
  readonly #mutations: Pending[] = [];
  readonly #enqueues: PendingEnqueue[] = [];

  /** Not for direct use: obtain one from `kv.atomic()`. */
  constructor(host: AtomicHost) {
    this.#host = host;
  }

  #store(): DenoStore {
    return this.#host.open();
  }

  /** Adds checks: the commit writes nothing unless every key has the versionstamp given. */
  check(...checks: AtomicCheck[]): this {
    for (const check of checks) this.#checks.push([check.key, check.versionstamp]);
    return this;
  }

  /** Adds mutations given as objects. */
  mutate(...mutations: KvMutation[]): this {
    for (const mutation of mutations) {
      const m = mutation as { key: KvKey; type: unknown; value?: unknown; expireIn?: unknown };
      switch (m.type) {
        case "delete":
          if (m.value) throw new TypeError("Invalid mutation 'delete' with value");
          this.#mutations.push({ type: "delete", key: m.key });
          break;
        case "set":
        case "sum":
        case "min":
        case "max": {
          if (!Object.hasOwn(m, "value")) throw new TypeError(`Invalid mutation '${m.type}' without value`);
          if (m.type === "set") {
            this.#mutations.push({
              type: "set",
              key: m.key,
              value: this.#value(m.value),
              expireIn: checkExpireIn(typeof m.expireIn === "number" ? m.expireIn : undefined),
            });
          } else this.#mutations.push({ type: m.type, key: m.key, value: m.value });
          break;
        }
        default:
          throw new TypeError("Invalid mutation type");
      }
    }
    return this;
  }

  #value(value: unknown): Stored {
    return storeValue(value, this.#store().conn.codec);
  }

  /** Adds `n` to the `KvU64` at `key` (0 when missing), modulo 2^64. */
  sum(key: KvKey, n: bigint): this {
    this.#mutations.push({ type: "sum", key, value: new KvU64(n) });
    return this;
  }

  /** Sets the `KvU64` at `key` to the smaller of it and `n` (`n` when missing). */
  min(key: KvKey, n: bigint): this {
    this.#mutations.push({ type: "min", key, value: new KvU64(n) });
    return this;
  }

  /** Sets the `KvU64` at `key` to the larger of it and `n` (`n` when missing). */
  max(key: KvKey, n: bigint): this {
    this.#mutations.push({ type: "max", key, value: new KvU64(n) });
    return this;
  }

  /** Sets `key` to `value`, for `expireIn` ms when given. */
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): this {
    const expireIn = checkExpireIn(options?.expireIn);
    this.#mutations.push({ type: "set", key, value: this.#value(value), expireIn });
    return this;
  }

  /** Deletes `key`. */
  delete(key: KvKey): this {
    this.#mutations.push({ type: "delete", key });
    return this;
  }

  /** Enqueues a message, delivered to `listenQueue` once the commit is done. */
  enqueue(value: unknown, options?: EnqueueOptions): this {
    const delay = checkDelay(options?.delay);
    const backoff = checkBackoff(options?.backoffSchedule);
    const [v, kind] = encodeValue(value, this.#store().conn.codec);
    this.#enqueues.push({
      value: { v, kind, size: storedSize(v) },
      delay,
      keys: options?.keysIfUndelivered ?? [],
      backoff,
    });
    return this;
  }

  /**
   * Commits in one transaction: `{ ok: true, versionstamp }`, or `{ ok:
   * false }` when a check failed (nothing is written).
   */
  commit(): Promise<KvCommitResult | KvCommitError> {
    return settle(() => {
      const versionstamp = commitOf(this.#store(), this.#checks, this.#mutations, this.#enqueues);
      return versionstamp === undefined ? { ok: false } : { ok: true, versionstamp };
    });
  }

  /** An operation is not a promise: `await kv.atomic()...` without `commit()` is a mistake. */
  then(): never {
    throw new TypeError("'Deno.AtomicOperation' is not a promise: did you forget to call 'commit()'");
  }
}

/** Checks a commit against Deno KV's limits and runs it: its versionstamp, or `undefined` when a check failed. */
function commitOf(
  store: DenoStore,
  pendingChecks: [unknown, unknown][],
  pending: Pending[],
  pendingEnqueues: PendingEnqueue[],
): string | undefined {
  if (pendingChecks.length > MAX_CHECKS) throw new TypeError(`Too many checks (max ${MAX_CHECKS})`);
  if (pending.length + pendingEnqueues.length > MAX_MUTATIONS) {
    throw new TypeError(`Too many mutations (max ${MAX_MUTATIONS})`);
  }
  const size = new CommitSize();
  const checks: [Uint8Array, bigint | null][] = pendingChecks.map(([key, versionstamp]) => {
    const bytes = encodeKey(key);
    size.check(bytes);
    if (versionstamp === null) return [bytes, null];
    const version = typeof versionstamp === "string" ? versionOf(versionstamp) : undefined;
    if (version === undefined) throw new TypeError("invalid versionstamp");
    return [bytes, version];
  });
  const mutations: Mutation[] = pending.map((m) => {
    let key = m.key;
    const suffix = m.type === "set" && Array.isArray(key) && key.length > 0 &&
      key[key.length - 1] === COMMIT_VERSIONSTAMP;
    if (suffix) key = key.slice(0, -1);
    const bytes = encodeKey(key);
    if (m.type === "delete") {
      size.mutation(bytes, 0);
      return { type: "delete", key: bytes };
    }
    if (m.type === "set") {
      size.mutation(bytes, checkValueSize(m.value));
      return { type: "set", key: bytes, v: m.value.v, kind: m.value.kind, expireIn: m.expireIn, suffix };
    }
    if (!(m.value instanceof KvU64)) {
      throw new TypeError(
        m.type === "sum"
          ? `Cannot sum KvU64 with ${typeLabel(m.value)}`
          : `Failed to perform '${m.type}' mutation on a non-U64 operand`,
      );
    }
    size.mutation(bytes, 8);
    return { type: m.type, key: bytes, operand: m.value.value };
  });
  const enqueues: Enqueue[] = pendingEnqueues.map((e) => {
    const keys = e.keys.map((key) => encodeKey(key));
    size.enqueue(e.value.size, keys, e.backoff);
    return {
      v: e.value.v,
      kind: e.value.kind,
      delay: e.delay,
      backoff: e.backoff === undefined ? null : JSON.stringify(e.backoff),
      dead: keys.length === 0 ? null : JSON.stringify(keys.map(toStored)),
    };
  });
  size.done();
  return store.commit(checks, mutations, enqueues);
}

/** The type of an operand in Deno KV's words. */
function typeLabel(value: unknown): string {
  if (value instanceof Uint8Array) return "Uint8Array";
  const type = typeof value;
  return type === "object" || type === "undefined" ? "Value" : type[0]!.toUpperCase() + type.slice(1);
}
