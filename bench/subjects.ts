/**
 * Subjects built on SQLite: kvsqlite over any adapter, and the raw prepared
 * statements of a driver, written the way a user of the bare driver would.
 */

import type { Kv } from "../src/kv.ts";
import { prefixEnd } from "../src/query.ts";
import type { Subject } from "./workload.ts";

/** kvsqlite as a subject. */
export function kvSubject(name: string, driver: string, kv: Kv): Subject {
  return {
    name,
    role: "kvsqlite",
    driver,
    get: (k) => kv.get(k),
    set: (k, v) => kv.set(k, v),
    setBatch: (entries) => kv.setMany(entries),
    has: (k) => kv.has(k),
    delete: (k) => kv.delete(k),
    getMany: (keys) => kv.getMany(keys),
    list: (start, end, limit) => kv.entries({ start, end }, { limit }),
    keys: (start, end, limit) => kv.keys({ start, end }, { limit }),
    count: (start, end) => kv.count({ start, end }),
    incr: (k) => kv.incr(k),
    transaction: (fn) => kv.transaction(fn),
    close: () => kv.close(),
  };
}

/** The parts of a driver's statement the raw side uses. */
export interface RawStatement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}

/** The parts of a driver's database the raw side uses. */
export interface RawDatabase {
  prepare(sql: string): RawStatement;
  exec(sql: string): unknown;
  close(): unknown;
}

/** A raw handle of the runtime's built-in driver on `file`: bun:sqlite on Bun, node:sqlite elsewhere. */
export function openBuiltinRaw(file: string): RawDatabase {
  const g = globalThis as unknown as { Bun?: unknown; process: { getBuiltinModule(id: string): unknown } };
  return g.Bun
    ? new (g.process.getBuiltinModule("bun:sqlite") as { Database: new (path: string) => RawDatabase }).Database(file)
    : new (g.process.getBuiltinModule("node:sqlite") as { DatabaseSync: new (path: string) => RawDatabase })
      .DatabaseSync(file);
}

/** The pragmas a store opens with by default, for the raw side to match. */
export function rawPragmas(mmapSize: number, cacheSize: number | undefined): string {
  return [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA busy_timeout = 5000",
    `PRAGMA mmap_size = ${mmapSize}`,
    cacheSize === undefined ? "" : `PRAGMA cache_size = ${cacheSize}`,
  ].filter(Boolean).join(";\n");
}

/**
 * kvsqlite's table shape, so that both sides store the same rows, with the
 * partial expiry index a store with expiry needs to purge in time proportional
 * to the expired rows (without it, a hand-written store's autocommit writes
 * measured up to 2.4× cheaper on better-sqlite3, by skipping work the job needs).
 */
export const TABLE_SQL = `CREATE TABLE IF NOT EXISTS kv (
  k TEXT PRIMARY KEY NOT NULL, v BLOB, kind INTEGER NOT NULL DEFAULT 0,
  expire_time INTEGER, version INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS "kv.expire_time" ON kv (expire_time) WHERE expire_time IS NOT NULL`;

/**
 * The raw driver as a subject: the SQL a careful engineer would write by hand
 * for a store with expiry, with the driver's default row objects. Reads filter
 * live rows with a bound `now` (the job needs it); a listing's limit is the
 * literal `LIMIT 50` a caller writes (a bound `LIMIT ?` measured 3.5-7 us
 * slower per call on node:sqlite); only the columns the job needs; the
 * cheapest write that replaces a value (`INSERT OR REPLACE`). See bench/README.md.
 */
export function rawSubject(name: string, driver: string, db: RawDatabase, pragmas: string): Subject {
  db.exec(pragmas);
  db.exec(TABLE_SQL);
  const live = "(expire_time IS NULL OR expire_time > ?)";
  const get = db.prepare(`SELECT v FROM kv WHERE k = ? AND ${live}`);
  const has = db.prepare(`SELECT 1 FROM kv WHERE k = ? AND ${live}`);
  const set = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
  const del = db.prepare("DELETE FROM kv WHERE k = ?");
  const many = db.prepare(`SELECT k, v FROM kv WHERE k IN (${Array(100).fill("?").join(", ")}) AND ${live}`);
  const list = db.prepare(`SELECT k, v FROM kv WHERE k >= ? AND k < ? AND ${live} ORDER BY k LIMIT 50`);
  const keys = db.prepare(`SELECT k FROM kv WHERE k >= ? AND k < ? AND ${live} ORDER BY k LIMIT 50`);
  const count = db.prepare(`SELECT count(*) AS n FROM kv WHERE k >= ? AND k < ? AND ${live}`);
  const incr = db.prepare(
    "INSERT INTO kv (k, v) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET v = v + 1 RETURNING v",
  );
  const fifty = (limit: number) => {
    if (limit !== 50) throw new Error(`the raw listing is written for LIMIT 50, asked for ${limit}`);
  };
  return {
    name,
    role: "raw",
    driver,
    get: (k) => (get.get(k, Date.now()) as { v: unknown } | undefined)?.v,
    set: (k, v) => set.run(k, v),
    setBatch(entries) {
      db.exec("BEGIN IMMEDIATE");
      for (const [k, v] of entries) set.run(k, v);
      db.exec("COMMIT");
    },
    // bun:sqlite answers null for no row, the others undefined.
    has: (k) => (has.get(k, Date.now()) ?? undefined) !== undefined,
    delete: (k) => del.run(k),
    getMany: (ks) => many.all(...ks, Date.now()),
    list: (start, end, limit) => (fifty(limit), list.all(start, end, Date.now())),
    keys: (start, end, limit) => (fifty(limit), keys.all(start, end, Date.now())),
    count: (start, end) => (count.get(start, end, Date.now()) as { n: number }).n,
    incr: (k) => (incr.get(k) as { v: number }).v,
    transaction(fn) {
      db.exec("BEGIN IMMEDIATE");
      try {
        fn();
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    },
    close: () => db.close(),
  };
}

export { prefixEnd };
