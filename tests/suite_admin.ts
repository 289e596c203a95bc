import { assert } from "./assert.ts";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvBusyError, KvClosedError, KvCorruptError, KvError, KvReadOnlyError, KvSchemaError } from "../src/errors.ts";
import type { Target, TestFn } from "./harness.ts";
import { manualClock, rawAll, rawExec, tempDir, tempFile } from "./util.ts";

/** Transactions, namespaces, stats, maintenance, errors, schema and options. */
export function adminTests(test: TestFn, t: Target): void {
  test("a transaction commits on return and rolls back on throw", () => {
    using kv = t.openKv();
    assert.equal(
      kv.transaction((tx) => {
        tx.set("a", 1);
        tx.set("b", 2);
        return "done";
      }),
      "done",
    );
    const boom = new Error("boom");
    assert.throws(() =>
      kv.transaction((tx) => {
        tx.set("a", 100);
        tx.delete("b");
        throw boom;
      }), (e) => e === boom);
    assert.deepEqual(kv.entries(), [["a", 1], ["b", 2]]);
  });

  test("nested transactions are savepoints", () => {
    using kv = t.openKv();
    kv.transaction((tx) => {
      tx.set("outer", 1);
      assert.throws(() =>
        tx.transaction((inner) => {
          inner.set("inner", 1);
          throw new Error("inner fails");
        })
      );
      tx.transaction((inner) => inner.set("kept", 1));
    });
    assert.deepEqual(kv.keys(), ["kept", "outer"]);
  });

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
  });

  test("a failed call inside a transaction leaves the transaction usable", () => {
    using kv = t.openKv();
    kv.transaction((tx) => {
      tx.set("a", 1);
      assert.throws(() => tx.set("b", () => 1), Error);
      tx.set("c", 3);
    });
    assert.deepEqual(kv.keys(), ["a", "c"]);
  });

  test("namespaces are isolated key spaces sharing the file and the transactions", () => {
    const path = tempFile();
    using kv = t.openKv(path);
    const users = kv.namespace("users");
    const posts = kv.namespace("posts");
    assert.equal(kv.namespace("users"), users);
    kv.set("1", "root");
    users.set("1", "ada");
    posts.set("1", "hello");
    assert.equal(kv.get("1"), "root");
    assert.equal(users.get("1"), "ada");
    assert.deepEqual(kv.keys(), ["1"]);
    assert.deepEqual(kv.namespaces(), ["posts", "users"]);
    assert.throws(() =>
      kv.transaction(() => {
        users.set("2", "bob");
        posts.delete("1");
        throw new Error("undo");
      })
    );
    assert.deepEqual(users.keys(), ["1"]);
    assert.equal(posts.get("1"), "hello");
    assert.equal(users.clear(), 1);
    assert.equal(kv.get("1"), "root");
    assert.equal(posts.count(), 1);
    const deep = users.namespace("admins");
    deep.set("x", 1);
    assert.deepEqual(users.namespaces(), ["admins"]);
    assert.deepEqual(kv.namespaces(), ["posts", "users"]);
    assert.equal(kv.dropNamespace("users"), true);
    assert.equal(kv.dropNamespace("users"), false);
    assert.deepEqual(kv.namespaces(), ["posts"]);
    assert.equal(users.get("1"), undefined, "a dropped namespace reads empty");
    users.set("again", 1);
    assert.deepEqual(kv.namespace("users").keys(), ["again"]);
    for (const bad of ["", "a/b", "sqlite_x", "x".repeat(129)]) assert.throws(() => kv.namespace(bad), RangeError);
    assert.throws(() => kv.namespace(5 as unknown as string), TypeError);
  });

  test("closing a namespace closes only that view", () => {
    using kv = t.openKv();
    const ns = kv.namespace("n");
    ns.close();
    assert.throws(() => ns.get("a"), KvClosedError);
    kv.set("a", 1);
    assert.equal(kv.get("a"), 1);
  });

  test("stats counts operations since open and reads the file's gauges", () => {
    const clock = manualClock();
    const path = tempFile();
    using kv = t.openKv(path, { now: clock.now });
    kv.set("a", 1);
    kv.set("b", 2, { ttl: 5 });
    kv.set("a", 0, { ifAbsent: true });
    kv.get("a");
    kv.get("zz");
    clock.advance(5);
    kv.get("b");
    kv.delete("a");
    kv.set("c", 1, { ttl: 1 });
    clock.advance(1);
    kv.purgeExpired();
    kv.transaction(() => {});
    kv.set("d", 1);
    const s = kv.stats();
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

  test("checkpoint, vacuum and optimize run, and bad modes are refused", () => {
    const path = tempFile();
    using kv = t.openKv(path);
    kv.setMany(Array.from({ length: 200 }, (_, i) => [`k${i}`, "x".repeat(100)]));
    const r = kv.checkpoint("truncate");
    assert.equal(r.busy, false);
    assert.equal(statSync(`${path}-wal`).size, 0);
    assert.ok(kv.checkpoint().logFrames >= 0);
    kv.clear();
    const before = kv.stats().pages;
    kv.vacuum();
    assert.ok(kv.stats().pages < before);
    kv.optimize();
    assert.throws(() => kv.checkpoint("bogus" as never), RangeError);
    assert.throws(() => kv.transaction(() => kv.vacuum()), KvError);
  });

  test("integrityCheck passes on a sound file and throws KvCorruptError on a damaged one", () => {
    const path = tempFile();
    {
      using kv = t.openKv(path, { journalMode: "delete" });
      kv.setMany(Array.from({ length: 3000 }, (_, i) => [`key${i}`, `value ${i} `.repeat(10)]));
      kv.integrityCheck();
    }
    const bytes = readFileSync(path);
    for (let i = 8192; i < bytes.length - 4096; i += 4096) bytes.fill(0x5a, i + 100, i + 3000);
    writeFileSync(path, bytes);
    assert.throws(() => {
      const kv = t.openKv(path, { journalMode: "delete" });
      try {
        kv.integrityCheck();
      } finally {
        kv.close({ optimize: false });
      }
    }, KvCorruptError);
  });

  test("a file that is not a database is reported as KvCorruptError", () => {
    const path = tempFile();
    writeFileSync(path, "this is not a sqlite file at all, but it is long enough to have a header".repeat(100));
    assert.throws(() => t.openKv(path), KvCorruptError);
  });

  test("backup writes a consistent copy while the store stays open", () => {
    const dir = tempDir();
    using kv = t.openKv(join(dir, "a.db"));
    kv.set("a", { n: 1 });
    kv.namespace("ns").set("b", 2);
    kv.backup(join(dir, "copy.db"));
    kv.set("after", 1);
    using copy = t.openKv(join(dir, "copy.db"));
    assert.deepEqual(copy.entries(), [["a", { n: 1 }]]);
    assert.equal(copy.namespace("ns").get("b"), 2);
    assert.throws(() => kv.backup(join(dir, "copy.db")), KvError);
    assert.throws(() => kv.backup(""), RangeError);
  });

  test("a read-only store reads and refuses every write with KvReadOnlyError", () => {
    const path = tempFile();
    {
      using kv = t.openKv(path);
      kv.set("a", 1);
      kv.namespace("n").set("x", 1);
    }
    using ro = t.openKv(path, { readOnly: true });
    assert.equal(ro.get("a"), 1);
    assert.equal(ro.namespace("n").get("x"), 1);
    for (
      const write of [
        () => ro.set("b", 1),
        () => ro.delete("a"),
        () => ro.incr("a"),
        () => ro.clear(),
        () => ro.purgeExpired(),
        () => ro.setMany({ c: 1 }),
        () => ro.rename("a", "z"),
        () => ro.expire("a", 5),
      ]
    ) {
      assert.throws(write, KvReadOnlyError);
    }
    assert.throws(() => ro.transaction((tx) => tx.set("b", 1)), KvReadOnlyError);
    assert.deepEqual(ro.entries(), [["a", 1]]);
  });

  test("a held write lock makes a writer fail with KvBusyError after busyTimeout, changing nothing", () => {
    const path = tempFile();
    using a = t.openKv(path);
    using b = t.openKv(path, { busyTimeout: 50 });
    a.set("k", "a");
    a.transaction(() => {
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
    a.flush(); // committed for b to see (a no-op in the default mode)
    assert.equal(b.get("k"), "held");
  });

  test("a fresh file records its schema version", () => {
    const path = tempFile();
    t.openKv(path).close();
    assert.deepEqual(rawAll(t.raw, path, `SELECT name, version FROM kvsqlite_meta`), [["kv", 2]]);
    assert.deepEqual(rawAll(t.raw, path, `PRAGMA journal_mode`), [["wal"]]);
  });

  test("a legacy Kvsqlite table with rows is adopted: rows stay readable and TTL works", () => {
    const path = tempFile();
    rawExec(
      t.raw,
      path,
      `CREATE TABLE "kv" (k VARCHAR(4096) PRIMARY KEY, v BLOB);
       INSERT INTO kv VALUES ('text', 'hello'), ('blob', x'00ff10'), ('num', 12);`,
    );
    const clock = manualClock();
    {
      using kv = t.openKv(path, { now: clock.now });
      assert.equal(kv.get("text"), "hello");
      assert.deepEqual(kv.get("blob"), new Uint8Array([0, 255, 16]));
      assert.equal(kv.get("num"), 12);
      assert.deepEqual(kv.keys(), ["blob", "num", "text"]);
      assert.equal(kv.expire("text", 10), true);
      kv.set("new", { a: 1 }, { ttl: 10 });
      clock.advance(10);
      assert.equal(kv.has("text"), false);
      assert.equal(kv.purgeExpired(), 2);
    }
    const columns = rawAll(t.raw, path, `SELECT name FROM pragma_table_info('kv')`).map((r) => r[0]);
    assert.deepEqual(columns, ["k", "v", "expire_time", "kind", "version", "tagged"]);
    const indexes = rawAll(t.raw, path, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'kv'`)
      .map((r) => r[0]);
    assert.ok(indexes.includes("kv.expire_time"));
    assert.deepEqual(rawAll(t.raw, path, `SELECT version FROM kvsqlite_meta WHERE name = 'kv'`), [[2]]);
  });

  test("a Kvsqlite table that already has expire_time in seconds is converted to ms", () => {
    const path = tempFile();
    rawExec(
      t.raw,
      path,
      `CREATE TABLE "kv" (k VARCHAR(4096) PRIMARY KEY, v BLOB, expire_time INTEGER);
       INSERT INTO kv VALUES ('a', 'x', 2000000000), ('b', 'y', NULL);`,
    );
    using kv = t.openKv(path, { now: () => 1_999_999_999_000 });
    assert.equal(kv.ttl("a"), 1000);
    assert.equal(kv.ttl("b"), Infinity);
  });

  test("a schema newer than the library throws KvSchemaError and leaves the file untouched", () => {
    const path = tempFile();
    t.openKv(path, { journalMode: "delete" }).close();
    rawExec(t.raw, path, `UPDATE kvsqlite_meta SET version = 99`);
    const before = readFileSync(path);
    assert.throws(() => t.openKv(path, { journalMode: "delete" }), KvSchemaError);
    assert.deepEqual(readFileSync(path), before);
    assert.equal(existsSync(`${path}-wal`), false);
  });

  test("a table of the same name that is not a key table throws KvSchemaError", () => {
    const path = tempFile();
    rawExec(t.raw, path, `CREATE TABLE "kv" (id INTEGER PRIMARY KEY, name TEXT)`);
    assert.throws(() => t.openKv(path), KvSchemaError);
  });

  test("the table option names the table, quoted, and bad names are refused", () => {
    const path = tempFile();
    {
      using a = t.openKv(path, { table: 'we"ird name' });
      using b = t.openKv(path, { table: "other" });
      a.set("k", "a");
      b.set("k", "b");
      assert.equal(a.get("k"), "a");
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
      assert.throws(() => t.openKv(path, { table: bad }), RangeError);
    }
    assert.throws(() => t.openKv(path, { table: 5 as unknown as string }), TypeError);
  });

  test("bad options are refused before anything is opened", () => {
    const dir = tempDir();
    const path = join(dir, "sub", "x.db");
    assert.throws(() => t.openKv(path, { bogus: 1 } as never), TypeError);
    assert.throws(() => t.openKv(path, { journalMode: "memory" as never }), RangeError);
    assert.throws(() => t.openKv(path, { synchronous: "extra" as never }), RangeError);
    assert.throws(() => t.openKv(path, { busyTimeout: -1 }), RangeError);
    assert.throws(() => t.openKv(path, { sweepInterval: "1" as never }), TypeError);
    assert.throws(() => t.openKv(path, { now: 5 as never }), TypeError);
    assert.throws(() => t.openKv(path, { codec: {} as never }), TypeError);
    assert.throws(() => t.openKv(5 as never), TypeError);
    assert.throws(() => t.openKv(""), RangeError);
    assert.equal(existsSync(path), false);
  });

  test("parent folders are created, and no path means memory", () => {
    const dir = tempDir();
    const path = join(dir, "a", "b", "c.db");
    t.openKv(path).close();
    assert.ok(existsSync(path));
    using m = t.openKv();
    m.set("a", 1);
    assert.equal(m.stats().walBytes, null);
  });

  test("a store opens with WAL, synchronous NORMAL and a 5000 ms busy timeout unless told otherwise", () => {
    const path = tempFile();
    const a = t.fromDatabase(path);
    assert.equal(a.pragma("journal_mode"), "wal");
    assert.equal(a.pragma("synchronous"), 1);
    assert.equal(a.pragma("busy_timeout"), 5000);
    assert.equal(a.pragma("mmap_size"), 268435456);
    a.kv.close();
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
    b.kv.close();
    b.closeUser();
  });

  test("fromDatabase leaves the user's handle open unless closeDatabase is true", () => {
    const path = tempFile();
    const a = t.fromDatabase(path);
    a.kv.set("x", 1);
    a.kv.close();
    assert.equal(a.userHandleWorks(), true);
    a.closeUser();
    const b = t.fromDatabase(path, { closeDatabase: true });
    assert.equal(b.kv.get("x"), 1);
    b.kv.close();
    assert.equal(b.userHandleWorks(), false);
  });
}
