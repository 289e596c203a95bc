/**
 * `npm run bench:tune [-- --keys=N]`: the measurements behind kvsqlite's
 * SQLite defaults (bench/README.md). Runs on Node with node:sqlite, on one
 * file per setting, kvsqlite's own table and statements, interleaved rounds.
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, rate, rotate } from "./measure.ts";

const keysArg = process.argv.find((a) => a.startsWith("--keys="));
const KEYS = keysArg ? Number(keysArg.slice(7)) : 1_000_000;
const dir = mkdtempSync(join(tmpdir(), "kvsqlite-tune-"));
const VALUE = "x".repeat(100);
const key = (i: number) => `user:${String(i % KEYS).padStart(7, "0")}`;

interface Setting {
  name: string;
  pragmas: string[];
  rowid?: boolean;
  /** Prepare every statement on every call instead of once. */
  noCache?: boolean;
}

const SETTINGS: Setting[] = [
  { name: "SQLite defaults (mmap 0, cache 2 MB)", pragmas: [] },
  { name: "mmap_size 256 MiB", pragmas: ["PRAGMA mmap_size = 268435456"] },
  { name: "mmap_size 1 GiB", pragmas: ["PRAGMA mmap_size = 1073741824"] },
  { name: "cache_size 64 MiB", pragmas: ["PRAGMA cache_size = -65536"] },
  { name: "mmap 256 MiB + cache 64 MiB", pragmas: ["PRAGMA mmap_size = 268435456", "PRAGMA cache_size = -65536"] },
  { name: "wal_autocheckpoint 10000", pragmas: ["PRAGMA wal_autocheckpoint = 10000"] },
  { name: "rowid table (not WITHOUT ROWID)", pragmas: [], rowid: true },
  { name: "no statement cache", pragmas: [], noCache: true },
];

function open(s: Setting, i: number) {
  const db = new DatabaseSync(join(dir, `t${i}.db`));
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  for (const p of s.pragmas) db.exec(p);
  db.exec(`CREATE TABLE kv (k TEXT PRIMARY KEY NOT NULL, v BLOB, kind INTEGER NOT NULL DEFAULT 0,
    expire_time INTEGER, version INTEGER NOT NULL DEFAULT 0)${s.rowid ? "" : " WITHOUT ROWID"};
    CREATE INDEX "kv.expire_time" ON kv (expire_time) WHERE expire_time IS NOT NULL`);
  const sql = {
    get: "SELECT v, kind, expire_time FROM kv WHERE k = ?",
    set: `INSERT INTO kv (k, v, version) VALUES (?1, ?2, ?3) ON CONFLICT (k) DO UPDATE SET v = excluded.v,
      kind = 0, expire_time = NULL, version = max(kv.version + 1, excluded.version)`,
    list:
      "SELECT k, v, kind FROM kv WHERE k >= ? AND k < ? AND (expire_time IS NULL OR expire_time > ?) ORDER BY k LIMIT 50",
  };
  const cache = new Map<string, StatementSync>();
  const st = (q: string) => {
    if (s.noCache) return db.prepare(q);
    let p = cache.get(q);
    if (!p) cache.set(q, p = db.prepare(q));
    return p;
  };
  db.exec("BEGIN");
  for (let i = 0; i < KEYS; i++) st(sql.set).run(key(i), VALUE, i);
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  let v = KEYS;
  return {
    db,
    get: (i: number) => st(sql.get).get(key(i * 7919)),
    set: (i: number) => st(sql.set).run(key(i * 7919), VALUE, v++),
    batch: (i: number) => {
      db.exec("BEGIN IMMEDIATE");
      for (let j = 0; j < 1000; j++) st(sql.set).run(key(i * 1000 + j), VALUE, v++);
      db.exec("COMMIT");
    },
    list: (i: number) => st(sql.list).all(key(i * 7919), key(i * 7919 + 50), 0),
    bytesPerKey: () => statSync(join(dir, `t${i}.db`)).size / KEYS,
  };
}

const stores = SETTINGS.map((s, i) => open(s, i));
const ops = ["get", "set", "batch", "list"] as const;
const rates: number[][][] = SETTINGS.map(() => ops.map(() => []));
// Each store in turn runs all four operations, in an order of stores that rotates every round.
await rotate(stores, 5, (s, _round, i) => {
  rates[i]![0]!.push(rate(s.get, 300));
  rates[i]![1]!.push(rate(s.set, 300));
  rates[i]![2]!.push(rate(s.batch, 300) * 1000);
  rates[i]![3]!.push(rate(s.list, 300));
});
console.log(
  `${KEYS.toLocaleString("en-US")} keys, node ${process.version}, medians of 5 rounds (ops/s; batch: keys/s)\n`,
);
console.log("| setting | get | set (autocommit) | set (batch of 1000) | list 50 | file bytes per key |");
console.log("|---|---:|---:|---:|---:|---:|");
SETTINGS.forEach((s, i) => {
  const r = rates[i]!.map((x) => Math.round(median(x)).toLocaleString("en-US"));
  console.log(`| ${s.name} | ${r.join(" | ")} | ${stores[i]!.bytesPerKey().toFixed(0)} |`);
});
for (const s of stores) s.db.close();
rmSync(dir, { recursive: true, force: true });
