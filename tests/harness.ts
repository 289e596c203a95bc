/**
 * What every runtime entry hands to the shared suite: a way to register a
 * test, and the adapter under test.
 */

import type { Driver } from "../src/driver.ts";
import type { Kv } from "../src/kv.ts";
import type { KvOptions } from "../src/options.ts";

export type TestFn = (name: string, fn: () => void | Promise<void>) => void;

export interface Target {
  /** For test names: "node:sqlite on Node". */
  name: string;
  runtime: "node" | "bun" | "deno";
  openKv(path?: string, options?: KvOptions): Kv;
  /** Opens the driver's own handle and wraps it with fromDatabase(). */
  fromDatabase(
    path: string,
    options?: KvOptions,
  ): { kv: Kv; userHandleWorks(): boolean; closeUser(): void; pragma(name: string): unknown };
  /** Why this driver cannot open a read-only WAL file as an immutable URI, when it cannot. */
  noUri?: string;
  /** A raw driver connection, for looking at the file behind the store's back. */
  raw(path: string): Driver;
}
