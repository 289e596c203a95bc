/**
 * kvsqlite: a persistent key-value store on SQLite for Deno, Bun and Node.
 *
 * `openKv()` opens the runtime's built-in driver by itself: `bun:sqlite` on
 * Bun, `node:sqlite` on Deno and Node. For another driver, import the
 * adapter (`./bun`, `./node`, `./deno`) or plug one in with {@link fromDriver}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv } from "@kvsqlite/kvsqlite";
 * using kv = openKv(":memory:");
 * kv.set("session:42", { user: "ada" }, { ttl: 30 * 60_000 });
 * assert(kv.keys({ prefix: "session:" })[0] === "session:42");
 * ```
 *
 * @module
 */

import type { Kv } from "./src/kv.ts";
import type { KvOptions } from "./src/options.ts";
// These two adapters load their driver with process.getBuiltinModule when a
// store is opened, never at import: importing them loads no driver module.
import { openKv as openBun, openKvAsync as openBunAsync } from "./adapters/bun_sqlite.ts";
import { openKv as openNode, openKvAsync as openNodeAsync } from "./adapters/node_sqlite.ts";
import type { KvAsync, KvAsyncOptions } from "./src/async/client.ts";
import { isBun } from "./src/runtime.ts";

export { Kv } from "./src/kv.ts";
export { KvAsync } from "./src/async/client.ts";
export * from "./src/public.ts";
export { taggedJson } from "./src/codec.ts";
export { fromDriver } from "./src/open.ts";

/**
 * Opens a store with the runtime's built-in SQLite: `bun:sqlite` on Bun,
 * `node:sqlite` on Deno (>= 2.2) and Node (>= 22.13). Synchronous everywhere.
 *
 * @param path The file (parent folders are created); `":memory:"` or omitted: in memory.
 * @param options See {@link KvOptions}.
 * @returns The store.
 * @throws {KvError} When the file cannot be opened, `KvSchemaError` when its schema is newer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKv } from "@kvsqlite/kvsqlite";
 * using kv = openKv(":memory:", { table: "cache" });
 * kv.set("answer", 42, { ttl: 60_000 });
 * assert(kv.get("answer") === 42);
 * ```
 */
export function openKv(path?: string, options?: KvOptions): Kv {
  return isBun() ? openBun(path, options) : openNode(path, options);
}

/**
 * Opens a store with the runtime's built-in SQLite in a worker thread: the
 * methods of `Kv`, each returning a promise, so that this thread never waits
 * on SQLite (a lock held by another process, a long `vacuum()` or `backup()`).
 *
 * @param path The file (parent folders are created); `":memory:"` or omitted: in memory.
 * @param options As for {@link openKv}, but `codec` (it cannot cross to the worker thread).
 * @returns The store, once the worker has opened it.
 * @throws {KvError} When the file cannot be opened, `KvSchemaError` when its schema is newer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openKvAsync } from "@kvsqlite/kvsqlite";
 * await using kv = await openKvAsync(":memory:");
 * await kv.transaction(async (tx) => {
 *   await tx.set("a", 1);
 *   await tx.incr("a");
 * });
 * assert.equal(await kv.get("a"), 2);
 * ```
 */
export function openKvAsync(path?: string, options?: KvAsyncOptions): Promise<KvAsync> {
  return isBun() ? openBunAsync(path, options) : openNodeAsync(path, options);
}
