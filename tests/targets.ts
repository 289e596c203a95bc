// The adapters as test targets. Each loads its driver only when used.
import type { Target } from "./harness.ts";
import * as nodeAdapter from "../adapters/node_sqlite.ts";
import * as bunAdapter from "../adapters/bun_sqlite.ts";
import * as betterAdapter from "../adapters/better_sqlite3.ts";
import type { KvOptions } from "../src/options.ts";

type Loader = (id: string) => unknown;
const load: Loader = (id) =>
  (globalThis as unknown as { process: { getBuiltinModule: Loader } }).process.getBuiltinModule(id);

/** Whether a probe of the user's own handle still runs (it does not once the handle is closed). */
function works(probe: () => unknown): () => boolean {
  return () => {
    try {
      probe();
      return true;
    } catch {
      return false;
    }
  };
}

export function nodeTarget(runtime: Target["runtime"]): Target {
  const { DatabaseSync } = load("node:sqlite") as {
    DatabaseSync: new (path: string) => nodeAdapter.DatabaseSyncLike & { isOpen: boolean };
  };
  return {
    name: `node:sqlite on ${runtime}`,
    runtime,
    open: nodeAdapter.openKv,
    openKv: nodeAdapter.openKv,
    openKvAsync: nodeAdapter.openKvAsync,
    fromDatabase(path: string, options?: KvOptions) {
      const db = new DatabaseSync(path);
      return {
        kv: nodeAdapter.fromDatabase(db, options),
        userHandleWorks: works(() => db.prepare("SELECT 1").get()),
        closeUser: () => db.close(),
        pragma: (name: string) => Object.values(db.prepare(`PRAGMA ${name}`).get() as object)[0],
      };
    },
    raw: (path) => nodeAdapter.nodeSqliteDriver(new DatabaseSync(path)),
  };
}

export function bunTarget(): Target {
  const { Database } = load("bun:sqlite") as {
    Database: new (path: string) => bunAdapter.BunDatabaseLike;
  };
  return {
    name: "bun:sqlite on bun",
    runtime: "bun",
    open: bunAdapter.openKv,
    openKv: bunAdapter.openKv,
    openKvAsync: bunAdapter.openKvAsync,
    fromDatabase(path: string, options?: KvOptions) {
      const db = new Database(path);
      return {
        kv: bunAdapter.fromDatabase(db, options),
        userHandleWorks: works(() => db.prepare("SELECT 1").values()),
        closeUser: () => db.close(),
        pragma: (name: string) => db.prepare(`PRAGMA ${name}`).values()[0]![0],
      };
    },
    raw: (path) => bunAdapter.bunSqliteDriver(new Database(path)),
  };
}

/** kvsqlite over better-sqlite3 or libsql (from npm), loaded with require when used. */
export function betterTarget(module: "better-sqlite3" | "libsql", runtime: Target["runtime"]): Target {
  const { createRequire } = load("node:module") as { createRequire(url: string): (id: string) => unknown };
  const Database = createRequire(import.meta.url)(module) as betterAdapter.BetterDatabaseClass;
  return {
    name: `${module} on ${runtime}`,
    runtime,
    noUri: module === "better-sqlite3"
      ? "better-sqlite3 cannot open SQLite URIs"
      : "libsql keeps the file open after close",
    ...(module === "libsql" ? { keepsFileOpen: "libsql keeps the file open after close" } : {}),
    open: (path, options) => betterAdapter.openKv(path, { ...options, Database }),
    openKv: (path, options) => betterAdapter.openKv(path, { ...options, Database }),
    openKvAsync: (path, options) => betterAdapter.openKvAsync(path, { ...options, Database: module }),
    fromDatabase(path: string, options?: KvOptions) {
      const db = new Database(path) as betterAdapter.BetterDatabaseLike & {
        open: boolean;
        pragma(source: string, options?: { simple: boolean }): unknown;
      };
      return {
        kv: betterAdapter.fromDatabase(db, options),
        userHandleWorks: works(() => db.prepare("SELECT 1").get()),
        closeUser: () => void db.close(),
        pragma: (name: string) => (db.prepare(`PRAGMA ${name}`).raw(true) as unknown as { get(): unknown[] }).get()[0],
      };
    },
    raw: (path) => betterAdapter.betterSqliteDriver(new Database(path), module),
  };
}

/** The same adapter through the async client: every store runs in a worker thread. */
export function asyncTarget(target: Target): Target {
  const open = target.openKvAsync;
  if (open === undefined) throw new TypeError(`${target.name} has no openKvAsync`);
  return {
    ...target,
    name: `${target.name} (async)`,
    async: true,
    // On Node the file closes when the worker's thread ends; on Bun libsql keeps it open after its thread.
    keepsFileOpen: target.runtime === "node" ? undefined : target.keepsFileOpen,
    open,
    fromDatabase() {
      throw new TypeError("The async client cannot wrap a handle of the calling thread");
    },
  };
}
