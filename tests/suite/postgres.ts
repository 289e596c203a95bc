import { assert } from "../assert.ts";
import pg from "pg";
import type { Target, TestFn } from "../harness.ts";
import { pgPool, pgTarget, pgUrl, stopPg } from "../pg_target.ts";
import { endPool, noPostgres, startPrimary } from "../pg_server.ts";
import { type KvPostgres, openKvPostgres } from "../../src/postgres/mod.ts";
import { KvClosedError, KvError } from "../../src/errors.ts";
import { valueTests } from "./values.ts";
import { ttlTests } from "./ttl.ts";
import { writeTests } from "./writes.ts";
import { limitTests, queryTests } from "./query.ts";
import { tagTests } from "./tags.ts";
import { transactionTests } from "./transactions.ts";
import { namespaceTests } from "./namespaces.ts";
import { modelTests } from "./model.ts";
import { nameTests } from "./names.ts";
import { reliabilityTests } from "./reliability.ts";
import { maintenanceTests } from "./maintenance.ts";
import { pgFailoverTests } from "./pg_failover.ts";
import { watchTests } from "./watch.ts";
import { queueTests } from "./queue.ts";
import { SAMPLE } from "../fixtures/sample.ts";
import { currentRuntime } from "./process.ts";
import { cli } from "./cli.ts";
import { tempDir } from "../util.ts";
import { taggedJson } from "../../src/codec.ts";
import { openKv } from "../../mod.ts";
import { join } from "node:path";

/** The CLI on this runtime, with `stdin` as its input. */
function runCli(args: string[], stdin = ""): ReturnType<typeof cli> {
  const rt = currentRuntime();
  return cli([rt.name, rt.command, rt.args], args, stdin);
}

/** A new table opened on the shared pool and, as another machine would, on a pool of its own (ended after `fn`). */
async function onTwoMachines(
  prefix: string,
  max: number,
  fn: (kv: KvPostgres, remote: KvPostgres) => Promise<void>,
): Promise<void> {
  await pgPool();
  const other = new pg.Pool({ connectionString: pgUrl(), max });
  try {
    const table = `${prefix}_${Date.now()}`;
    await using kv = await openKvPostgres(await pgPool(), { table });
    await using remote = await openKvPostgres(other, { table });
    await fn(kv, remote);
  } finally {
    await endPool(other);
  }
}

/** The shared suite's areas on openKvPostgres (node-postgres), then what only PostgreSQL has. */
export function postgresTests(test: TestFn): void {
  const why = noPostgres();
  const bun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  for (const client of ["node-postgres", "postgres.js", ...(bun ? ["Bun's SQL" as const] : [])] as const) {
    const t = pgTarget(client);
    const named: TestFn = (name, fn, options) => test(`${t.name}: ${name}`, fn, { skip: why ?? options?.skip });
    sharedAreas(named, t);
  }
  const named: TestFn = (name, fn, options) => test(`PostgreSQL: ${name}`, fn, { skip: why ?? options?.skip });
  pgOnlyTests(named);
  pgFailoverTests(test);
  // Ends every client before the server, so that no connection is left to fail after the tests.
  named("the shared test server and its clients stop", () => stopPg());
}

/** The areas of the shared suite that hold for a store without a file. */
function sharedAreas(named: TestFn, t: Target): void {
  valueTests(named, t);
  ttlTests(named, t);
  writeTests(named, t);
  queryTests(named, t);
  limitTests(named, t);
  tagTests(named, t);
  transactionTests(named, t);
  namespaceTests(named, t);
  modelTests(named, t);
  nameTests(named, t);
  reliabilityTests(named, t);
  maintenanceTests(named, t);
  watchTests(named, t);
  queueTests(named, t);
}

function pgOnlyTests(test: TestFn): void {
  test("maintenance on PostgreSQL: checkpoint counts and does nothing, vacuum and optimize run, backup is pg_dump's", async () => {
    const kv = await openKvPostgres(await pgPool(), { table: `upkeep_${Date.now()}` });
    await kv.setMany({ a: 1, b: 2 });
    assert.deepEqual(await kv.checkpoint("truncate"), { busy: false, logFrames: -1, checkpointedFrames: -1 });
    await assert.rejects(
      kv.checkpoint("bogus" as never),
      (e: unknown) => e instanceof RangeError && /mode must be one of passive, full, restart, truncate/.test(e.message),
    );
    assert.equal((await kv.stats()).checkpoints, 1, "a refused mode is not counted");
    await kv.vacuum();
    await kv.optimize();
    await kv.integrityCheck();
    await assert.rejects(kv.vacuum({ pages: 5 }), TypeError);
    await assert.rejects(kv.transaction((tx) => tx.vacuum()), KvError);
    await assert.rejects(kv.backup(), /pg_dump/);
    await assert.rejects(kv.changes(), KvError);
    assert.deepEqual(await kv.getMany(["a", "b"]), [1, 2]);
    await kv.close();
    // A closed store's calls reject: a promise, never a throw.
    for (const call of [() => kv.checkpoint(), () => kv.flush(), () => kv.get("a")]) {
      const pending = call();
      assert.ok(pending instanceof Promise);
      await assert.rejects(pending, KvClosedError);
    }
  });

  test("a client that is not a PostgreSQL client is a TypeError naming what was expected", async () => {
    for (const bad of [undefined, null, 42, "postgres://x", {}, { query() {} }]) {
      await assert.rejects(() => openKvPostgres(bad), /node-postgres Pool or Client, a postgres\.js sql or Bun's SQL/);
    }
  });

  test("SQLite's options are refused by name, unknown ones as openKv refuses them", async () => {
    const pool = await pgPool();
    for (const name of ["busyTimeout", "journalMode", "durability", "readOnly", "pageSize", "closeDatabase", "now"]) {
      await assert.rejects(
        () => openKvPostgres(pool, { [name]: 1 } as never),
        new RegExp(`${name} is an option of SQLite`),
      );
    }
    await assert.rejects(() => openKvPostgres(pool, { tabel: "x" } as never), TypeError);
    await assert.rejects(() => openKvPostgres(pool, { table: "kvsqlite_meta" }), RangeError);
  });

  test("many processes opening at once make the schema once, under the advisory lock", async () => {
    const pool = await pgPool();
    const table = `race_${Date.now()}`;
    const opened = await Promise.all(Array.from({ length: 8 }, () => openKvPostgres(pool, { table })));
    await Promise.all(opened.map((kv, i) => kv.set(`k${i}`, i)));
    assert.equal(await opened[0]!.count(), 8);
    const meta = await pool.query({ text: `SELECT version FROM "kvsqlite_meta" WHERE name = $1`, values: [table] });
    assert.deepEqual(meta.rows, [{ version: 1 }]);
  });

  test("expiry is judged by the server's clock unless a clock is given", async () => {
    const pool = await pgPool();
    await using kv = await openKvPostgres(pool, { table: `clock_${Date.now()}` });
    await kv.set("short", 1, { ttl: 50 });
    const left = await kv.ttl("short");
    assert.ok(left !== undefined && left > 0 && left <= 50, String(left));
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(await kv.get("short"), undefined, "gone by the server's clock");
    const server = await pool.query({
      text: "SELECT floor(extract(epoch FROM now()) * 1000)::float8 AS ms",
      values: [],
    });
    const entry = await (async () => {
      await kv.set("long", 1, { ttl: 60_000 });
      return await kv.getEntry("long");
    })();
    assert.ok(Math.abs(entry!.expiresAt! - 60_000 - Number(server.rows[0].ms)) < 5_000);
  });

  test("the purge and a prefix listing are searches through an index, not scans", async () => {
    const pool = await pgPool();
    const table = `plan_${Date.now()}`;
    await using kv = await openKvPostgres(pool, { table });
    await kv.setMany(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i] as [string, number]), { ttl: 60_000 });
    await pool.query(`ANALYZE "${table}"`);
    const plan = async (sql: string) =>
      (await pool.query({ text: `EXPLAIN ${sql}`, values: [], rowMode: "array" })).rows.map((r) => r[0]).join("\n");
    assert.match(await plan(`DELETE FROM "${table}" WHERE expire_time <= 1`), /Index|Bitmap/);
    assert.match(await plan(`SELECT k FROM "${table}" WHERE k >= 'k1' AND k < 'k2' ORDER BY k LIMIT 10`), /Index/);
  });

  test("a value written through openKvPostgres reads back identically through openKv after the CLI's import, and back", async () => {
    const pool = await pgPool();
    await using kv = await openKvPostgres(pool, { table: `dump_${Date.now()}` });
    for (const [key, value] of SAMPLE) await kv.set(key, value, { tags: ["sample"] });
    await kv.set("expiring", "soon", { ttl: 600_000 });
    await kv.namespace("users").set("ada", { admin: true });
    // The dump format of `kvsqlite FILE export` (README, "The command line tool"), written from PostgreSQL.
    const lines: string[] = [];
    for (const [space, name] of [[kv, undefined], [kv.namespace("users"), "users"]] as const) {
      for await (const e of space.list()) {
        const tags = await space.tags(e.key);
        lines.push(JSON.stringify({
          key: e.key,
          value: JSON.parse(taggedJson.encode(e.value) as string),
          expiresAt: e.expiresAt,
          ...(tags !== undefined && tags.length > 0 ? { tags } : {}),
          ...(name === undefined ? {} : { namespace: name }),
        }));
      }
    }
    const file = join(tempDir(), "from-postgres.db");
    const imported = await runCli([file, "import"], lines.join("\n"));
    assert.equal(imported.code, 0, imported.err);
    {
      using copy = openKv(file);
      for (const [key, value] of SAMPLE) {
        assert.deepEqual(copy.get(key), value, key);
        assert.deepEqual(copy.tags(key), ["sample"]);
      }
      assert.deepEqual(copy.getEntry("expiring")!.expiresAt, (await kv.getEntry("expiring"))!.expiresAt);
      assert.deepEqual(copy.namespace("users").get("ada"), { admin: true });
    }
    // And back: the CLI's export of that file, into a new PostgreSQL table.
    const exported = await runCli([file, "export"]);
    assert.equal(exported.code, 0, exported.err);
    await using back = await openKvPostgres(pool, { table: `back_${Date.now()}` });
    for (const l of exported.out.split("\n").filter((x) => x !== "")) {
      const e = JSON.parse(l);
      const space = e.namespace === undefined ? back : back.namespace(e.namespace);
      await space.set(e.key, taggedJson.decode(JSON.stringify(e.value)), {
        ...(e.expiresAt === null ? {} : { expiresAt: e.expiresAt }),
        ...(e.tags === undefined ? {} : { tags: e.tags }),
      });
    }
    for (const [key, value] of SAMPLE) assert.deepEqual(await back.get(key), value, key);
    assert.deepEqual(await back.keys({ tag: "sample" }), await kv.keys({ tag: "sample" }));
    assert.deepEqual(await back.namespace("users").get("ada"), { admin: true });
    assert.equal((await back.getEntry("expiring"))!.expiresAt, (await kv.getEntry("expiring"))!.expiresAt);
  });

  test("a watch sees what another machine's client writes, deletes and lets expire, through LISTEN/NOTIFY", async () => {
    await onTwoMachines("watched", 2, async (kv, remote) => {
      const watch = kv.watch<string>(["a", "b"]);
      assert.deepEqual((await watch.next()).value!.map((e) => e.value), [undefined, undefined]);
      await remote.set("a", "from afar", { ttl: 1500 });
      assert.deepEqual((await watch.next()).value!.map((e) => e.value), ["from afar", undefined]);
      await remote.set("b", "b");
      assert.deepEqual((await watch.next()).value!.map((e) => e.value), ["from afar", "b"]);
      await remote.delete("b");
      assert.deepEqual((await watch.next()).value!.map((e) => e.value), ["from afar", undefined]);
      assert.deepEqual((await watch.next()).value!.map((e) => e.value), [undefined, undefined], "a expired");
      await watch.return();
    });
  });

  test("an enqueue through the transaction's own queue commits or rolls back with it; machines share the queue", async () => {
    await onTwoMachines("queued", 4, async (kv, remote) => {
      await kv.transaction(async (tx) => void await tx.queue("jobs").enqueue("kept"));
      await assert.rejects(() =>
        kv.transaction(async (tx) => {
          await tx.queue("jobs").enqueue("dropped");
          throw new Error("roll back");
        })
      );
      assert.deepEqual((await remote.queue("jobs").peek(10)).map((m) => m.value), ["kept"]);
      // Two machines claim 50 messages concurrently: each message once (SKIP LOCKED).
      for (let i = 0; i < 50; i++) await kv.queue("jobs").enqueue(i);
      const taken: unknown[] = [];
      const drain = async (store: typeof kv) => {
        for (;;) {
          const m = await store.queue("jobs").claim();
          if (m === undefined) return;
          taken.push(m.value);
          assert.equal(await store.queue("jobs").ack(m.id), true);
        }
      };
      await Promise.all([drain(kv), drain(remote), drain(kv), drain(remote)]);
      assert.deepEqual(
        taken.sort((a, b) => String(a).localeCompare(String(b))),
        [
          ...Array.from({ length: 50 }, (_, i) => i),
          "kept",
        ].sort((a, b) => String(a).localeCompare(String(b))),
      );
      // A listener on one machine is woken by an enqueue on the other (LISTEN/NOTIFY).
      const stop = new AbortController();
      const got: unknown[] = [];
      const listening = kv.queue("mail").listen((value) => {
        got.push(value);
        stop.abort();
      }, { signal: stop.signal });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const sent = Date.now();
      await remote.queue("mail").enqueue("hello");
      await listening;
      assert.deepEqual(got, ["hello"]);
      assert.ok(Date.now() - sent < 900, "woken by the notification, not the 1 s look");
    });
  });

  test("nested transactions are savepoints; a deadlock rejects with KV_CONFLICT and applies nothing", async () => {
    await using kv = await openKvPostgres(await pgPool(), { table: `tx_${Date.now()}` });
    await kv.transaction(async (tx) => {
      await tx.set("outer", 1);
      await assert.rejects(
        tx.transaction(async (inner) => {
          await inner.set("inner", 1);
          throw new Error("undo the inner one");
        }),
        /undo the inner one/,
      );
      await tx.transaction(async (inner) => void await inner.set("kept", 1));
    });
    assert.deepEqual(await kv.keys(), ["kept", "outer"]);
    await kv.setMany({ a: 0, b: 0 });
    // Two transactions take a and b in opposite orders: PostgreSQL breaks the deadlock by failing one.
    let step!: () => void;
    const both = new Promise<void>((resolve) => {
      let n = 0;
      step = () => ++n === 2 && resolve();
    });
    const cross = (first: string, second: string) =>
      kv.transaction(async (tx) => {
        await tx.set(first, 1);
        step();
        await both;
        await tx.set(second, 1);
      });
    const results = await Promise.allSettled([cross("a", "b"), cross("b", "a")]);
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    assert.equal(failed.length, 1);
    assert.ok(
      failed[0]!.reason instanceof KvError && failed[0]!.reason.code === "KV_CONFLICT",
      String(failed[0]!.reason),
    );
    const values = await kv.getMany<number>(["a", "b"]);
    assert.deepEqual(values, [1, 1], "the other one committed both its writes");
  });

  test("node-postgres is handed one query at a time per connection, a transaction's unawaited calls included", async () => {
    await pgPool();
    // A Client that counts the queries it has been handed and not yet answered (node-postgres deprecates more than one).
    const running = new Map<object, number>();
    let most = 0;
    class Counting extends pg.Client {}
    const send = pg.Client.prototype.query as unknown as (...args: unknown[]) => unknown;
    (Counting.prototype as unknown as { query: typeof send }).query = function (this: object, ...args: unknown[]) {
      const n = (running.get(this) ?? 0) + 1;
      running.set(this, n);
      most = Math.max(most, n);
      const done = () => void running.set(this, running.get(this)! - 1);
      const callback = args.at(-1);
      if (typeof callback === "function") { // the pool's own query(text, values, callback)
        args[args.length - 1] = (...answer: unknown[]) => (done(), callback(...answer));
        return send.apply(this, args);
      }
      const result = send.apply(this, args) as Promise<unknown>;
      result.then(done, done);
      return result;
    };
    const pool = new pg.Pool({ connectionString: pgUrl(), max: 2, Client: Counting });
    const single = new Counting({ connectionString: pgUrl() });
    await single.connect();
    try {
      for (const client of [pool, single]) {
        await using kv = await openKvPostgres(client, { table: `ordered_${Date.now()}` });
        const outside = Promise.all([kv.set("x", 1), kv.get("x"), kv.incr("n")]);
        await kv.transaction((tx) => {
          void tx.set("a", 1);
          void tx.set("b", 2);
          void tx.incr("n", 5);
          return tx.set("c", 3);
        });
        await outside;
        assert.deepEqual(await kv.getMany(["a", "b", "c", "x"]), [1, 2, 3, 1]);
        assert.equal(await kv.get("n"), 6);
      }
      assert.ok(running.size >= 2, "the counting clients ran the store's queries");
      assert.equal(most, 1, "queries in flight at once on one connection");
    } finally {
      await single.end();
      await endPool(pool);
    }
  });

  test("a single node-postgres Client serves the store: a transaction holds it, other calls wait their turn", async () => {
    await pgPool();
    const client = new pg.Client({ connectionString: pgUrl() });
    await client.connect();
    try {
      await using kv = await openKvPostgres(client, { table: `client_${Date.now()}` });
      let inside = false;
      const tx = kv.transaction(async (t) => {
        inside = true;
        await t.set("a", 1);
        await new Promise((resolve) => setTimeout(resolve, 50));
        await t.set("b", 2);
        inside = false;
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
      const outside = kv.get("b").then((v) => ({ v, during: inside }));
      await tx;
      assert.deepEqual(await outside, { v: 2, during: false }, "the call waited for the transaction to end");
      assert.equal((await kv.stats()).driver, "PostgreSQL (node-postgres client)");
    } finally {
      await client.end();
    }
  });

  test("a connection lost mid-call rejects with KV_CONNECTION, never hangs, and the next call works once the server is back", async () => {
    let server = await startPrimary();
    const pool = new pg.Pool({ connectionString: server.url, max: 2, connectionTimeoutMillis: 2000 });
    pool.on("error", () => {});
    try {
      await using kv = await openKvPostgres(pool);
      await kv.set("a", 1);
      // A call waiting on a lock another session holds, when the server goes away.
      const blocker = new pg.Client({ connectionString: server.url });
      blocker.on("error", () => {});
      await blocker.connect();
      await blocker.query(`BEGIN; LOCK TABLE "kv" IN ACCESS EXCLUSIVE MODE`);
      const pending = kv.get("a").then(() => undefined, (error: unknown) => error); // settled, whenever it settles
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await server.stop("SIGKILL");
      const failure = await pending;
      assert.ok(failure instanceof KvError && failure.code === "KV_CONNECTION", String(failure));
      assert.ok(Date.now() - started < 5_000);
      await assert.rejects(() => kv.get("a"), (e: unknown) => e instanceof KvError && e.code === "KV_CONNECTION");
      server = await server.restart();
      assert.equal(await kv.get("a"), 1, "the pool reconnects; the store needs nothing");
    } finally {
      await endPool(pool).catch(() => {});
      await server.stop();
    }
  });
}
