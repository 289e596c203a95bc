import { assert } from "./assert.ts";
import { KvCodecError } from "../src/errors.ts";
import { compileQuery, TAGS } from "../src/keys.ts";
import type { Target, TestFn } from "./harness.ts";
import { manualClock, rawAll, rawExec, tempFile } from "./util.ts";

const tagRows = (t: Target, path: string, table = "kv") =>
  rawAll(t.raw, path, `SELECT tag, k FROM "kvsqlite_tags/${table}" ORDER BY tag, k`);

/** Tags: NADB's labels on values, in the core. */
export function tagTests(test: TestFn, t: Target): void {
  test("set attaches tags; tags() lists them sorted, [] for none, undefined when missing", () => {
    using kv = t.openKv();
    assert.equal(kv.set("post:1", "hi", { tags: ["user:42", "feed", "user:42"] }), true);
    kv.set("plain", 1);
    assert.deepEqual(kv.tags("post:1"), ["feed", "user:42"]);
    assert.deepEqual(kv.tags("plain"), []);
    assert.equal(kv.tags("missing"), undefined);
    kv.set("empty", 1, { tags: [] });
    assert.deepEqual(kv.tags("empty"), []);
  });

  test("tags belong to the value: a later set without tags leaves the key untagged, with tags replaces them", () => {
    const path = tempFile();
    using kv = t.openKv(path);
    kv.set("a", 1, { tags: ["x", "y"] });
    kv.set("a", 2);
    assert.deepEqual(kv.tags("a"), []);
    assert.deepEqual(kv.keys({ tag: "x" }), []);
    kv.set("a", 3, { tags: ["y", "z"] });
    assert.deepEqual(kv.tags("a"), ["y", "z"]);
    kv.set("a", 4, { tags: ["w"], ttl: 1000 });
    assert.deepEqual(kv.tags("a"), ["w"]);
    kv.set("a", 5, { ifPresent: true, keepTtl: true });
    assert.deepEqual(kv.tags("a"), []);
    kv.set("a", 6, { tags: ["v"] });
    kv.set("a", 7, { ifVersion: kv.getEntry("a")!.version });
    assert.deepEqual(kv.tags("a"), []);
    kv.flush();
    assert.deepEqual(tagRows(t, path), [], "no tag row outlives its value");
  });

  test("a write stopped by its condition keeps the old value's tags", () => {
    using kv = t.openKv();
    kv.set("lock", "me", { tags: ["locks"] });
    assert.equal(kv.set("lock", "you", { ifAbsent: true }), false);
    assert.equal(kv.set("lock", "you", { ifAbsent: true, tags: ["other"] }), false);
    assert.equal(kv.set("lock", "you", { ifVersion: 1 }), false);
    assert.equal(kv.set("missing", "x", { ifPresent: true, tags: ["t"] }), false);
    assert.deepEqual(kv.tags("lock"), ["locks"]);
    assert.deepEqual(kv.keys({ tag: "locks" }), ["lock"]);
    assert.deepEqual(kv.keys({ tag: "t" }), []);
  });

  test("incr, expire, expireAt and persist keep the tags; rename moves them", () => {
    const clock = manualClock();
    using kv = t.openKv(":memory:", { now: clock.now });
    kv.set("n", 1, { tags: ["counter"] });
    kv.incr("n");
    kv.incr("n", 0.5);
    kv.set("b", 10n, { tags: ["counter"] });
    kv.incr("b", 5n);
    assert.equal(kv.expire("n", 1000), true);
    assert.equal(kv.expireAt("n", clock.now() + 2000), true);
    assert.equal(kv.persist("n"), true);
    assert.deepEqual(kv.tags("n"), ["counter"]);
    assert.deepEqual(kv.tags("b"), ["counter"]);
    kv.set("target", 0, { tags: ["old"] });
    assert.equal(kv.rename("n", "target", { overwrite: true }), true);
    assert.deepEqual(kv.tags("target"), ["counter"]);
    assert.equal(kv.tags("n"), undefined);
    assert.deepEqual(kv.keys({ tag: "old" }), []);
    assert.deepEqual(kv.keys({ tag: "counter" }), ["b", "target"]);
  });

  test("delete, take, deleteMany and clear drop the tags", () => {
    const path = tempFile();
    using kv = t.openKv(path);
    const tagged = { tags: ["t"] };
    for (const k of ["a", "b", "c", "d", "e", "f"]) kv.set(k, k, tagged);
    assert.equal(kv.delete("a"), true);
    assert.equal(kv.take("b"), "b");
    assert.equal(kv.deleteMany(["c"]), 1);
    assert.equal(kv.deleteMany({ prefix: "d" }), 1);
    assert.deepEqual(kv.keys({ tag: "t" }), ["e", "f"]);
    kv.flush();
    assert.deepEqual(tagRows(t, path), [["t", "e"], ["t", "f"]]);
    assert.equal(kv.clear(), 2);
    kv.flush();
    assert.deepEqual(tagRows(t, path), []);
    kv.set("a", "again");
    assert.deepEqual(kv.tags("a"), [], "a key written again after delete starts untagged");
  });

  test("an expired key's tags are invisible at once and dropped by purgeExpired", () => {
    const clock = manualClock();
    const path = tempFile();
    using kv = t.openKv(path, { now: clock.now });
    kv.set("s", 1, { tags: ["t"], ttl: 10 });
    kv.set("p", 2, { tags: ["t"] });
    clock.advance(10);
    assert.equal(kv.tags("s"), undefined);
    assert.deepEqual(kv.keys({ tag: "t" }), ["p"]);
    assert.equal(kv.count({ tag: "t" }), 1);
    assert.equal(kv.delete("s"), false);
    assert.equal(kv.purgeExpired(), 1);
    kv.flush();
    assert.deepEqual(tagRows(t, path), [["t", "p"]]);
    kv.set("x", 1, { tags: ["t"], ttl: 10 });
    clock.advance(10);
    assert.equal(kv.set("x", 2), true, "an expired tagged row is overwritten");
    assert.deepEqual(kv.tags("x"), []);
    assert.equal(kv.take("x"), 2);
  });

  test("{ tag } works in keys, values, entries, list, count and deleteMany, in key order", () => {
    using kv = t.openKv();
    kv.setMany({ c: 3, a: 1, b: 2 }, { tags: ["letters"] });
    kv.set("z", 26);
    assert.deepEqual(kv.keys({ tag: "letters" }), ["a", "b", "c"]);
    assert.deepEqual(kv.values({ tag: "letters" }), [1, 2, 3]);
    assert.deepEqual(kv.entries({ tag: "letters" }, { reverse: true, limit: 2 }), [["c", 3], ["b", 2]]);
    assert.deepEqual([...kv.list({ tag: "letters" }, { after: "a" })].map((e) => e.key), ["b", "c"]);
    assert.equal(kv.count({ tag: "letters" }), 3);
    assert.equal(kv.count({ tag: "nothing" }), 0);
    assert.equal(kv.deleteMany({ tag: "letters" }), 3);
    assert.deepEqual(kv.keys(), ["z"]);
    assert.throws(() => kv.keys({ tag: "a", prefix: "a" } as never), TypeError);
    assert.throws(() => kv.keys({ tag: undefined } as never), TypeError);
    assert.throws(() => kv.keys({ tag: 5 } as never), TypeError);
  });

  test("deleteMany({ tag }) finds its keys through the tag index, not by scanning the store", () => {
    const path = tempFile();
    {
      using kv = t.openKv(path);
      for (let i = 0; i < 200; i++) kv.set(`k${i}`, i, { tags: i % 10 === 0 ? ["t"] : ["other"] });
      kv.optimize();
    }
    const cond = compileQuery({ tag: "t" }, "test");
    const where = cond.sql.replaceAll(TAGS, `"kvsqlite_tags/kv"`);
    const live = "(expire_time IS NULL OR expire_time > ?)";
    for (
      const sql of [
        `DELETE FROM "kvsqlite_tags/kv" WHERE k IN (SELECT k FROM "kv" WHERE ${where} AND ${live} AND tagged = 1)`,
        `DELETE FROM "kv" WHERE ${where} AND ${live}`,
        `SELECT k FROM "kv" WHERE ${where} AND ${live} ORDER BY k LIMIT 10`,
      ]
    ) {
      const plan = rawAll(t.raw, path, `EXPLAIN QUERY PLAN ${sql}`, ...cond.params, 0).map((r) => String(r[3])).join(
        "\n",
      );
      assert.match(plan, /kvsqlite_tags\/kv USING (PRIMARY KEY|COVERING INDEX) \(tag=\?/, `${sql}\n${plan}`);
      assert.doesNotMatch(plan, /SCAN kv\b/, `${sql}\n${plan}`);
    }
  });

  test("bad tags are refused and nothing is written", () => {
    using kv = t.openKv();
    kv.set("k", "before", { tags: ["keep"] });
    const bad: [unknown, typeof Error][] = [
      ["one", TypeError],
      [[1], TypeError],
      [[""], RangeError],
      [["é".repeat(129)], RangeError],
      [["x\uD800"], RangeError],
      [["a\0"], RangeError],
      [Array.from({ length: 65 }, (_, i) => `t${i}`), RangeError],
    ];
    for (const [tags, error] of bad) {
      assert.throws(() => kv.set("k", "after", { tags } as never), error, String(tags));
      assert.throws(() => kv.setMany({ k: "after", n: 1 }, { tags } as never), error);
    }
    assert.throws(() => kv.set("k", () => 1, { tags: ["t"] }), KvCodecError);
    assert.equal(
      kv.set("k", "ok", { tags: ["é".repeat(128), ...Array.from({ length: 63 }, (_, i) => `t${i}`)] }),
      true,
    );
    assert.equal(kv.tags("k")!.length, 64);
    kv.set("k", "before", { tags: ["keep"] });
    assert.deepEqual(kv.tags("k"), ["keep"]);
    assert.equal(kv.has("n"), false);
  });

  test("namespaces keep their own tags; dropNamespace drops them", () => {
    const path = tempFile();
    using kv = t.openKv(path);
    const ns = kv.namespace("users");
    ns.set("42", "ada", { tags: ["admin"] });
    kv.set("42", "root", { tags: ["admin"] });
    assert.deepEqual(ns.keys({ tag: "admin" }), ["42"]);
    assert.equal(ns.deleteMany({ tag: "admin" }), 1);
    assert.deepEqual(kv.keys({ tag: "admin" }), ["42"]);
    ns.set("1", 1, { tags: ["x"] });
    assert.deepEqual(kv.namespaces(), ["users"]);
    assert.equal(kv.dropNamespace("users"), true);
    kv.flush();
    const tables = rawAll(t.raw, path, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).map((r) =>
      r[0]
    );
    assert.deepEqual(tables, ["kv", "kvsqlite_meta", "kvsqlite_tags/kv"]);
  });

  test("a version 1 file gains the tag tables on open, namespaces included", () => {
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
    assert.throws(() => t.openKv(path, { readOnly: true }), /needs migrating/);
    {
      using kv = t.openKv(path);
      assert.equal(kv.get("a"), "one");
      assert.equal(kv.namespace("users").get("u"), "ada");
      kv.set("a", "tagged", { tags: ["t"] });
      kv.namespace("users").set("u", "tagged", { tags: ["t"] });
      assert.deepEqual(kv.namespace("users").keys({ tag: "t" }), ["u"]);
    }
    assert.deepEqual(rawAll(t.raw, path, `SELECT version FROM kvsqlite_meta WHERE name = 'kv'`), [[2]]);
    assert.deepEqual(tagRows(t, path, "kv/users"), [["t", "u"]]);
  });

  test("table names starting with kvsqlite_ are reserved", () => {
    assert.throws(() => t.openKv(":memory:", { table: "kvsqlite_tags" }), RangeError);
    assert.throws(() => t.openKv(":memory:", { table: "KVSQLITE_x" }), RangeError);
  });
}
