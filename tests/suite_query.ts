import { assert } from "./assert.ts";
import { compileQuery } from "../src/keys.ts";
import type { Target, TestFn } from "./harness.ts";
import { rawAll, tempFile } from "./util.ts";

/** KeyQuery and ListOptions. */
export function queryTests(test: TestFn, t: Target): void {
  const fill = (kv: { set(k: string, v: unknown): boolean }, keys: string[]) => {
    for (const k of keys) kv.set(k, k.toUpperCase());
  };

  test("prefix matches literally: %, _ and \\ are not wildcards", () => {
    using kv = t.openKv();
    fill(kv, ["a%b", "a%bc", "axb", "a_1", "ab1", "a\\x", "aY", "b"]);
    assert.deepEqual(kv.keys({ prefix: "a%" }), ["a%b", "a%bc"]);
    assert.deepEqual(kv.keys({ prefix: "a_" }), ["a_1"]);
    assert.deepEqual(kv.keys({ prefix: "a\\" }), ["a\\x"]);
    assert.deepEqual(kv.keys({ prefix: "ay" }), [], "prefix is case-sensitive");
    assert.deepEqual(kv.keys({ prefix: "" }).length, 8);
    assert.equal(kv.count({ prefix: "a" }), 7);
  });

  test("prefix handles the largest code points", () => {
    using kv = t.openKv();
    fill(kv, ["x\u{10FFFF}", "x\u{10FFFF}a", "y", "x\uD7FFz", "x\uE000"]);
    assert.deepEqual(kv.keys({ prefix: "x\u{10FFFF}" }), ["x\u{10FFFF}", "x\u{10FFFF}a"]);
    assert.deepEqual(kv.keys({ prefix: "x\uD7FF" }), ["x\uD7FFz"]);
  });

  test("a prefix query is a range search on the primary key, never a full scan", () => {
    const path = tempFile();
    {
      using kv = t.openKv(path);
      for (let i = 0; i < 100; i++) kv.set(`k${i}`, i);
    }
    for (const q of [{ prefix: "user:" }, { start: "a", end: "b" }, { glob: "user:*:x" }]) {
      const cond = compileQuery(q, "test");
      const plan = rawAll(
        t.raw,
        path,
        `EXPLAIN QUERY PLAN SELECT k, v FROM "kv" WHERE ${cond.sql} AND (expire_time IS NULL OR expire_time > ?) ORDER BY k`,
        ...cond.params,
        0,
      ).map((r) => String(r[3])).join("\n");
      assert.match(plan, /SEARCH kv USING PRIMARY KEY \(k>\? AND k<\?\)/, JSON.stringify(q));
      assert.doesNotMatch(plan, /SCAN/, JSON.stringify(q));
      assert.doesNotMatch(plan, /TEMP B-TREE/, JSON.stringify(q));
    }
  });

  test("start is inclusive and end exclusive", () => {
    using kv = t.openKv();
    fill(kv, ["a", "b", "c", "d"]);
    assert.deepEqual(kv.keys({ start: "b", end: "d" }), ["b", "c"]);
    assert.deepEqual(kv.keys({ start: "b" }), ["b", "c", "d"]);
    assert.deepEqual(kv.keys({ end: "b" }), ["a"]);
    assert.deepEqual(kv.keys({}), ["a", "b", "c", "d"]);
  });

  test("like is ASCII case-insensitive and honours an escape character", () => {
    using kv = t.openKv();
    fill(kv, ["User:1", "user:2", "user_3", "userX3", "other"]);
    assert.deepEqual(kv.keys({ like: "user:%" }), ["User:1", "user:2"]);
    assert.deepEqual(kv.keys({ like: "user_3" }), ["userX3", "user_3"]);
    assert.deepEqual(kv.keys({ like: "user!_3", escape: "!" }), ["user_3"]);
    assert.equal(kv.count({ like: "%" }), 5);
    assert.throws(() => kv.keys({ like: "a", escape: "!!" }), RangeError);
  });

  test("glob is case-sensitive with *, ? and [...]", () => {
    using kv = t.openKv();
    fill(kv, ["user:1:a", "user:2:b", "User:3:a", "user:10:a"]);
    assert.deepEqual(kv.keys({ glob: "user:*:a" }), ["user:10:a", "user:1:a"]);
    assert.deepEqual(kv.keys({ glob: "user:?:*" }), ["user:1:a", "user:2:b"]);
    assert.deepEqual(kv.keys({ glob: "[Uu]ser:[23]:*" }), ["User:3:a", "user:2:b"]);
    assert.deepEqual(kv.keys({ glob: "*:a" }), ["User:3:a", "user:10:a", "user:1:a"]);
  });

  test("a malformed query is refused with TypeError or RangeError", () => {
    using kv = t.openKv();
    kv.set("a", 1);
    const bad: unknown[] = [
      { prefix: "a", glob: "b" },
      { like: "a", start: "b" },
      { prefix: 1 },
      { glob: null },
      { unknown: "x" },
      { escape: "!" },
      "prefix",
      null,
    ];
    for (const q of bad) {
      assert.throws(() => kv.keys(q as never), TypeError, JSON.stringify(q));
      assert.throws(() => kv.deleteMany(q as never), TypeError, JSON.stringify(q));
      assert.throws(() => kv.count(q as never), TypeError, JSON.stringify(q));
    }
    assert.equal(kv.count(), 1);
  });

  test("values and entries follow the same query and order", () => {
    using kv = t.openKv();
    fill(kv, ["b", "a", "c"]);
    assert.deepEqual(kv.values(), ["A", "B", "C"]);
    assert.deepEqual(kv.entries({ start: "b" }), [["b", "B"], ["c", "C"]]);
    assert.deepEqual(kv.values({ prefix: "a" }, { reverse: true }), ["A"]);
  });

  test("limit, reverse and after page through keys exactly once", () => {
    using kv = t.openKv();
    const all = Array.from({ length: 57 }, (_, i) => `k${String(i).padStart(3, "0")}`);
    fill(kv, all);
    for (const reverse of [false, true]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = kv.keys(
          { prefix: "k" },
          after === undefined ? { limit: 10, reverse } : { limit: 10, reverse, after },
        );
        seen.push(...page);
        if (page.length < 10) break;
        after = page[page.length - 1];
      }
      assert.deepEqual(seen, reverse ? [...all].reverse() : all);
    }
    assert.deepEqual(kv.keys(undefined, { limit: 0 }), []);
    assert.deepEqual(kv.keys(undefined, { limit: 2, reverse: true }), ["k056", "k055"]);
    assert.throws(() => kv.keys(undefined, { limit: -1 }), RangeError);
    assert.throws(() => kv.keys(undefined, { limit: 1.5 }), RangeError);
    assert.throws(() => kv.keys(undefined, { reverse: "yes" as unknown as boolean }), TypeError);
    assert.throws(() => kv.keys(undefined, { after: 3 as unknown as string }), TypeError);
  });

  test("list is lazy and batched: it sees writes made after it started, past its cursor", () => {
    using kv = t.openKv();
    const keys = Array.from({ length: 700 }, (_, i) => `k${String(i).padStart(4, "0")}`);
    kv.setMany(keys.map((k) => [k, k]));
    const it = kv.list<string>({ prefix: "k" });
    const first = it.next();
    assert.equal(first.value!.key, "k0000");
    kv.set("k9999", "late");
    kv.delete("k0699");
    const rest = [...it].map((e) => e.key);
    assert.equal(rest.length, 699);
    assert.equal(rest[rest.length - 1], "k9999");
    assert.ok(!rest.includes("k0699"));
    assert.deepEqual([...kv.list({ prefix: "k" }, { limit: 300, reverse: true })].map((e) => e.key).slice(0, 2), [
      "k9999",
      "k0698",
    ]);
    assert.equal([...kv.list(undefined, { limit: 300 })].length, 300);
    assert.equal([...kv.list(undefined, { after: "k0500" })].length, 199);
  });

  test("list entries carry expiry and version", () => {
    using kv = t.openKv(":memory:", { now: () => 1000 });
    kv.set("a", 1, { ttl: 50 });
    const [entry] = [...kv.list()];
    assert.equal(entry!.key, "a");
    assert.equal(entry!.value, 1);
    assert.equal(entry!.expiresAt, 1050);
    assert.equal(entry!.version, kv.getEntry("a")!.version);
  });

  test("list holds no read lock between batches", () => {
    const path = tempFile();
    using kv = t.openKv(path, { journalMode: "delete" });
    kv.setMany(Array.from({ length: 600 }, (_, i) => [`k${String(i).padStart(4, "0")}`, i]));
    const it = kv.list();
    it.next();
    using other = t.openKv(path, { journalMode: "delete", busyTimeout: 0 });
    assert.equal(other.set("w", 1), true, "a writer gets in while the iterator is paused");
    other.flush(); // committed, so that the iterator sees it (a no-op in the default mode)
    assert.equal([...it].length, 600);
  });

  test("iterating the store yields [key, value] pairs like a Map", () => {
    using kv = t.openKv();
    kv.setMany({ b: 2, a: 1 });
    assert.deepEqual([...kv], [["a", 1], ["b", 2]]);
    assert.deepEqual(new Map(kv), new Map([["a", 1], ["b", 2]]));
  });

  test("deleteMany deletes by key list or by query and counts live keys", () => {
    using kv = t.openKv();
    fill(kv, ["s:1", "s:2", "s:3", "t:1", "u_1", "uX1"]);
    assert.equal(kv.deleteMany(["s:1", "missing", "s:1"]), 1);
    assert.equal(kv.deleteMany({ prefix: "s:" }), 2);
    assert.equal(kv.deleteMany({ like: "u\\_%", escape: "\\" }), 1);
    assert.equal(kv.deleteMany({ glob: "t:*" }), 1);
    assert.deepEqual(kv.keys(), ["uX1"]);
    assert.throws(() => kv.deleteMany(["uX1", 3 as unknown as string]), TypeError);
    assert.deepEqual(kv.keys(), ["uX1"]);
  });

  test("getMany reads many keys, duplicates and misses included, past SQLite's parameter limit", () => {
    using kv = t.openKv();
    const keys = Array.from({ length: 40_000 }, (_, i) => `k${i}`);
    kv.setMany(keys.map((k, i) => [k, i]));
    const got = kv.getMany([...keys, "missing", "k5"]);
    assert.equal(got.length, 40_002);
    assert.equal(got[39_999], 39_999);
    assert.equal(got[40_000], undefined);
    assert.equal(got[40_001], 5);
    assert.deepEqual(kv.getMany([]), []);
    assert.throws(() => kv.getMany("k1" as unknown as string[]), TypeError);
  });
}

/** Limits written into statements (up to 256) and bound (above), and listings rewritten in place. */
export function limitTests(test: TestFn, t: Target): void {
  test("limits on both sides of the literal range give exact pages in every listing", () => {
    using kv = t.openKv();
    kv.setMany(Array.from({ length: 600 }, (_, i) => [`k${String(i).padStart(3, "0")}`, i] as [string, number]));
    for (const limit of [0, 1, 50, 255, 256, 257, 300, 599, 600, 601]) {
      const n = Math.min(limit, 600);
      assert.equal(kv.keys(undefined, { limit }).length, n, `keys ${limit}`);
      assert.equal(kv.values(undefined, { limit, reverse: true })[0], limit === 0 ? undefined : 599, `values ${limit}`);
      assert.equal(
        kv.entries({ prefix: "k" }, { limit, after: "k000" }).length,
        Math.min(limit, 599),
        `entries ${limit}`,
      );
      assert.equal([...kv.list(undefined, { limit })].length, n, `list ${limit}`);
    }
    assert.deepEqual(kv.entries({ prefix: "k00" }, { limit: 2 }), [["k000", 0], ["k001", 1]]);
    assert.deepEqual(kv.values({ start: "k598" }), [598, 599]);
  });
}
