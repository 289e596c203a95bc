/**
 * One runner for every runtime: benchmarks kvsqlite beside the raw driver for
 * each driver this runtime has, and prints one JSON line per driver.
 * Usage: <runtime> bench/bench.ts [--quick]
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as nodeAdapter from "../adapters/node_sqlite.ts";
import * as bunAdapter from "../adapters/bun_sqlite.ts";
import { PRAGMAS, RAW_SQL, type RawStore, runWorkload, TABLE_SQL } from "./workload.ts";
import { prefixEnd } from "../src/keys.ts";
import type { Kv } from "../src/kv.ts";

type Loader = (id: string) => unknown;
const g = globalThis as unknown as {
  Bun?: unknown;
  Deno?: unknown;
  process: { argv: string[]; getBuiltinModule: Loader; version: string; versions: Record<string, string> };
};
const quick = g.process.argv.includes("--quick");
const runtime = g.Deno ? "deno" : g.Bun ? "bun" : "node";
const version = g.Deno
  ? (g.Deno as { version: { deno: string } }).version.deno
  : g.Bun
  ? g.process.versions.bun!
  : g.process.version;

interface Stmt {
  get?(...p: unknown[]): unknown;
  all?(...p: unknown[]): unknown[];
  run(...p: unknown[]): unknown;
}
interface Db {
  prepare(sql: string): Stmt;
  exec(sql: string): unknown;
  close(): void;
}

/** Raw store over a driver whose statements have get/all/run (node:sqlite, bun:sqlite). */
function rawStore(db: Db): RawStore {
  db.exec(PRAGMAS);
  db.exec(TABLE_SQL);
  const get = db.prepare(RAW_SQL.get);
  const set = db.prepare(RAW_SQL.set);
  const has = db.prepare(RAW_SQL.has);
  const del = db.prepare(RAW_SQL.delete);
  const list = db.prepare(RAW_SQL.list);
  return {
    get: (k) => (get.get!(k) as { v: unknown } | undefined)?.v,
    set: (k, v) => void set.run(k, v),
    setMany(entries) {
      db.exec("BEGIN IMMEDIATE");
      for (const [k, v] of entries) set.run(k, v);
      db.exec("COMMIT");
    },
    has: (k) => has.get!(k) !== undefined,
    delete: (k) => void del.run(k),
    listPrefix: (p, n) => (list.all!(p, prefixEnd(p)!, n) as { k: string; v: unknown }[]).map((r) => [r.k, r.v]),
  };
}

const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-"));
const rounds = quick ? 3 : 5;
const scale = quick ? 0.1 : 1;

function measure(driver: string, kv: Kv, raw: RawStore): void {
  const results = runWorkload(kv, raw, rounds, scale);
  console.log(JSON.stringify({ runtime, version, driver, rounds, quick, results }));
  kv.close();
}

if (runtime === "bun") {
  const { Database } = g.process.getBuiltinModule("bun:sqlite") as { Database: new (p: string) => Db };
  measure("bun:sqlite", bunAdapter.openKv(join(dir, "bun-kv.db")), rawStore(new Database(join(dir, "bun-raw.db"))));
}
{
  const { DatabaseSync } = g.process.getBuiltinModule("node:sqlite") as { DatabaseSync: new (p: string) => Db };
  measure(
    "node:sqlite",
    nodeAdapter.openKv(join(dir, "node-kv.db")),
    rawStore(new DatabaseSync(join(dir, "node-raw.db"))),
  );
}
if (runtime === "deno") {
  try {
    const adapter = await import("../adapters/db_sqlite.ts");
    const { Database } = await import("@db/sqlite");
    const db = new Database(join(dir, "db-raw.db"), { int64: true });
    const raw = rawStore({
      prepare: (sql) => {
        const st = db.prepare(sql);
        return {
          get: (...p: unknown[]) => st.get(...p as []),
          all: (...p: unknown[]) => st.all(...p as []),
          run: (...p: unknown[]) => st.run(...p as []),
        };
      },
      exec: (sql) => db.exec(sql),
      close: () => db.close(),
    });
    measure("@db/sqlite", adapter.openKv(join(dir, "db-kv.db")), raw);
  } catch (error) {
    console.error(`@db/sqlite skipped: ${error instanceof Error ? error.message.split("\n")[0] : error}`);
  }
}
rmSync(dir, { recursive: true, force: true });
