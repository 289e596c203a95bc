/**
 * `npm run bench:rules`: what each rule of the contract costs on its own. The
 * raw baseline of `npm run bench` is measured beside the same SQL with one of
 * kvsqlite's rules added at a time, and beside kvsqlite itself, on the
 * runtime's built-in driver (node:sqlite on Node and Deno, bun:sqlite on Bun),
 * in one process, rotating rounds, medians. Writes run 100 to a transaction,
 * so that the statement is measured rather than the commit.
 *
 * The rules: a write keeps a per-key `version` that strictly increases (read
 * by `getEntry`, `ifVersion`, watchers) and must not write over a tagged key
 * without dropping its tags, so a set is an upsert instead of
 * `INSERT OR REPLACE`; `incr` counts only a live integer that stays a safe
 * integer (else it falls back to a checked path); `delete` deletes only a live
 * untagged key (a tagged one also loses its tags, an expired one is not
 * counted); a listing reads the `kind` column that says how to decode each
 * value, for exact round-trips.
 *
 * Usage: node bench/rules.ts | bun bench/rules.ts | deno run -A bench/rules.ts [--quick]
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openKv } from "../mod.ts";
import { DEFAULTS } from "../src/options.ts";
import { rate, roundMedians, runtimeLabel } from "./measure.ts";
import { openBuiltinRaw, rawPragmas } from "./subjects.ts";
import { key, VALUE } from "./workload.ts";

const g = globalThis as unknown as {
  Bun?: unknown;
  Deno?: { version: { deno: string } };
  process: { argv: string[]; versions: Record<string, string>; getBuiltinModule(id: string): unknown };
};
const quick = g.process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7;
const SLICE = quick ? 40 : 200;
const KEYS = 10_000;
const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-rules-"));
const runtime = runtimeLabel();
const driver = g.Bun ? "bun:sqlite" : "node:sqlite";

interface Statement {
  get(...p: unknown[]): unknown;
  all(...p: unknown[]): unknown[];
  run(...p: unknown[]): unknown;
}

/** kvsqlite's table, so that every variant runs on the same row shape. */
const TABLE = `CREATE TABLE kv (k TEXT PRIMARY KEY NOT NULL, v BLOB, kind INTEGER NOT NULL DEFAULT 0,
  expire_time INTEGER, version INTEGER NOT NULL DEFAULT 0, tagged INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX "kv.expire_time" ON kv (expire_time) WHERE expire_time IS NOT NULL`;

/** One subject: runs `n` operations from `i` (in a transaction for writes). */
type Run = (i: number) => void;
interface Variant {
  name: string;
  make(file: string): { run: Run; prepare?: (from: number) => void };
}

const live = "(expire_time IS NULL OR expire_time > ?)";
const version = () => Date.now() * 1024;
let versionCounter = 0;

/** A raw subject: `sql` run 100 times per step in one transaction (or once, for reads), args from the index. */
function raw(name: string, sql: string, args: (i: number) => unknown[], write: boolean, rows = false): Variant {
  return {
    name,
    make(file) {
      const db = openBuiltinRaw(file);
      db.exec(rawPragmas(DEFAULTS.mmapSize, DEFAULTS.cacheSize));
      db.exec(TABLE);
      const put = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)") as unknown as Statement;
      db.exec("BEGIN IMMEDIATE");
      for (let i = 0; i < KEYS; i++) put.run(key(i, KEYS), VALUE);
      db.exec("COMMIT");
      const st = db.prepare(sql) as unknown as Statement;
      return {
        run: write
          ? (i) => {
            db.exec("BEGIN IMMEDIATE");
            for (let j = 0; j < 100; j++) rows ? st.get(...args(i * 100 + j)) : st.run(...args(i * 100 + j));
            db.exec("COMMIT");
          }
          : (i) => st.all(...args(i)),
        prepare(from) {
          db.exec("BEGIN IMMEDIATE");
          for (let j = from; j < from + POOL * 100; j++) put.run(`del:${j}`, VALUE);
          db.exec("COMMIT");
        },
      };
    },
  };
}

/** Steps a delete measurement may take; each deletes 100 keys written before it. */
const POOL = quick ? 200 : 1_000;
let deleteBase = 0;

function kvsqlite(name: string, op: "set" | "incr" | "delete" | "list"): Variant {
  return {
    name,
    make(file) {
      const kv = openKv(file);
      kv.setMany(Array.from({ length: KEYS }, (_, i) => [key(i, KEYS), VALUE] as [string, string]));
      if (op === "list") return { run: (i) => kv.entries({ start: window(i)[0], end: window(i)[1] }, { limit: 50 }) };
      return {
        run: (i) =>
          kv.transaction(() => {
            for (let j = 0; j < 100; j++) {
              const n = i * 100 + j;
              if (op === "set") kv.set(key(n, KEYS), VALUE);
              else if (op === "incr") kv.incr(`counter:${n % 100}`);
              else kv.delete(`del:${deleteBase + n}`);
            }
          }),
        prepare(from) {
          kv.setMany(Array.from({ length: POOL * 100 }, (_, j) => [`del:${from + j}`, VALUE] as [string, string]));
        },
      };
    },
  };
}

const window = (i: number): [string, string] => {
  const start = (i * 53) % (KEYS - 50);
  return [key(start, KEYS), key(start + 50, KEYS)];
};

const upsert = `INSERT INTO kv (k, v, kind, expire_time, version) VALUES (?, ?, 0, NULL, ?)
ON CONFLICT (k) DO UPDATE SET v = excluded.v, kind = excluded.kind, expire_time = excluded.expire_time,
version = max(kv.version + 1, excluded.version)`;
const groups: { op: string; variants: Variant[] }[] = [
  {
    op: "set, 100 in a transaction",
    variants: [
      raw("raw: INSERT OR REPLACE (k, v)", "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (n) => [
        key(n, KEYS),
        VALUE,
      ], true),
      raw("+ version: upsert with max(version + 1, ?)", upsert, (n) => [key(n, KEYS), VALUE, version()], true),
      raw(
        "+ tags: the upsert's WHERE tagged = 0",
        `${upsert} WHERE tagged = 0`,
        (n) => [key(n, KEYS), VALUE, version()],
        true,
      ),
      kvsqlite("kvsqlite set", "set"),
    ],
  },
  {
    op: "incr, 100 in a transaction",
    variants: [
      raw(
        "raw: upsert v + 1 RETURNING v",
        "INSERT INTO kv (k, v) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET v = v + 1 RETURNING v",
        (n) => [`counter:${n % 100}`],
        true,
        true,
      ),
      raw(
        "+ version",
        "INSERT INTO kv (k, v, version) VALUES (?, 1, ?) ON CONFLICT (k) DO UPDATE SET v = v + 1, version = max(version + 1, excluded.version) RETURNING v",
        (n) => [`counter:${n % 100}`, version() + (versionCounter++ % 1024)],
        true,
        true,
      ),
      raw(
        "+ checks: live, an integer, a safe sum",
        `INSERT INTO kv (k, v) VALUES (?1, 1) ON CONFLICT (k) DO UPDATE SET v = v + 1
WHERE kind = 0 AND typeof(v) = 'integer' AND abs(v + 1) <= 9007199254740991 AND ${live.replace("?", "?2")} RETURNING v`,
        (n) => [`counter:${n % 100}`, Date.now()],
        true,
        true,
      ),
      kvsqlite("kvsqlite incr", "incr"),
    ],
  },
  {
    op: "delete, 100 in a transaction",
    variants: [
      raw("raw: DELETE WHERE k = ?", "DELETE FROM kv WHERE k = ?", (n) => [`del:${deleteBase + n}`], true),
      raw(
        "+ live and untagged",
        `DELETE FROM kv WHERE k = ? AND ${live} AND tagged = 0`,
        (n) => [`del:${deleteBase + n}`, Date.now()],
        true,
      ),
      kvsqlite("kvsqlite delete", "delete"),
    ],
  },
  {
    op: "list 50 with values",
    variants: [
      raw(
        "raw: SELECT k, v … LIMIT 50",
        `SELECT k, v FROM kv WHERE k >= ? AND k < ? AND ${live} ORDER BY k LIMIT 50`,
        (i) => [...window(i), Date.now()],
        false,
      ),
      raw(
        "+ kind: SELECT k, v, kind",
        `SELECT k, v, kind FROM kv WHERE k >= ? AND k < ? AND ${live} ORDER BY k LIMIT 50`,
        (i) => [...window(i), Date.now()],
        false,
      ),
      kvsqlite("kvsqlite entries", "list"),
    ],
  },
];

console.log(`### What each rule costs (${runtime}, ${driver}${quick ? ", quick" : ""})`);
console.log();
console.log("| operation | subject | ops/s | ÷ raw |");
console.log("| --- | --- | ---: | ---: |");
const report: Record<string, Record<string, number>> = {};
let n = 0;
for (const { op, variants } of groups) {
  const subjects = variants.map((v) => {
    return { name: v.name, ...v.make(join(dir, `${n++}.db`)) };
  });
  const write = !op.startsWith("list");
  const deletes = op.startsWith("delete");
  const rates = await roundMedians(subjects, ROUNDS, (s, round) => {
    let limit = Infinity;
    if (deletes) {
      deleteBase += 10_000_000;
      s.prepare!(deleteBase);
      limit = POOL;
    }
    const slice = round < 0 ? SLICE / 4 : SLICE;
    return rate(s.run, slice, { chunk: 1, from: deletes ? 0 : (round + 2) * 1000, limit }) * (write ? 100 : 1);
  }, { warmup: true });
  const base = rates.get(subjects[0]!)!;
  report[op] = {};
  for (const [s, r] of rates) {
    report[op]![s.name] = r;
    console.log(`| ${op} | ${s.name} | ${Math.round(r).toLocaleString("en-US")} | ${(r / base).toFixed(2)} |`);
  }
}
console.log(JSON.stringify({ runtime, driver, quick, report }));
rmSync(dir, { recursive: true, force: true });
