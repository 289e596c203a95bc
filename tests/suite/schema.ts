import { assert } from "../assert.ts";
import { existsSync, readFileSync } from "node:fs";
import { KvSchemaError } from "../../src/errors.ts";
import type { Target, TestFn } from "../harness.ts";
import { manualClock, rawAll, rawExec, tagRows, tempFile } from "../util.ts";

/** The file's schema: versions and migration, legacy tables adopted, table names, foreign tables refused. */
export function schemaTests(test: TestFn, t: Target): void {
  test("a fresh file records its schema version", async () => {
    const path = tempFile();
    await (await t.open(path)).close();
    assert.deepEqual(rawAll(t.raw, path, `SELECT name, version FROM kvsqlite_meta`), [["kv", 2]]);
    assert.deepEqual(rawAll(t.raw, path, `PRAGMA journal_mode`), [["wal"]]);
  });

  test("a version 1 file gains the tag tables on open, namespaces included", async () => {
    const path = tempFile();
    const v1 = (name: string) =>
      `CREATE TABLE "${name}" (k TEXT PRIMARY KEY NOT NULL, v BLOB, kind INTEGER NOT NULL DEFAULT 0,
       expire_time INTEGER, version INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
       CREATE INDEX "${name}.expire_time" ON "${name}" (expire_time) WHERE expire_time IS NOT NULL;`;
    rawExec(
      t.raw,
      path,
      `${v1("kv")}${v1("kv/users")}
       CREATE TABLE kvsqlite_meta (name TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL);
       INSERT INTO kvsqlite_meta VALUES ('kv', 1);
       INSERT INTO kv (k, v) VALUES ('a', 'one'); INSERT INTO "kv/users" (k, v) VALUES ('u', 'ada');`,
    );
    await assert.rejects(async () => await t.open(path, { readOnly: true }), /needs migrating/);
    {
      await using kv = await t.open(path);
      assert.equal(await kv.get("a"), "one");
      assert.equal(await kv.namespace("users").get("u"), "ada");
      await kv.set("a", "tagged", { tags: ["t"] });
      await kv.namespace("users").set("u", "tagged", { tags: ["t"] });
      assert.deepEqual(await kv.namespace("users").keys({ tag: "t" }), ["u"]);
    }
    assert.deepEqual(rawAll(t.raw, path, `SELECT version FROM kvsqlite_meta WHERE name = 'kv'`), [[2]]);
    assert.deepEqual(await tagRows(t, path, "kv/users"), [["t", "u"]]);
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
      await using kv = await t.open(path, { now: clock.now });
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
    await using kv = await t.open(path, { now: () => 1_999_999_999_000 });
    assert.equal(await kv.ttl("a"), 1000);
    assert.equal(await kv.ttl("b"), Infinity);
  });

  test("a schema newer than the library throws KvSchemaError and leaves the file untouched", async () => {
    const path = tempFile();
    await (await t.open(path, { journalMode: "delete" })).close();
    rawExec(t.raw, path, `UPDATE kvsqlite_meta SET version = 99`);
    const before = readFileSync(path);
    await assert.rejects(async () => await t.open(path, { journalMode: "delete" }), KvSchemaError);
    assert.deepEqual(readFileSync(path), before);
    assert.equal(existsSync(`${path}-wal`), false);
  });

  test("a table of the same name that is not a key table throws KvSchemaError", async () => {
    const path = tempFile();
    rawExec(t.raw, path, `CREATE TABLE "kv" (id INTEGER PRIMARY KEY, name TEXT)`);
    await assert.rejects(async () => await t.open(path), KvSchemaError);
  });

  test("another program's table of our name is refused and the file stays byte-identical", async () => {
    const foreign = [
      "CREATE TABLE kv (k TEXT, v BLOB)",
      "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)",
      "CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB, owner TEXT)",
      "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)",
      "CREATE TABLE kv (k TEXT, v BLOB PRIMARY KEY)",
      "CREATE TABLE other (a); CREATE VIEW kv AS SELECT a AS k, a AS v FROM other",
    ];
    for (const sql of foreign) {
      const path = tempFile();
      rawExec(
        t.raw,
        path,
        `${sql}; INSERT INTO ${sql.includes("VIEW") ? "other" : "kv"} VALUES (1${sql.includes("VIEW") ? "" : ", 2"}${
          sql.includes("owner") ? ", 3" : ""
        });`,
      );
      const before = readFileSync(path);
      await assert.rejects(async () => await t.open(path), KvSchemaError, sql);
      await assert.rejects(async () => await t.open(path, { readOnly: true }), KvSchemaError, sql);
      assert.deepEqual(readFileSync(path), before, `${sql}: the file changed`);
    }
  });

  test("the table option names the table, quoted, and bad names are refused", async () => {
    const path = tempFile();
    {
      await using a = await t.open(path, { table: 'we"ird name' });
      await using b = await t.open(path, { table: "other" });
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
      await assert.rejects(async () => await t.open(path, { table: bad }), RangeError);
    }
    await assert.rejects(async () => await t.open(path, { table: 5 as unknown as string }), TypeError);
  });

  test("table names starting with kvsqlite_ are reserved", async () => {
    await assert.rejects(async () => await t.open(":memory:", { table: "kvsqlite_tags" }), RangeError);
    await assert.rejects(async () => await t.open(":memory:", { table: "KVSQLITE_x" }), RangeError);
  });
}
