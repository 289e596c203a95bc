/**
 * What every runtime entry hands to the shared suite: a way to register a
 * test, and the adapter under test.
 */

import type { Driver } from "../src/driver.ts";
import type { KvMethods, Mode } from "../src/api.ts";
import type { Kv } from "../src/kv.ts";
import type { KvAsync } from "../src/async/client.ts";
import type { KvOptions } from "../src/options.ts";

/** Registers a test; with `skip`, registers it skipped, naming the reason. */
export type TestFn = (name: string, fn: () => void | Promise<void>, options?: { skip?: string | undefined }) => void;

/**
 * A store of either mode, as the shared suite sees it: every result may be a
 * promise, so the suite awaits every call and one suite runs the synchronous
 * store and the async client alike (awaiting a plain value returns it).
 */
export type AnyKv = KvMethods<Mode> & (Iterable<[string, unknown]> | AsyncIterable<[string, unknown]>);

export interface Target {
  /** For test names: "node:sqlite on Node". */
  name: string;
  runtime: "node" | "bun" | "deno";
  /** The store under test: `Kv`, or for an async target a promise of `KvAsync` (the shared suite awaits both). */
  open(path?: string, options?: KvOptions): AnyKv | Promise<AnyKv>;
  /** The adapter's synchronous store (the tests of what only it has use it). */
  openKv(path?: string, options?: KvOptions): Kv;
  /** The adapter's `openKvAsync`, where it has one (`transactionTimeout` is its own option). */
  openKvAsync?(path?: string, options?: KvOptions & { transactionTimeout?: number }): Promise<KvAsync>;
  /** The calls go through the async client (a worker thread). */
  async?: boolean;
  /** Opens the driver's own handle and wraps it with fromDatabase(). */
  fromDatabase(
    path: string,
    options?: KvOptions,
  ): { kv: Kv; userHandleWorks(): boolean; closeUser(): void; pragma(name: string): unknown };
  /** Why this driver cannot open a read-only WAL file as an immutable URI, when it cannot. */
  noUri?: string;
  /** Why a file this store closed cannot be remounted read-only in the same process, when it cannot. */
  keepsFileOpen?: string;
  /** A raw driver connection, for looking at the file behind the store's back. */
  raw(path: string): Driver;
  /** Why this store has no SQLite file to look into, when it has none (the tests that inspect the file are skipped). */
  noFile?: string;
  /** Why this store has no change feed (`changes()`), when it has none. */
  noChanges?: string;
  /** Why this store does not poll the file for other processes' commits (`stats().polls`), when it does not. */
  noPolling?: string;
  /** Why calls on the store itself inside a transaction's function do not join the transaction, when they do not. */
  manyConnections?: string;
  /** The tag rows of a key table, [tag, key], where the store is not a SQLite file. */
  tagRows?(path: string, table: string): Promise<unknown[][]>;
}

/**
 * Options for a test of what only the synchronous store has (a handle of the
 * calling thread, a function that must run in the worker): skipped, with the
 * reason, on an async target.
 */
export function syncOnly(t: Target, reason: string): { skip?: string } {
  return t.async === true ? { skip: `the async client: ${reason}` } : {};
}
