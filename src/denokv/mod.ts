/**
 * The Deno KV API on Deno, Bun and Node: `openKv()` gives an object with the
 * methods and semantics of `Deno.Kv` (tuple keys, `atomic()` with
 * versionstamp checks, `list` with cursors, `KvU64`, `watch`, `enqueue` and
 * `listenQueue`) on a kvsqlite file, without `--unstable-kv`. Its table is an
 * ordinary kvsqlite table (`denokv` unless `table` says otherwise), so the
 * CLI, `backup()` and `stats()` work on it, and its `watch` and queue see
 * every process on the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvU64, openKv } from "@kvsqlite/kvsqlite/deno-kv";
 * await using kv = await openKv(":memory:");
 * const result = await kv.atomic()
 *   .check({ key: ["user", 1], versionstamp: null })
 *   .set(["user", 1], { name: "Ada" })
 *   .sum(["count"], 1n)
 *   .commit();
 * assert.equal(result.ok, true);
 * assert.deepEqual((await kv.get(["count"])).value, new KvU64(1n));
 * ```
 *
 * @module
 */

import { openKv as openCore } from "../../mod.ts";
import { settle } from "../runtime.ts";
import { type Kv as CoreKv, kvInternals } from "../kv.ts";
import type { KvOptions } from "../options.ts";
import { QueueStore } from "../queue/queue.ts";
import { Table } from "../table.ts";
import { createKv, type Kv } from "./kv.ts";
import { DenoStore } from "./store.ts";

export { Kv } from "./kv.ts";
export type { ReadOptions } from "./kv.ts";
export { KvU64 } from "./u64.ts";
export { AtomicOperation } from "./atomic.ts";
export type { AtomicCheck, EnqueueOptions, KvCommitError, KvCommitResult, KvMutation } from "./atomic.ts";
export { KvListIterator } from "./list.ts";
export type { KvListOptions, KvListSelector } from "./list.ts";
export type { KvEntry, KvEntryMaybe } from "./store.ts";
export type { KvKey, KvKeyPart } from "./key.ts";
export type { WatchOptions } from "./watch.ts";

/** The table of the facade's keys when `table` is not given. */
export const DEFAULT_TABLE = "denokv";

/** Options of `openKv`: the core's (`table` defaults to `"denokv"`). */
export type DenoKvOptions = KvOptions;

function checkPath(path: unknown): string {
  if (path === undefined || path === null) return ":memory:";
  if (typeof path !== "string") throw new TypeError(`Path must be a string: received ${typeof path}`);
  if (path === "") throw new TypeError("Filename cannot be empty");
  if (/^https?:\/\//i.test(path)) {
    throw new TypeError(`Remote databases (KV Connect) are not supported: open a file path, received ${path}`);
  }
  if (path.startsWith(":") && path !== ":memory:") {
    throw new TypeError("Filename cannot start with ':' unless prefixed with './'");
  }
  return path;
}

/**
 * Opens a database with the runtime's built-in SQLite (`bun:sqlite` on Bun,
 * `node:sqlite` on Deno and Node), as `Deno.openKv` does.
 *
 * @param path The file (parent folders are created); `":memory:"` or omitted: in memory.
 * @param options The core's options; `table` defaults to `"denokv"`.
 * @returns The database.
 * @throws {TypeError} For an empty path, a URL, or a path that starts with `:` (other than `":memory:"`).
 */
export function openKv(path?: string, options?: DenoKvOptions): Promise<Kv> {
  return settle(() => fromKv(openCore(checkPath(path), { ...options, table: options?.table ?? DEFAULT_TABLE })));
}

/**
 * The Deno KV API over a store opened by any adapter (`./node`, `./bun`,
 * `./deno`, `./better-sqlite3`), on the store's table. The facade owns the
 * store from then on: its `close()` closes it.
 *
 * @param kv A synchronous store, open on the table the facade's keys go to.
 * @returns The database.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv as openCore } from "@kvsqlite/kvsqlite";
 * import { fromKv } from "@kvsqlite/kvsqlite/deno-kv";
 * using kv = fromKv(openCore(":memory:", { table: "denokv" }));
 * await kv.set(["a"], 1);
 * assert.equal((await kv.get(["a"])).value, 1);
 * ```
 */
export function fromKv(kv: CoreKv): Kv {
  const { conn, table: name } = kvInternals(kv);
  const table = new Table(conn, name);
  if (!conn.readOnly) table.ensure();
  const store = new DenoStore(conn, table, new QueueStore(conn, table, ""));
  return createKv(store, () => kv.close());
}
