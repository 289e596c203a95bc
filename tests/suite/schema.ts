import { assert } from "../assert.ts";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  KvBusyError,
  KvClosedError,
  KvCorruptError,
  KvError,
  KvReadOnlyError,
  KvSchemaError,
} from "../../src/errors.ts";
import { syncOnly, type Target, type TestFn } from "../harness.ts";
import { manualClock, rawAll, rawExec, tempDir, tempFile } from "../util.ts";

/** Transactions, namespaces, stats, maintenance, errors, schema and options. */
export function adminTests(test: TestFn, t: Target): void {
  test("a transaction commits on return and rolls back on throw", async () => {
    await using kv = await t.openKv();
    assert.equal(
      await kv.transaction((tx) => {
        tx.set("a", 1);
        tx.set("b", 2);
        return "done";
      }),
      "done",
    );
    const boom = new Error("boom");
    await assert.rejects(async () =>
      await kv.transaction((tx) => {
        tx.set("a", 100);
        tx.delete("b");
        throw boom;
      }), (e) => e === boom);
    assert.deepEqual(await kv.entries(), [["a", 1], ["b", 2]]);
  });

  test("nested transactions are savepoints", async () => {
    await using kv = await t.openKv();
    await kv.transaction((tx) => {
      tx.set("outer", 1);
      assert.throws(() =>
        tx.transaction((inner) => {
          inner.set("inner", 1);
          throw new Error("inner fails");
        })
      );
      tx.transaction((inner) => inner.set("kept", 1));
    });
    assert.deepEqual(await kv.keys(), ["kept", "outer"]);
  }, syncOnly(t, "transaction(fn) takes an async fn (see its own tests)"));

  test("an async callback is refused with TypeError and nothing is committed", async () => {
    using kv = t.openKv();
    // deno-lint-ignore require-await
    const asyncFn = async (tx: typeof kv) => tx.set("a", 1);
    assert.throws(() => kv.transaction(asyncFn as never), TypeError);
    assert.throws(
      () =>
        kv.transaction(
          ((tx: typeof kv) => {
            tx.set("b", 1);
            return Promise.resolve(1);
          }) as never,
        ),
      /fn must be synchronous, received a promise/,
    );
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(kv.count(), 0);
    assert.throws(() => kv.transaction("x" as never), TypeError);
  }, syncOnly(t, "transaction(fn) takes an async fn"));

  test("transaction refuses a fn that is not a function, and nothing is committed", async () => {
    await using kv = await t.openKv();
    await assert.rejects(async () => await kv.transaction("x" as never), TypeError);
    await assert.rejects(async () => await kv.transaction(undefined as never), /fn must be a function/);
    assert.equal(await kv.count(), 0);
  });

  test("a failed call inside a transaction leaves the transaction usable", async () => {
    await using kv = await t.openKv();
    await kv.transaction((tx) => {
      tx.set("a", 1);
      assert.throws(() => tx.set("b", () => 1), Error);
      tx.set("c", 3);
    });
    assert.deepEqual(await kv.keys(), ["a", "c"]);
  }, syncOnly(t, "transaction(fn) takes an async fn (see its own tests)"));

  test("namespaces are isolated key spaces sharing the file and the transactions", async () => {
    const path = tempFile();
    await using kv = await t.openKv(path);
    const users = kv.namespace("users");
    const posts = kv.namespace("posts");
    assert.equal(kv.namespace("users"), users);
    await kv.set("1", "root");
    await users.set("1", "ada");
    await posts.set("1", "hello");
    assert.equal(await kv.get("1"), "root");
    assert.equal(await users.get("1"), "ada");
    assert.deepEqual(await kv.keys(), ["1"]);
    assert.deepEqual(await kv.namespaces(), ["posts", "users"]);
    await assert.rejects(async () =>
      await kv.transaction(() => {
        users.set("2", "bob");
        posts.delete("1");
        throw new Error("undo");
      })
    );
    assert.deepEqual(await users.keys(), ["1"]);
    assert.equal(await posts.get("1"), "hello");
    assert.equal(await users.clear(), 1);
    assert.equal(await kv.get("1"), "root");
    assert.equal(await posts.count(), 1);
    const deep = users.namespace("admins");
    await deep.set("x", 1);
    assert.deepEqual(await users.namespaces(), ["admins"]);
    assert.deepEqual(await kv.namespaces(), ["posts", "users"]);
    assert.equal(await kv.dropNamespace("users"), true);
    assert.equal(await kv.dropNamespace("users"), false);
    assert.deepEqual(await kv.namespaces(), ["posts"]);
    assert.equal(await users.get("1"), undefined, "a dropped namespace reads empty");
    await users.set("again", 1);
    assert.deepEqual(await kv.namespace("users").keys(), ["again"]);
    for (const bad of ["", "a/b", "sqlite_x", "x".repeat(129)]) assert.throws(() => kv.namespace(bad), RangeError);
    assert.throws(() => kv.namespace(5 as unknown as string), TypeError);
  });

  test("closing a namespace closes only that view", async () => {
    await using kv = await t.openKv();
    const ns = kv.namespace("n");
    await ns.close();
    await assert.rejects(async () => await ns.get("a"), KvClosedError);
    await kv.set("a", 1);
    assert.equal(await kv.get("a"), 1);
  });

  test("stats counts operations since open and reads the file's gauges", async () => {
    const clock = manualClock();
    const path = tempFile();
    await using kv = await t.openKv(path, { now: clock.now });
    await kv.set("a", 1);
    await kv.set("b", 2, { ttl: 5 });
    await kv.set("a", 0, { ifAbsent: true });
    await kv.get("a");
    await kv.get("zz");
    clock.advance(5);
    await kv.get("b");
    await kv.delete("a");
    await kv.set("c", 1, { ttl: 1 });
    clock.advance(1);
    await kv.purgeExpired();
    await kv.transaction(() => {});
    await kv.set("d", 1);
    const s = await kv.stats();
    assert.equal(s.gets, 3);
    assert.equal(s.hits, 1);
    assert.equal(s.misses, 2);
    assert.equal(s.expiredReads, 1);
    assert.equal(s.sets, 4);
    assert.equal(s.deletes, 1);
    assert.equal(s.purged, 2);
    assert.equal(s.transactions, 1);
    assert.equal(s.keys, 1);
    assert.ok(s.pages > 0);
    assert.equal(s.fileBytes, s.pages * s.pageSize);
    assert.equal(typeof s.walBytes, "number");
    assert.ok((s.walBytes as number) > 0);
  });

  test("checkpoint, vacuum and optimize run, and bad modes are refused", async () => {
    const path = tempFile();
    await using kv = await t.openKv(path);
    await kv.setMany(Array.from({ length: 200 }, (_, i) => [`k${i}`, "x".repeat(100)]));
    const r = await kv.checkpoint("truncate");
    assert.equal(r.busy, false);
    assert.equal(statSync(`${path}-wal`).size, 0);
    assert.ok((await kv.checkpoint()).logFrames >= 0);
    await kv.clear();
    const before = (await kv.stats()).pages;
    await kv.vacuum();
    assert.ok((await kv.stats()).pages < before);
    await kv.optimize();
    await assert.rejects(async () => await kv.checkpoint("bogus" as never), RangeError);
    await assert.rejects(async () => await kv.transaction(() => kv.vacuum()), KvError);
  });

  test("integrityCheck passes on a sound file and throws KvCorruptError on a damaged one", async () => {
    const path = tempFile();
    {
      await using kv = await t.openKv(path, { journalMode: "delete" });
      await kv.setMany(Array.from({ length: 3000 }, (_, i) => [`key${i}`, `value ${i} `.repeat(10)]));
      await kv.integrityCheck();
    }
    const bytes = readFileSync(path);
    for (let i = 8192; i < bytes.length - 4096; i += 4096) bytes.fill(0x5a, i + 100, i + 3000);
    writeFileSync(path, bytes);
    await assert.rejects(async () => {
      const kv = await t.openKv(path, { journalMode: "delete" });
      try {
        await kv.integrityCheck();
      } finally {
        await kv.close({ optimize: false });
      }
    }, KvCorruptError);
  });

  test("a file that is not a database is reported as KvCorruptError", async () => {
    const path = tempFile();
    writeFileSync(path, "this is not a sqlite file at all, but it is long enough to have a header".repeat(100));
    await assert.rejects(async () => await t.openKv(path), KvCorruptError);
  });

  test("backup writes a consistent copy while the store stays open", async () => {
    const dir = tempDir();
    await using kv = await t.openKv(join(dir, "a.db"));
    await kv.set("a", { n: 1 });
    await kv.namespace("ns").set("b", 2);
    await kv.backup(join(dir, "copy.db"));
    await kv.set("after", 1);
    await using copy = await t.openKv(join(dir, "copy.db"));
    assert.deepEqual(await copy.entries(), [["a", { n: 1 }]]);
    assert.equal(await copy.namespace("ns").get("b"), 2);
    await assert.rejects(async () => await kv.backup(join(dir, "copy.db")), KvError);
    await assert.rejects(async () => await kv.backup(""), RangeError);
  });

  test("a read-only store reads and refuses every write with KvReadOnlyError", async () => {
    const path = tempFile();
    {
      await using kv = await t.openKv(path);
      await kv.set("a", 1);
      await kv.namespace("n").set("x", 1);
    }
    await using ro = await t.openKv(path, { readOnly: true });
    assert.equal(await ro.get("a"), 1);
    assert.equal(await ro.namespace("n").get("x"), 1);
    for (
      const write of [
        async () => await ro.set("b", 1),
        async () => await ro.delete("a"),
        async () => await ro.incr("a"),
        async () => await ro.clear(),
        async () => await ro.purgeExpired(),
        async () => await ro.setMany({ c: 1 }),
        async () => await ro.rename("a", "z"),
        async () => await ro.expire("a", 5),
      ]
    ) {
      await assert.rejects(write, KvReadOnlyError);
    }
    await assert.rejects(async () => await ro.transaction((tx) => tx.set("b", 1)), KvReadOnlyError);
    assert.deepEqual(await ro.entries(), [["a", 1]]);
  });

  test("a held write lock makes a writer fail with KvBusyError after busyTimeout, changing nothing", async () => {
    const path = tempFile();
    await using a = await t.openKv(path);
    await using b = await t.openKv(path, { busyTimeout: 50 });
    await a.set("k", "a");
    await a.transaction(() => {
      a.set("k", "held");
      let error: unknown;
      try {
        b.set("k", "b");
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof KvBusyError, `expected KvBusyError, got ${error}`);
      assert.equal((error as KvBusyError).code, "KV_BUSY");
      assert.ok((error as Error).cause !== undefined, "the driver's error is kept as cause");
      assert.match((error as KvBusyError).sql ?? "", /BEGIN|INSERT/);
    });
    await a.flush(); // committed for b to see (a no-op in the default mode)
    assert.equal(await b.get("k"), "held");
  }, syncOnly(t, "transaction(fn) takes an async fn (see its own tests)"));

  test("a fresh file records its schema version", async () => {
    const path = tempFile();
    await (await t.openKv(path)).close();
    assert.deepEqual(rawAll(t.raw, path, `SELECT name, version FROM kvsqlite_meta`), [["kv", 2]]);
    assert.deepEqual(rawAll(t.raw, path, `PRAGMA journal_mode`), [["wal"]]);
  });

  test("a legacy Kvsqlite table with rows is adopted: rows stay readable and TTL works", async () => {
    const path = tempFile();
    rawExec(
      t.raw,
      path,
      `CREATE TABLE "kv" (k VARCHAR(4096) PRIMARY KEY, v BLOB);
       INSERT INTO kv VALUES ('text', 'hello'), ('blob', x'00ff10'), ('num', 12);`,
    );
    const clock = manualClock();
    {
      await using kv = await t.openKv(path, { now: clock.now });
      assert.equal(await kv.get("text"), "hello");
      assert.deepEqual(await kv.get("blob"), new Uint8Array([0, 255, 16]));
      assert.equal(await kv.get("num"), 12);
      assert.deepEqual(await kv.keys(), ["blob", "num", "text"]);
      assert.equal(await kv.expire("text", 10), true);
      await kv.set("new", { a: 1 }, { ttl: 10 });
      clock.advance(10);
      assert.equal(await kv.has("text"), false);
      assert.equal(await kv.purgeExpired(), 2);
    }
    const columns = rawAll(t.raw, path, `SELECT name FROM pragma_table_info('kv')`).map((r) => r[0]);
    assert.deepEqual(columns, ["k", "v", "expire_time", "kind", "version", "tagged"]);
    const indexes = rawAll(t.raw, path, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'kv'`)
      .map((r) => r[0]);
    assert.ok(indexes.includes("kv.expire_time"));
    assert.deepEqual(rawAll(t.raw, path, `SELECT version FROM kvsqlite_meta WHERE name = 'kv'`), [[2]]);
  });

  test("a Kvsqlite table that already has expire_time in seconds is converted to ms", async () => {
    const path = tempFile();
    rawExec(
      t.raw,
      path,
      `CREATE TABLE "kv" (k VARCHAR(4096) PRIMARY KEY, v BLOB, expire_time INTEGER);
       INSERT INTO kv VALUES ('a', 'x', 2000000000), ('b', 'y', NULL);`,
    );
    await using kv = await t.openKv(path, { now: () => 1_999_999_999_000 });
    assert.equal(await kv.ttl("a"), 1000);
    assert.equal(await kv.ttl("b"), Infinity);
  });

  test("a schema newer than the library throws KvSchemaError and leaves the file untouched", async () => {
    const path = tempFile();
    await (await t.openKv(path, { journalMode: "delete" })).close();
    rawExec(t.raw, path, `UPDATE kvsqlite_meta SET version = 99`);
    const before = readFileSync(path);
    await assert.rejects(async () => await t.openKv(path, { journalMode: "delete" }), KvSchemaError);
    assert.deepEqual(readFileSync(path), before);
    assert.equal(existsSync(`${path}-wal`), false);
  });

  test("a table of the same name that is not a key table throws KvSchemaError", async () => {
    const path = tempFile();
    rawExec(t.raw, path, `CREATE TABLE "kv" (id INTEGER PRIMARY KEY, name TEXT)`);
    await assert.rejects(async () => await t.openKv(path), KvSchemaError);
  });

  test("the table option names the table, quoted, and bad names are refused", async () => {
    const path = tempFile();
    {
      await using a = await t.openKv(path, { table: 'we"ird name' });
      await using b = await t.openKv(path, { table: "other" });
      await a.set("k", "a");
      await b.set("k", "b");
      assert.equal(await a.get("k"), "a");
    }
    const tables = rawAll(
      t.raw,
      path,
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name`,
    ).map((r) => r[0]);
    assert.deepEqual(tables, [
      "kvsqlite_meta",
      "kvsqlite_tags/other",
      'kvsqlite_tags/we"ird name',
      "other",
      'we"ird name',
    ]);
    for (const bad of ["", "sqlite_master", "a/b", "x\0y"]) {
      await assert.rejects(async () => await t.openKv(path, { table: bad }), RangeError);
    }
    await assert.rejects(async () => await t.openKv(path, { table: 5 as unknown as string }), TypeError);
  });

  test("bad options are refused before anything is opened", async () => {
    const dir = tempDir();
    const path = join(dir, "sub", "x.db");
    await assert.rejects(async () => await t.openKv(path, { bogus: 1 } as never), TypeError);
    await assert.rejects(async () => await t.openKv(path, { journalMode: "memory" as never }), RangeError);
    await assert.rejects(async () => await t.openKv(path, { synchronous: "extra" as never }), RangeError);
    await assert.rejects(async () => await t.openKv(path, { busyTimeout: -1 }), RangeError);
    await assert.rejects(async () => await t.openKv(path, { sweepInterval: "1" as never }), TypeError);
    await assert.rejects(async () => await t.openKv(path, { now: 5 as never }), TypeError);
    await assert.rejects(async () => await t.openKv(path, { codec: {} as never }), TypeError);
    await assert.rejects(async () => await t.openKv(5 as never), TypeError);
    await assert.rejects(async () => await t.openKv(""), RangeError);
    assert.equal(existsSync(path), false);
  });

  test("parent folders are created, and no path means memory", async () => {
    const dir = tempDir();
    const path = join(dir, "a", "b", "c.db");
    await (await t.openKv(path)).close();
    assert.ok(existsSync(path));
    await using m = await t.openKv();
    await m.set("a", 1);
    assert.equal((await m.stats()).walBytes, null);
  });

  test("a store opens with WAL, synchronous NORMAL and a 5000 ms busy timeout unless told otherwise", async () => {
    const path = tempFile();
    const a = t.fromDatabase(path);
    assert.equal(a.pragma("journal_mode"), "wal");
    assert.equal(a.pragma("synchronous"), 1);
    assert.equal(a.pragma("busy_timeout"), 5000);
    assert.equal(a.pragma("mmap_size"), 268435456);
    await a.kv.close();
    a.closeUser();
    const b = t.fromDatabase(tempFile(), {
      journalMode: "delete",
      synchronous: "full",
      busyTimeout: 250,
      cacheSize: -4096,
      mmapSize: 0,
    });
    assert.equal(b.pragma("journal_mode"), "delete");
    assert.equal(b.pragma("synchronous"), 2);
    assert.equal(b.pragma("busy_timeout"), 250);
    assert.equal(b.pragma("cache_size"), -4096);
    assert.equal(b.pragma("mmap_size"), 0);
    await b.kv.close();
    b.closeUser();
  }, syncOnly(t, "reads the pragmas through the user's handle (fromDatabase)"));

  test("fromDatabase leaves the user's handle open unless closeDatabase is true", async () => {
    const path = tempFile();
    const a = t.fromDatabase(path);
    await a.kv.set("x", 1);
    await a.kv.close();
    assert.equal(a.userHandleWorks(), true);
    a.closeUser();
    const b = t.fromDatabase(path, { closeDatabase: true });
    assert.equal(await b.kv.get("x"), 1);
    await b.kv.close();
    assert.equal(b.userHandleWorks(), false);
  }, syncOnly(t, "fromDatabase wraps a handle of the calling thread"));
}
