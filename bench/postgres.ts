/**
 * `npm run bench:postgres`: `openKvPostgres` beside the best node-postgres
 * queries a careful engineer would write for the same jobs, on the same
 * connection of a PostgreSQL 15 server this bench starts (loopback, temp
 * folder, stopped by pid). Each operation's ops/s, kvsqlite ÷ hand-written,
 * in rotating rounds in one run (medians of 5; --quick: 3 short ones), and
 * `getMany(100)` / `setMany(100)` ÷ 100 single calls of kvsqlite's own.
 *
 * The hand-written side has its own table: `k text COLLATE "C" PRIMARY KEY,
 * v text` (JSON), `expires_at bigint`, `n bigint` for the counter; expiry by
 * a time the client passes.
 */

import process from "node:process";
import pg from "pg";
import { openKvPostgres } from "../src/postgres/mod.ts";
import { rate, rateAsync, roundMedians, runtimeLabel } from "./measure.ts";
import { openKv } from "../mod.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { endPool, noPostgres, startPrimary } from "../tests/pg_server.ts";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 5;
const SLICE = quick ? 100 : 500;
const KEYS = 10_000;

const why = noPostgres();
if (why !== undefined) {
  console.log(`bench:postgres skipped: ${why}`);
} else {
  const server = await startPrimary();
  // One connection: both sides pay the same round trip on the same socket.
  const pool = new pg.Pool({ connectionString: server.url, max: 1 });
  try {
    const kv = await openKvPostgres(pool);
    await pool.query(`CREATE TABLE raw (k text COLLATE "C" PRIMARY KEY, v text, expires_at bigint, n bigint)`);
    const value = { user: "ada", roles: ["admin"], n: 1 };
    const entries = Array.from({ length: KEYS }, (_, i) => [`k${String(i).padStart(5, "0")}`, value] as const);
    await kv.setMany(entries);
    await pool.query({
      text: `INSERT INTO raw (k, v) SELECT unnest($1::text[]), $2`,
      values: [entries.map(([k]) => k), JSON.stringify(value)],
    });
    const key = (i: number) => entries[(i * 7919) % KEYS]![0];
    /** The i-th batch of 100 keys (getMany, setMany), and the i-th listed prefix (50 keys each). */
    const hundred = (i: number) => Array.from({ length: 100 }, (_, j) => key(i * 100 + j));
    const prefix = (i: number) => `k${String(i % 100).padStart(2, "0")}`;
    // Named: prepared once on the connection, as kvsqlite's statements are.
    let statements = 0;
    const names = new Map<string, string>();
    const q = (text: string, values: unknown[]) => {
      let name = names.get(text);
      if (name === undefined) names.set(text, name = `raw_${statements++}`);
      return pool.query({ name, text, values });
    };
    const ops: Record<string, { kvsqlite: (i: number) => Promise<unknown>; raw: (i: number) => Promise<unknown> }> = {
      get: {
        kvsqlite: (i) => kv.get(key(i)),
        raw: async (i) => {
          const r = await q(`SELECT v FROM raw WHERE k = $1 AND (expires_at IS NULL OR expires_at > $2)`, [
            key(i),
            Date.now(),
          ]);
          return r.rows.length === 0 ? undefined : JSON.parse(r.rows[0].v);
        },
      },
      set: {
        kvsqlite: (i) => kv.set(key(i), value),
        raw: (i) =>
          q(
            `INSERT INTO raw (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v, expires_at = NULL`,
            [key(i), JSON.stringify(value)],
          ),
      },
      "set with ttl": {
        kvsqlite: (i) => kv.set(key(i), value, { ttl: 60_000 }),
        raw: (i) =>
          q(
            `INSERT INTO raw (k, v, expires_at) VALUES ($1, $2, $3)
              ON CONFLICT (k) DO UPDATE SET v = excluded.v, expires_at = excluded.expires_at`,
            [key(i), JSON.stringify(value), Date.now() + 60_000],
          ),
      },
      incr: {
        kvsqlite: () => kv.incr("counter"),
        raw: async () =>
          (await q(
            `INSERT INTO raw (k, n) VALUES ('counter', 1) ON CONFLICT (k) DO UPDATE SET n = raw.n + 1 RETURNING n`,
            [],
          ))
            .rows[0].n,
      },
      "getMany(100)": {
        kvsqlite: (i) => kv.getMany(hundred(i)),
        raw: async (i) => {
          const keys = hundred(i);
          const r = await q(`SELECT k, v FROM raw WHERE k = ANY($1) AND (expires_at IS NULL OR expires_at > $2)`, [
            keys,
            Date.now(),
          ]);
          const found = new Map(r.rows.map((row) => [row.k, JSON.parse(row.v)]));
          return keys.map((k) => found.get(k));
        },
      },
      "setMany(100)": {
        kvsqlite: (i) => kv.setMany(hundred(i).map((k) => [k, value] as const)),
        raw: (i) =>
          q(
            `INSERT INTO raw (k, v) SELECT unnest($1::text[]), $2
              ON CONFLICT (k) DO UPDATE SET v = excluded.v, expires_at = NULL`,
            [Array.from(new Set(hundred(i))), JSON.stringify(value)],
          ),
      },
      "list 50": {
        kvsqlite: async (i) => await kv.entries({ prefix: prefix(i) }, { limit: 50 }),
        raw: async (i) =>
          (await q(
            `SELECT k, v FROM raw WHERE k >= $1 AND k < $2 AND (expires_at IS NULL OR expires_at > $3) ORDER BY k LIMIT 50`,
            [prefix(i), `${prefix(i)}\uffff`, Date.now()],
          )).rows.map((row) => [row.k, JSON.parse(row.v)]),
      },
    };
    console.log(`## openKvPostgres ÷ hand-written node-postgres (${runtimeLabel()}, PostgreSQL 15, one connection)\n`);
    console.log("| operation | kvsqlite ops/s | hand-written ops/s | ÷ |");
    console.log("| --- | ---: | ---: | ---: |");
    const singles: Record<string, number> = {};
    for (const [name, op] of Object.entries(ops)) {
      const rates = await roundMedians(
        ["kvsqlite", "raw"] as const,
        ROUNDS,
        (subject) => rateAsync(op[subject], SLICE, { chunk: 4 }),
        { warmup: true },
      );
      const k = rates.get("kvsqlite")!;
      const r = rates.get("raw")!;
      singles[name] = k;
      console.log(`| ${name} | ${k.toFixed(0)} | ${r.toFixed(0)} | ${(k / r).toFixed(2)} |`);
    }
    console.log(
      `\ngetMany(100) ÷ 100 gets: ${
        (singles["getMany(100)"]! * 100 / singles.get!).toFixed(1)
      }× the keys per second; ` +
        `setMany(100) ÷ 100 sets: ${(singles["setMany(100)"]! * 100 / singles.set!).toFixed(1)}×`,
    );
    const rtt = await rateAsync(() => pool.query("SELECT 1"), SLICE, { chunk: 4 });
    console.log(`round trip (SELECT 1): ${(1000 / rtt).toFixed(3)} ms`);

    // The server benchmark's request (bench/handler.ts: a session read with its expiry slid, a rate-limit window,
    // two audit counters), in process: on PostgreSQL through a pool of 8 with 32 requests in flight, and on a file
    // (openKv, durability "immediate", each request's 4 calls in turn), rotating rounds.
    const many = new pg.Pool({ connectionString: server.url, max: 8 });
    const onPg = await openKvPostgres(many, { table: "server" });
    const dir = mkdtempSync(join(tmpdir(), "kvsqlite-bench-pg-"));
    const onFile = openKv(join(dir, "server.db"));
    const users = 1000;
    for (let i = 0; i < users; i++) {
      await onPg.set(`session:${i}`, { user: i }, { ttl: 30 * 60_000 });
      onFile.set(`session:${i}`, { user: i }, { ttl: 30 * 60_000 });
    }
    const pgRequest = async (i: number) => {
      const user = i % users;
      await onPg.touch(`session:${user}`, 30 * 60_000);
      await onPg.incr(`rate:${user}`, 1, { ttl: 60_000 });
      await onPg.incr("audit:requests");
      await onPg.incr("audit:reads");
    };
    const fileRequest = (i: number) => {
      const user = i % users;
      onFile.touch(`session:${user}`, 30 * 60_000);
      onFile.incr(`rate:${user}`, 1, { ttl: 60_000 });
      onFile.incr("audit:requests");
      onFile.incr("audit:reads");
    };
    const requests = await roundMedians(["PostgreSQL", "file"] as const, ROUNDS, async (subject) => {
      if (subject === "file") return rate(fileRequest, SLICE);
      let n = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (performance.now() - started < SLICE) await pgRequest(n++);
      }));
      return n / ((performance.now() - started) / 1000);
    }, { warmup: true });
    const p = requests.get("PostgreSQL")!;
    const f = requests.get("file")!;
    console.log(
      `the server's request (4 calls), in process: PostgreSQL ${p.toFixed(0)}/s (pool of 8, 32 in flight), ` +
        `file ${f.toFixed(0)}/s; PostgreSQL ÷ file ${(p / f).toFixed(2)}`,
    );
    onFile.close();
    rmSync(dir, { recursive: true, force: true });
    await endPool(many);
  } finally {
    await endPool(pool);
    await server.stop();
  }
}
