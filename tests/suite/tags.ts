import { assert } from "../assert.ts";
import { KvCodecError } from "../../src/errors.ts";
import { compileQuery } from "../../src/query.ts";
import type { Target, TestFn } from "../harness.ts";
import { manualClock, rawAll, tagRows, tempFile } from "../util.ts";

/** Tags: NADB's labels on values, in the core. */
export function tagTests(test: TestFn, t: Target): void {
  test("set attaches tags; tags() lists them sorted, [] for none, undefined when missing", async () => {
    await using kv = await t.open();
    assert.equal(await kv.set("post:1", "hi", { tags: ["user:42", "feed", "user:42"] }), true);
    await kv.set("plain", 1);
    assert.deepEqual(await kv.tags("post:1"), ["feed", "user:42"]);
    assert.deepEqual(await kv.tags("plain"), []);
    assert.equal(await kv.tags("missing"), undefined);
    await kv.set("empty", 1, { tags: [] });
    assert.deepEqual(await kv.tags("empty"), []);
  });

  test("tags belong to the value: a later set without tags leaves the key untagged, with tags replaces them", async () => {
    const path = tempFile();
    await using kv = await t.open(path);
    await kv.set("a", 1, { tags: ["x", "y"] });
    await kv.set("a", 2);
    assert.deepEqual(await kv.tags("a"), []);
    assert.deepEqual(await kv.keys({ tag: "x" }), []);
    await kv.set("a", 3, { tags: ["y", "z"] });
    assert.deepEqual(await kv.tags("a"), ["y", "z"]);
    await kv.set("a", 4, { tags: ["w"], ttl: 1000 });
    assert.deepEqual(await kv.tags("a"), ["w"]);
    await kv.set("a", 5, { ifPresent: true, keepTtl: true });
    assert.deepEqual(await kv.tags("a"), []);
    await kv.set("a", 6, { tags: ["v"] });
    await kv.set("a", 7, { ifVersion: (await kv.getEntry("a"))!.version });
    assert.deepEqual(await kv.tags("a"), []);
    await kv.flush();
    assert.deepEqual(await tagRows(t, path), [], "no tag row outlives its value");
  });

  test("a write stopped by its condition keeps the old value's tags", async () => {
    await using kv = await t.open();
    await kv.set("lock", "me", { tags: ["locks"] });
    assert.equal(await kv.set("lock", "you", { ifAbsent: true }), false);
    assert.equal(await kv.set("lock", "you", { ifAbsent: true, tags: ["other"] }), false);
    assert.equal(await kv.set("lock", "you", { ifVersion: 1 }), false);
    assert.equal(await kv.set("missing", "x", { ifPresent: true, tags: ["t"] }), false);
    assert.deepEqual(await kv.tags("lock"), ["locks"]);
    assert.deepEqual(await kv.keys({ tag: "locks" }), ["lock"]);
    assert.deepEqual(await kv.keys({ tag: "t" }), []);
  });

  test("incr, expire, expireAt and persist keep the tags; rename moves them", async () => {
    const clock = manualClock();
    await using kv = await t.open(":memory:", { now: clock.now });
    await kv.set("n", 1, { tags: ["counter"] });
    await kv.incr("n");
    await kv.incr("n", 0.5);
    await kv.set("b", 10n, { tags: ["counter"] });
    await kv.incr("b", 5n);
    assert.equal(await kv.expire("n", 1000), true);
    assert.equal(await kv.expireAt("n", clock.now() + 2000), true);
    assert.equal(await kv.persist("n"), true);
    assert.deepEqual(await kv.tags("n"), ["counter"]);
    assert.deepEqual(await kv.tags("b"), ["counter"]);
    await kv.set("target", 0, { tags: ["old"] });
    assert.equal(await kv.rename("n", "target", { overwrite: true }), true);
    assert.deepEqual(await kv.tags("target"), ["counter"]);
    assert.equal(await kv.tags("n"), undefined);
    assert.deepEqual(await kv.keys({ tag: "old" }), []);
    assert.deepEqual(await kv.keys({ tag: "counter" }), ["b", "target"]);
  });

  test("delete, take, deleteMany and clear drop the tags", async () => {
    const path = tempFile();
    await using kv = await t.open(path);
    const tagged = { tags: ["t"] };
    for (const k of ["a", "b", "c", "d", "e", "f"]) await kv.set(k, k, tagged);
    assert.equal(await kv.delete("a"), true);
    assert.equal(await kv.take("b"), "b");
    assert.equal(await kv.deleteMany(["c"]), 1);
    assert.equal(await kv.deleteMany({ prefix: "d" }), 1);
    assert.deepEqual(await kv.keys({ tag: "t" }), ["e", "f"]);
    await kv.flush();
    assert.deepEqual(await tagRows(t, path), [["t", "e"], ["t", "f"]]);
    assert.equal(await kv.clear(), 2);
    await kv.flush();
    assert.deepEqual(await tagRows(t, path), []);
    await kv.set("a", "again");
    assert.deepEqual(await kv.tags("a"), [], "a key written again after delete starts untagged");
  });

  test("an expired key's tags are invisible at once and dropped by purgeExpired", async () => {
    const clock = manualClock();
    const path = tempFile();
    await using kv = await t.open(path, { now: clock.now });
    await kv.set("s", 1, { tags: ["t"], ttl: 10 });
    await kv.set("p", 2, { tags: ["t"] });
    clock.advance(10);
    assert.equal(await kv.tags("s"), undefined);
    assert.deepEqual(await kv.keys({ tag: "t" }), ["p"]);
    assert.equal(await kv.count({ tag: "t" }), 1);
    assert.equal(await kv.delete("s"), false);
    assert.equal(await kv.purgeExpired(), 1);
    await kv.flush();
    assert.deepEqual(await tagRows(t, path), [["t", "p"]]);
    await kv.set("x", 1, { tags: ["t"], ttl: 10 });
    clock.advance(10);
    assert.equal(await kv.set("x", 2), true, "an expired tagged row is overwritten");
    assert.deepEqual(await kv.tags("x"), []);
    assert.equal(await kv.take("x"), 2);
  });

  test("{ tag } works in keys, values, entries, list, count and deleteMany, in key order", async () => {
    await using kv = await t.open();
    await kv.setMany({ c: 3, a: 1, b: 2 }, { tags: ["letters"] });
    await kv.set("z", 26);
    assert.deepEqual(await kv.keys({ tag: "letters" }), ["a", "b", "c"]);
    assert.deepEqual(await kv.values({ tag: "letters" }), [1, 2, 3]);
    assert.deepEqual(await kv.entries({ tag: "letters" }, { reverse: true, limit: 2 }), [["c", 3], ["b", 2]]);
    assert.deepEqual((await Array.fromAsync(kv.list({ tag: "letters" }, { after: "a" }))).map((e) => e.key), [
      "b",
      "c",
    ]);
    assert.equal(await kv.count({ tag: "letters" }), 3);
    assert.equal(await kv.count({ tag: "nothing" }), 0);
    assert.equal(await kv.deleteMany({ tag: "letters" }), 3);
    assert.deepEqual(await kv.keys(), ["z"]);
    await assert.rejects(async () => await kv.keys({ tag: "a", prefix: "a" } as never), TypeError);
    await assert.rejects(async () => await kv.keys({ tag: undefined } as never), TypeError);
    await assert.rejects(async () => await kv.keys({ tag: 5 } as never), TypeError);
  });

  test("deleteMany({ tag }) finds its keys through the tag index, not by scanning the store", async () => {
    const path = tempFile();
    {
      await using kv = await t.open(path);
      for (let i = 0; i < 200; i++) await kv.set(`k${i}`, i, { tags: i % 10 === 0 ? ["t"] : ["other"] });
      await kv.optimize();
    }
    const cond = compileQuery({ tag: "t" }, "test");
    const where = cond.where(`"kvsqlite_tags/kv"`);
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
  }, { skip: t.noFile });

  test("bad tags are refused and nothing is written", async () => {
    await using kv = await t.open();
    await kv.set("k", "before", { tags: ["keep"] });
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
      await assert.rejects(async () => await kv.set("k", "after", { tags } as never), error, String(tags));
      await assert.rejects(async () => await kv.setMany({ k: "after", n: 1 }, { tags } as never), error);
    }
    await assert.rejects(async () => await kv.set("k", () => 1, { tags: ["t"] }), KvCodecError);
    assert.equal(
      await kv.set("k", "ok", { tags: ["é".repeat(128), ...Array.from({ length: 63 }, (_, i) => `t${i}`)] }),
      true,
    );
    assert.equal((await kv.tags("k"))!.length, 64);
    await kv.set("k", "before", { tags: ["keep"] });
    assert.deepEqual(await kv.tags("k"), ["keep"]);
    assert.equal(await kv.has("n"), false);
  });

  test("namespaces keep their own tags; dropNamespace drops them", async () => {
    const path = tempFile();
    await using kv = await t.open(path);
    const ns = kv.namespace("users");
    await ns.set("42", "ada", { tags: ["admin"] });
    await kv.set("42", "root", { tags: ["admin"] });
    assert.deepEqual(await ns.keys({ tag: "admin" }), ["42"]);
    assert.equal(await ns.deleteMany({ tag: "admin" }), 1);
    assert.deepEqual(await kv.keys({ tag: "admin" }), ["42"]);
    await ns.set("1", 1, { tags: ["x"] });
    assert.deepEqual(await kv.namespaces(), ["users"]);
    assert.equal(await kv.dropNamespace("users"), true);
    await kv.flush();
    const tables = rawAll(t.raw, path, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).map((r) =>
      r[0]
    );
    assert.deepEqual(tables, ["kv", "kvsqlite_meta", "kvsqlite_tags/kv"]);
  }, { skip: t.noFile });
}
